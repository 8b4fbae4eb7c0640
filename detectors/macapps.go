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
	register(Spec{Name: "macos-apps", OS: []string{"darwin"}, Detector: DetectorFunc(detectMacApps)})
}

// detectMacApps reports the application bundles in Applications and in
// each user's Applications, and one folder level below them (vendors
// group apps in folders such as "Applications/Kaspersky Lab").
// System/Applications holds only Apple's own and is skipped.
func detectMacApps(ctx context.Context, env *Env) ([]Item, error) {
	bundles, errs := findAppBundles(env.Root)
	var items []Item
	for _, b := range bundles {
		if err := ctx.Err(); err != nil {
			return items, errors.Join(append(errs, err)...)
		}
		it, err := appItem(env.Root, b)
		items = append(items, it)
		errs = append(errs, err)
	}
	return items, errors.Join(errs...)
}

// findAppBundles lists the .app folders, at most maxPlistFiles of them.
func findAppBundles(root fs.FS) ([]string, []error) {
	var bundles []string
	var errs []error
	for _, dir := range append([]string{"Applications"}, userDirs(root, "Applications")...) {
		entries, err := fs.ReadDir(root, dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range entries {
			full := path.Join(dir, e.Name())
			switch {
			case strings.HasSuffix(e.Name(), ".app"):
				bundles = append(bundles, full)
			case e.IsDir() || e.Type()&fs.ModeSymlink != 0:
				sub, err := namesWithExt(root, full, ".app")
				if err != nil && e.IsDir() {
					errs = append(errs, err) // a link to a file is no folder: not an error
				}
				bundles = append(bundles, sub...)
			}
		}
	}
	if len(bundles) > maxPlistFiles {
		errs = append(errs, fmt.Errorf("%d application bundles, read the first %d", len(bundles), maxPlistFiles))
		bundles = bundles[:maxPlistFiles]
	}
	return bundles, errs
}

// bundleInfo is what an Info.plist says about a bundle.
type bundleInfo struct {
	ID, Name, Version, Executable string
}

// decodeInfoPlist reads the keys of an app's or a kext's Info.plist.
func decodeInfoPlist(b []byte) (bundleInfo, error) {
	m, err := plistDict(b)
	if err != nil {
		return bundleInfo{}, err
	}
	bi := bundleInfo{
		ID:         plistString(m, "CFBundleIdentifier"),
		Name:       plistString(m, "CFBundleDisplayName"),
		Version:    plistString(m, "CFBundleShortVersionString"),
		Executable: plistString(m, "CFBundleExecutable"),
	}
	if bi.Name == "" {
		bi.Name = plistString(m, "CFBundleName")
	}
	if bi.Version == "" {
		bi.Version = plistString(m, "CFBundleVersion")
	}
	return bi, nil
}

// readInfoPlist reads bundle/Contents/Info.plist.
func readInfoPlist(root fs.FS, bundle string) (string, bundleInfo, error) {
	name := path.Join(bundle, "Contents/Info.plist")
	b, err := readPlistBytes(root, name)
	if err != nil {
		return name, bundleInfo{}, err
	}
	bi, err := decodeInfoPlist(b)
	if err != nil {
		return name, bi, fmt.Errorf("%s: %w", name, err)
	}
	return name, bi, nil
}

func appItem(root fs.FS, bundle string) (Item, error) {
	info, bi, err := readInfoPlist(root, bundle)
	it := Item{
		Kind:  KindApplication,
		Name:  strings.TrimSuffix(path.Base(bundle), ".app"),
		Path:  info,
		State: StateInstalled,
	}
	if err != nil {
		it.Detail = "application bundle, Info.plist unreadable"
		return it, err
	}
	if bi.Name != "" {
		it.Name = bi.Name
	}
	it.Version, it.BundleID = bi.Version, bi.ID
	it.Detail = strings.Join(nonEmpty("bundle", bi.ID, bi.Version), " ")
	if bi.Executable != "" {
		// Clean keeps an Executable with ".." inside the root.
		it.Exec = path.Join("/", bundle, "Contents/MacOS", bi.Executable)
		it.ExecMissing = !execUnder(root, it.Exec)
	}
	return it, nil
}

// nonEmpty returns the non-empty strings of s.
func nonEmpty(s ...string) []string {
	out := s[:0]
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
