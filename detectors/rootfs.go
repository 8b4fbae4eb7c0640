package detectors

import (
	"errors"
	"fmt"
	"io"
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

// hostOp resolves name (following a final link or not) and runs fn on
// the host path; errors name the root-relative path, never the host's.
func hostOp[T any](r *RootFS, op, name string, followLast bool, fn func(string) (T, error)) (T, error) {
	resolve := r.resolve
	if !followLast {
		resolve = r.resolveParent
	}
	var zero T
	p, err := resolve(op, name)
	if err != nil {
		return zero, err
	}
	v, err := fn(p)
	if err != nil {
		return zero, &fs.PathError{Op: op, Path: name, Err: unwrapPath(err)}
	}
	return v, nil
}

// Open implements fs.FS.
func (r *RootFS) Open(name string) (fs.File, error) {
	return hostOp(r, "open", name, true, func(p string) (fs.File, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		return &rootFile{File: f, name: name}, nil
	})
}

// rootFile is an open file whose errors name it as the root sees it.
type rootFile struct {
	*os.File
	name string
}

func (f *rootFile) wrap(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &fs.PathError{Op: op, Path: f.name, Err: unwrapPath(err)}
}

func (f *rootFile) Read(b []byte) (int, error) {
	n, err := f.File.Read(b)
	return n, f.wrap("read", err)
}

func (f *rootFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	return fi, f.wrap("stat", err)
}

func (f *rootFile) ReadDir(n int) ([]fs.DirEntry, error) {
	entries, err := f.File.ReadDir(n)
	return entries, f.wrap("readdir", err)
}

// ReadFile implements fs.ReadFileFS.
func (r *RootFS) ReadFile(name string) ([]byte, error) {
	return hostOp(r, "read", name, true, os.ReadFile)
}

// ReadDir implements fs.ReadDirFS.
func (r *RootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return hostOp(r, "readdir", name, true, os.ReadDir)
}

// Stat implements fs.StatFS.
func (r *RootFS) Stat(name string) (fs.FileInfo, error) {
	return hostOp(r, "stat", name, true, os.Stat)
}

// Lstat implements fs.ReadLinkFS.
func (r *RootFS) Lstat(name string) (fs.FileInfo, error) {
	return hostOp(r, "lstat", name, false, os.Lstat)
}

// ReadLink implements fs.ReadLinkFS. The target is returned as written in
// the image; callers resolve it against the root, not the host.
func (r *RootFS) ReadLink(name string) (string, error) {
	return hostOp(r, "readlink", name, false, os.Readlink)
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
