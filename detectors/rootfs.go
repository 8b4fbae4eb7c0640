package detectors

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// RootFS is a read-only fs.FS over a directory that resolves symbolic links
// as if the directory were "/". An offline image is full of absolute links
// (/etc/systemd/system/*.wants/*, /usr/bin/kesl-control, /var/lib/rpm on
// some distributions): os.DirFS would follow them into the scanning
// machine and report its files as the image's. RootFS keeps every look-up
// inside the image; github.com/cyphar/filepath-securejoin, which runc and
// containerd use for the same job, does the resolution.
type RootFS struct {
	dir string
}

// OpenRoot opens dir as a scan root. It fails if dir is not a directory.
func OpenRoot(dir string) (*RootFS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, unwrapPath(err))
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, unwrapPath(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("root %s: not a directory", dir)
	}
	return &RootFS{dir: real}, nil
}

// Dir returns the host directory the root was opened on.
func (r *RootFS) Dir() string { return r.dir }

// resolve turns a root-relative name into a host path, following links
// inside the root.
func (r *RootFS) resolve(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	p, err := securejoin.SecureJoin(r.dir, filepath.FromSlash(name))
	if err != nil {
		return "", &fs.PathError{Op: op, Path: name, Err: unwrapPath(err)}
	}
	return p, nil
}

// resolveParent resolves all but the last element, for operations that
// must not follow a final link (Lstat, ReadLink).
func (r *RootFS) resolveParent(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return r.dir, nil // the root itself; OpenRoot resolved it, so it is no link
	}
	dir, err := r.resolve(op, path.Dir(name))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, path.Base(name)), nil
}

// Open implements fs.FS.
func (r *RootFS) Open(name string) (fs.File, error) {
	p, err := r.resolve("open", name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPath(err)}
	}
	return f, nil
}

// ReadFile implements fs.ReadFileFS.
func (r *RootFS) ReadFile(name string) ([]byte, error) {
	p, err := r.resolve("read", name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: unwrapPath(err)}
	}
	return b, nil
}

// ReadDir implements fs.ReadDirFS.
func (r *RootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := r.resolve("readdir", name)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: unwrapPath(err)}
	}
	return entries, nil
}

// Stat implements fs.StatFS.
func (r *RootFS) Stat(name string) (fs.FileInfo, error) {
	p, err := r.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: unwrapPath(err)}
	}
	return fi, nil
}

// Lstat implements fs.ReadLinkFS.
func (r *RootFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := r.resolveParent("lstat", name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: unwrapPath(err)}
	}
	return fi, nil
}

// ReadLink implements fs.ReadLinkFS. The target is returned as written in
// the image; callers resolve it against the root, not the host.
func (r *RootFS) ReadLink(name string) (string, error) {
	p, err := r.resolveParent("readlink", name)
	if err != nil {
		return "", err
	}
	t, err := os.Readlink(p)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: unwrapPath(err)}
	}
	return t, nil
}

// unwrapPath drops the host path from an os error, so messages name the
// file inside the root instead.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
