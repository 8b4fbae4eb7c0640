package detectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	// The SQLite driver go-rpmdb's sqlite backend opens by name; it is
	// pure Go, so the detector also works in cross-built binaries.
	_ "github.com/glebarez/go-sqlite"
	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
)

func init() {
	register(Spec{Name: "rpm", OS: []string{"linux"}, Detector: DetectorFunc(detectRPM)})
}

// rpmDirs are where distributions keep the rpm database: RHEL 7-9 and
// Amazon Linux in var/lib/rpm; Fedora 36+, openSUSE and SLES in
// usr/lib/sysimage/rpm, usually with var/lib/rpm a link to it.
var rpmDirs = []string{"usr/lib/sysimage/rpm", "var/lib/rpm"}

// rpmBackends are the database files, newest backend first: when a
// conversion left an old file behind, the newer one is the live one.
var rpmBackends = []string{"rpmdb.sqlite", "Packages.db", "Packages"}

// maxRPMDB bounds the copy of a database; real ones are tens of MB.
const maxRPMDB = 1 << 30

func detectRPM(ctx context.Context, env *Env) ([]Item, error) {
	var items []Item
	var errs []error
	seen := map[string]bool{}
	for _, dir := range rpmDirs {
		if fi, err := fs.Lstat(env.Root, dir); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			continue // absent, or a link to the other directory
		}
		db := findRPMDB(env.Root, dir)
		if db == "" {
			continue
		}
		pkgs, err := readRPMDB(ctx, env, db)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", db, err))
		}
		for _, p := range pkgs {
			it := rpmItem(p, db)
			key := it.Name + " " + it.Version + " " + p.Arch
			if !seen[key] {
				seen[key] = true
				items = append(items, it)
			}
		}
	}
	return items, errors.Join(errs...)
}

func findRPMDB(root fs.FS, dir string) string {
	for _, b := range rpmBackends {
		p := path.Join(dir, b)
		if fi, err := fs.Stat(root, p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return p
		}
	}
	return ""
}

// readRPMDB copies the database out of the root and reads the copy.
// go-rpmdb opens files by host path, and its SQLite backend opens
// read-write; a copy never touches the scanned system's database, works
// on read-only images and on any fs.FS.
func readRPMDB(ctx context.Context, env *Env, db string) ([]*rpmdb.PackageInfo, error) {
	tmp, err := os.MkdirTemp(env.TempDir, "banwatch-rpm-")
	if err != nil {
		return nil, fmt.Errorf("temporary copy: %w", err)
	}
	defer os.RemoveAll(tmp)
	local := filepath.Join(tmp, path.Base(db))
	if err := copyOut(env.Root, db, local); err != nil {
		return nil, err
	}
	// A SQLite database in WAL mode keeps recent transactions in -wal.
	if err := copyOut(env.Root, db+"-wal", local+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// go-rpmdb trusts what it reads (see rpm_check.go): it gets only
	// files that passed our own check.
	if err := checkRPMDB(ctx, local); err != nil {
		return nil, fmt.Errorf("%w: %w", errRPMUnsafe, err)
	}
	h, err := rpmdb.Open(local)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer h.Close()
	pkgs, err := h.ListPackages()
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return pkgs, nil
}

func copyOut(root fs.FS, name, dst string) error {
	src, err := root.Open(name)
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("temporary copy: %w", err)
	}
	n, err := io.Copy(out, io.LimitReader(src, maxRPMDB+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", name, err)
	}
	if n > maxRPMDB {
		return fmt.Errorf("%s: larger than %d bytes", name, maxRPMDB)
	}
	return nil
}

func rpmItem(p *rpmdb.PackageInfo, db string) Item {
	version := p.Version + "-" + p.Release
	if p.Epoch != nil && *p.Epoch != 0 {
		version = strconv.Itoa(*p.Epoch) + ":" + version
	}
	detail := fmt.Sprintf("rpm %s-%s-%s.%s", p.Name, p.Version, p.Release, p.Arch)
	if p.InstallTime > 0 {
		detail += ", installed " + time.Unix(int64(p.InstallTime), 0).UTC().Format(time.DateOnly)
	}
	return Item{
		Kind:      KindPackage,
		Name:      p.Name,
		Version:   version,
		Publisher: p.Vendor,
		Path:      db,
		State:     StateInstalled,
		Detail:    detail,
	}
}
