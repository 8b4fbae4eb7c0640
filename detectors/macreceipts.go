package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

func init() {
	register(Spec{Name: "macos-receipts", OS: []string{"darwin"}, Detector: DetectorFunc(detectMacReceipts)})
}

// receiptsDir is where the macOS installer records each package it
// installed (what "pkgutil --pkgs" lists): <id>.plist, and <id>.bom with
// the file list, which is not read.
const receiptsDir = "var/db/receipts"

func detectMacReceipts(ctx context.Context, env *Env) ([]Item, error) {
	files, err := namesWithExt(env.Root, macVarPath(env.Root, receiptsDir), ".plist")
	errs := []error{err}
	if len(files) > maxPlistFiles {
		errs = append(errs, fmt.Errorf("%s: %d receipts, read the first %d", receiptsDir, len(files), maxPlistFiles))
		files = files[:maxPlistFiles]
	}
	var items []Item
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return items, errors.Join(append(errs, err)...)
		}
		it, err := receiptItem(env.Root, f)
		items = append(items, it)
		errs = append(errs, err)
	}
	return items, errors.Join(errs...)
}

// receipt is what a receipt plist records.
type receipt struct {
	ID, Version, Installed, Prefix string
}

func decodeReceipt(b []byte) (receipt, error) {
	m, err := plistDict(b)
	if err != nil {
		return receipt{}, err
	}
	return receipt{
		ID:        plistString(m, "PackageIdentifier"),
		Version:   plistString(m, "PackageVersion"),
		Installed: plistDate(m, "InstallDate"),
		Prefix:    plistString(m, "InstallPrefixPath"),
	}, nil
}

func receiptItem(root fs.FS, file string) (Item, error) {
	id := strings.TrimSuffix(path.Base(file), ".plist") // the installer names it so
	it := Item{Kind: KindPackage, Name: id, BundleID: id, Path: file, State: StateInstalled}
	b, err := readPlistBytes(root, file)
	var r receipt
	if err == nil {
		if r, err = decodeReceipt(b); err != nil {
			err = fmt.Errorf("%s: %w", file, err)
		}
	}
	if err != nil {
		it.Detail = "receipt, unreadable"
		return it, err
	}
	if r.ID != "" {
		it.Name, it.BundleID = r.ID, r.ID
	}
	it.Version = r.Version
	it.Detail = "receipt"
	if r.Installed != "" {
		it.Detail += ", installed " + r.Installed
	}
	if r.Prefix != "" {
		it.Attrs = map[string]string{"InstallPrefixPath": r.Prefix}
	}
	return it, nil
}
