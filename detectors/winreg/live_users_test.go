package winreg

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestIsUserSID(t *testing.T) {
	for name, want := range map[string]bool{
		"S-1-5-21-3623811015-3361044348-30300820-1013":         true,
		"s-1-5-21-3623811015-3361044348-30300820-1013":         true,
		"S-1-12-1-1234567890-123456789-1234567890-123":         true, // Entra ID user
		"S-1-5-21-3623811015-3361044348-30300820-1013_Classes": false,
		"S-1-5-21-3623811015-3361044348-30300820-1013.bak":     false,
		".DEFAULT": false,
		"S-1-5-18": false,
		"S-1-5-19": false,
		"S-1-5-20": false,
		"S-1-":     false,
		"S-1-5-":   false,
		"S-1-5--1": false,
		"S-1-5-x":  false,
		"":         false,
	} {
		if got := isUserSID(name); got != want {
			t.Errorf("isUserSID(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestProfileRelPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{in: `C:\Users\bob`, want: "Users/bob"},
		{in: `c:\Users\bob\`, want: "Users/bob"},
		{in: `%SystemDrive%\Users\alice`, want: "Users/alice"},
		{in: `%systemdrive%\Users\alice`, want: "Users/alice"},
		{in: `C:\Users\\bob`, want: "Users/bob"},
		{in: `\Users\bob`, want: "Users/bob"},
		{in: `C:\Users\..\..\bob`, want: "bob"}, // Clean keeps it inside the root
		{in: `D:\Users\bob`, err: true},
		{in: `\\server\profiles\bob`, err: true},
		{in: `%SystemRoot%\system32\config\systemprofile`, err: true},
		{in: `C:\`, err: true},
		{in: ``, err: true},
	} {
		got, err := profileRelPath(tc.in, "C:")
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("profileRelPath(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// hideReaderAt hides an fs.File's ReadAt, as a wrapping fs.FS might.
type hideReaderAt struct{ fs.File }

type noReaderAtFS struct{ fs.FS }

func (f noReaderAtFS) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return hideReaderAt{file}, nil
}

func TestReaderAt(t *testing.T) {
	dir := t.TempDir()
	want := []byte("regf and then some hive data")
	if err := os.WriteFile(filepath.Join(dir, "NTUSER.DAT"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, root := range map[string]fs.FS{
		"os.DirFS":     os.DirFS(dir),
		"no ReadAt":    noReaderAtFS{os.DirFS(dir)},
		"fstest.MapFS": fstest.MapFS{"NTUSER.DAT": {Data: want}},
	} {
		f, err := root.Open("NTUSER.DAT")
		if err != nil {
			t.Fatal(err)
		}
		r, size, err := readerAt(f)
		if err != nil {
			t.Fatalf("%s: readerAt: %v", name, err)
		}
		got := make([]byte, size)
		if _, err := r.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: ReadAt = %q, %v; want %q", name, got, err, want)
		}
		f.Close()
	}
}

// closeCounter counts how often its file is closed.
type closeCounter struct {
	fs.FS
	closed *int
}

type countedFile struct {
	fs.File
	closed *int
}

func (c closeCounter) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return countedFile{f, c.closed}, nil
}

func (f countedFile) Close() error { *f.closed++; return f.File.Close() }

// A file that is no hive is reported by name and closed; this holds for
// hive.go's stub and its parser alike.
func TestOpenHiveFileNotAHive(t *testing.T) {
	closed := 0
	root := closeCounter{fstest.MapFS{"Users/bob/NTUSER.DAT": {Data: []byte("not a hive")}}, &closed}
	k, err := openHiveFile(root, "Users/bob/NTUSER.DAT", `HKU\S-1-5-21-1-2-3-1001`)
	if err == nil || k != nil {
		t.Fatalf("openHiveFile = %v, %v; want an error", k, err)
	}
	if !strings.Contains(err.Error(), "Users/bob/NTUSER.DAT") {
		t.Errorf("error %q does not name the file", err)
	}
	if closed != 1 {
		t.Errorf("file closed %d times, want 1", closed)
	}
	_, err = openHiveFile(root, "Users/alice/NTUSER.DAT", `HKU\S-1-5-21-1-2-3-1002`)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing hive: error %v does not wrap fs.ErrNotExist", err)
	}
}

// fakeKey records Close.
type fakeKey struct {
	Key
	closed *int
}

func (k fakeKey) Close() error { *k.closed++; return nil }

func TestFileKeyClosesBoth(t *testing.T) {
	closed := 0
	root := closeCounter{fstest.MapFS{"h": {Data: []byte("x")}}, &closed}
	f, err := root.Open("h")
	if err != nil {
		t.Fatal(err)
	}
	keyClosed := 0
	k := &fileKey{Key: fakeKey{closed: &keyClosed}, file: f}
	if err := k.Close(); err != nil || closed != 1 || keyClosed != 1 {
		t.Errorf("Close = %v; file closed %d, key closed %d; want 1, 1", err, closed, keyClosed)
	}
}
