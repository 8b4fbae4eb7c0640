package detectors

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"

	"howett.net/plist"
)

// The macOS fixture roots, built by testdata/macos/make-fixtures.py.
const macFixtures = "testdata/macos"

var macRoots = []string{"root-kav", "root-clean", "root-leftovers"}

func macFixture(t *testing.T, name string) *RootFS {
	t.Helper()
	root, err := OpenRoot(filepath.Join(macFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func macDetect(t *testing.T, detect DetectorFunc, root fs.FS) ([]Item, error) {
	t.Helper()
	return detect(context.Background(), &Env{Root: root})
}

// macPlist encodes v as a MapFS file in the given plist format.
func macPlist(t *testing.T, v any, format int) *fstest.MapFile {
	t.Helper()
	b, err := plist.Marshal(v, format)
	if err != nil {
		t.Fatal(err)
	}
	return &fstest.MapFile{Data: b}
}

func macCheckItems(t *testing.T, got, want []Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d items, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing %+v", want[i])
		case i >= len(want):
			t.Errorf("extra %+v", got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("item %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestMacFixturesReproducible re-runs the fixture script and checks that
// it makes the checked-in trees byte for byte.
func TestMacFixturesReproducible(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: cannot re-run testdata/macos/make-fixtures.py")
	}
	out := t.TempDir()
	cmd := exec.Command(python, filepath.Join(macFixtures, "make-fixtures.py"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-fixtures.py: %v\n%s", err, b)
	}
	for _, r := range macRoots {
		want := macTreeContents(t, filepath.Join(macFixtures, r))
		got := macTreeContents(t, filepath.Join(out, r))
		for name, w := range want {
			if g, ok := got[name]; !ok {
				t.Errorf("%s/%s: not made by the script", r, name)
			} else if !bytes.Equal(g, w) {
				t.Errorf("%s/%s: differs from what the script makes", r, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s/%s: made by the script, not checked in", r, name)
			}
		}
	}
}

// macTreeContents maps each file of a tree to its bytes and each link to
// "-> target". Folders are left out: git keeps no empty ones.
func macTreeContents(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[filepath.ToSlash(rel)] = []byte("-> " + target)
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
