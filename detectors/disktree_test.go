package detectors

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
)

// diskTree is a scan root to build on disk with real files, directories and
// symbolic links, for the file-based detectors' tests (rpm, systemd,
// sysvinit). Paths are slash-separated and relative to the root.
type diskTree struct {
	// files maps a path to its content.
	files map[string]string
	// copies maps a path to a host file whose bytes it gets.
	copies map[string]string
	// dirs are directories to create, empty or not.
	dirs []string
	// links maps a path to its target, written as is: "/dev/null",
	// "../init.d/kesl-supervisor", "usr/lib".
	links map[string]string
}

// build makes the tree in a new temporary directory and opens it as a
// root. It skips the test where symbolic links cannot be made (Windows
// without Developer Mode).
func (tr diskTree) build(t *testing.T) (dir string, root *RootFS) {
	t.Helper()
	dir = t.TempDir()
	mkParent := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Links first, in path order, so that "lib" -> "usr/lib" exists before
	// anything is written below "usr/lib"; nothing is written through a link.
	linkNames := make([]string, 0, len(tr.links))
	for name := range tr.links {
		linkNames = append(linkNames, name)
	}
	sort.Strings(linkNames)
	for _, name := range linkNames {
		if err := os.Symlink(tr.links[name], mkParent(name)); err != nil {
			if runtime.GOOS == "windows" {
				t.Skipf("cannot create symbolic links here (Windows needs Developer Mode or admin): %v", err)
			}
			t.Fatal(err)
		}
	}
	for _, d := range tr.dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range tr.files {
		if err := os.WriteFile(mkParent(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range tr.copies {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mkParent(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, root
}

// hostFileSHA256 returns the hex SHA-256 of a host file.
func hostFileSHA256(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hostDirNames lists the names in a host directory, sorted.
func hostDirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
