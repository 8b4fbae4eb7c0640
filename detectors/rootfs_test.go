package detectors

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// rootfsTree writes files and symbolic links (targets as written) under a
// new temporary directory and opens it with OpenRoot.
func rootfsTree(t *testing.T, files, links map[string]string) (string, *RootFS) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatalf("OpenRoot(%s): %v", dir, err)
	}
	return dir, root
}

const (
	rootfsRocky    = "NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.4\"\n"
	rootfsHostname = "image-host\n"
	rootfsRPMDB    = "image rpmdb, not the host's"
)

// rootfsImage is an offline image with the absolute and relative links
// real distributions ship, and links that try to leave it. hostDir is a
// directory outside the image holding a decoy file the links point at.
func rootfsImage(t *testing.T) (dir, hostDir string, root *RootFS) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the image uses POSIX absolute link targets")
	}
	hostDir = t.TempDir()
	for _, n := range []string{"secret", "shadowed"} {
		if err := os.WriteFile(filepath.Join(hostDir, n), []byte("HOST FILE"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostRel := strings.TrimPrefix(filepath.ToSlash(hostDir), "/")
	dir, root = rootfsTree(t,
		map[string]string{
			"etc/hostname":                        rootfsHostname,
			"usr/lib/os-release":                  rootfsRocky,
			"usr/lib/sysimage/rpm/rpmdb.sqlite":   rootfsRPMDB,
			"opt/kaspersky/kesl/bin/kesl-control": "#!/bin/sh\n",
			hostRel + "/shadowed":                 "IMAGE FILE",
			"usr/lib/systemd/system/kesl.service": "[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl\n",
		},
		map[string]string{
			"etc/os-release":                "/usr/lib/os-release",                  // absolute, as on Fedora/RHEL
			"var/lib/rpm":                   "/usr/lib/sysimage/rpm",                // absolute directory link (openSUSE, Fedora 36+)
			"usr/lib/sysimage/rpm/Packages": "rpmdb.sqlite",                         // relative, reached through var/lib/rpm
			"etc/hostname.abs":              "/etc/hostname",                        // same path exists on the host
			"etc/escape":                    "../../../../../../../../etc/hostname", // climbs above the root
			"etc/chain":                     "/etc/os-release",                      // a link to a link
			"lib":                           "usr/lib",                              // usrmerge
			"usr/bin/kesl-control":          "/opt/kaspersky/kesl/bin/kesl-control",
			"etc/systemd/system/multi-user.target.wants/kesl.service": "/usr/lib/systemd/system/kesl.service",
			"etc/host-only": hostDir + "/secret",   // exists on the host only
			"etc/shadowed":  hostDir + "/shadowed", // exists on both: the image's must win
			"etc/dangling":  "/nonexistent/file",
			"etc/loop1":     "loop2",
			"etc/loop2":     "loop1",
		})
	return dir, hostDir, root
}

func TestRootFSLinksStayInside(t *testing.T) {
	dir, _, root := rootfsImage(t)
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{"etc/os-release", rootfsRocky, nil},
		{"etc/chain", rootfsRocky, nil},
		{"lib/os-release", rootfsRocky, nil},
		{"etc/hostname.abs", rootfsHostname, nil},
		{"etc/escape", rootfsHostname, nil},
		{"var/lib/rpm/rpmdb.sqlite", rootfsRPMDB, nil},
		{"var/lib/rpm/Packages", rootfsRPMDB, nil},
		{"usr/bin/kesl-control", "#!/bin/sh\n", nil},
		{"etc/systemd/system/multi-user.target.wants/kesl.service", "[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl\n", nil},
		{"etc/shadowed", "IMAGE FILE", nil},
		{"etc/host-only", "", fs.ErrNotExist},
		{"etc/dangling", "", fs.ErrNotExist},
		{"etc/missing", "", fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := root.ReadFile(tc.name)
			f, oerr := root.Open(tc.name)
			if oerr == nil {
				defer f.Close()
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(oerr, tc.wantErr) {
					t.Fatalf("ReadFile: %v, Open: %v; want %v (content %q)", err, oerr, tc.wantErr, b)
				}
				for _, e := range []error{err, oerr} {
					if strings.Contains(e.Error(), dir) {
						t.Errorf("error %q names the host path", e)
					}
					if !strings.Contains(e.Error(), " "+tc.name+":") {
						t.Errorf("error %q does not name %s", e, tc.name)
					}
				}
				return
			}
			if err != nil || oerr != nil {
				t.Fatalf("ReadFile: %v, Open: %v", err, oerr)
			}
			if string(b) != tc.want {
				t.Errorf("ReadFile = %q, want %q", b, tc.want)
			}
			ob, err := io.ReadAll(f)
			if err != nil || string(ob) != tc.want {
				t.Errorf("Open+Read = %q, %v; want %q", ob, err, tc.want)
			}
			if fb, err := fs.ReadFile(root, tc.name); err != nil || string(fb) != tc.want {
				t.Errorf("fs.ReadFile = %q, %v", fb, err)
			}
		})
	}

	// The same absolute links, followed by the host, give other files:
	// that is what RootFS is for.
	if host, err := os.ReadFile("/etc/hostname"); err == nil && string(host) == rootfsHostname {
		t.Fatalf("host /etc/hostname equals the image's; the test proves nothing")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "etc", "shadowed")); err != nil || string(b) != "HOST FILE" {
		t.Fatalf("os.ReadFile through the host follows the link to %q, %v: fixture broken", b, err)
	}
}

func TestRootFSLoop(t *testing.T) {
	dir, _, root := rootfsImage(t)
	ops := map[string]func(string) error{
		"open": func(n string) error { _, err := root.Open(n); return err },
		"read": func(n string) error { _, err := root.ReadFile(n); return err },
		"stat": func(n string) error { _, err := root.Stat(n); return err },
	}
	for op, fn := range ops {
		err := fn("etc/loop1")
		if err == nil {
			t.Fatalf("%s etc/loop1: no error", op)
		}
		if !strings.HasPrefix(err.Error(), op+" etc/loop1: ") || strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %q, want it to start %q and not name %s", op, err, op+" etc/loop1: ", dir)
		}
	}
	// A loop is still a link that Lstat and ReadLink can see.
	if l, err := root.ReadLink("etc/loop1"); err != nil || l != "loop2" {
		t.Errorf("ReadLink(etc/loop1) = %q, %v", l, err)
	}
}

func TestRootFSReadDirStatLstat(t *testing.T) {
	_, _, root := rootfsImage(t)

	entries, err := root.ReadDir("var/lib/rpm")
	if err != nil {
		t.Fatalf("ReadDir(var/lib/rpm): %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"Packages", "rpmdb.sqlite"}) {
		t.Errorf("ReadDir(var/lib/rpm) = %v", names)
	}
	if des, err := fs.ReadDir(root, "lib"); err != nil || len(des) == 0 {
		t.Errorf("fs.ReadDir(lib) = %v, %v", des, err)
	}

	tests := []struct {
		name      string
		statMode  fs.FileMode // type bits Stat must report
		lstatMode fs.FileMode // type bits Lstat must report
		size      int64       // Stat size for regular files, -1 to skip
	}{
		{"etc/os-release", 0, fs.ModeSymlink, int64(len(rootfsRocky))},
		{"var/lib/rpm", fs.ModeDir, fs.ModeSymlink, -1},
		{"var/lib/rpm/Packages", 0, fs.ModeSymlink, int64(len(rootfsRPMDB))},
		{"lib", fs.ModeDir, fs.ModeSymlink, -1},
		{"etc/hostname", 0, 0, int64(len(rootfsHostname))},
		{"etc", fs.ModeDir, fs.ModeDir, -1},
		{"usr/lib/sysimage/rpm", fs.ModeDir, fs.ModeDir, -1},
		{".", fs.ModeDir, fs.ModeDir, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := root.Stat(tc.name)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			if fi.Mode().Type() != tc.statMode {
				t.Errorf("Stat mode %v, want type %v", fi.Mode(), tc.statMode)
			}
			if tc.size >= 0 && fi.Size() != tc.size {
				t.Errorf("Stat size %d, want %d", fi.Size(), tc.size)
			}
			li, err := root.Lstat(tc.name)
			if err != nil {
				t.Fatalf("Lstat: %v", err)
			}
			if li.Mode().Type() != tc.lstatMode {
				t.Errorf("Lstat mode %v, want type %v", li.Mode(), tc.lstatMode)
			}
			if li2, err := fs.Lstat(root, tc.name); err != nil || li2.Mode() != li.Mode() {
				t.Errorf("fs.Lstat = %v, %v", li2, err)
			}
		})
	}
}

func TestRootFSReadLink(t *testing.T) {
	dir, hostDir, root := rootfsImage(t)
	tests := []struct {
		name, want string
	}{
		{"etc/os-release", "/usr/lib/os-release"},
		{"var/lib/rpm", "/usr/lib/sysimage/rpm"},
		{"var/lib/rpm/Packages", "rpmdb.sqlite"}, // parent is an absolute link
		{"etc/escape", "../../../../../../../../etc/hostname"},
		{"etc/hostname.abs", "/etc/hostname"},
		{"lib", "usr/lib"},
		{"etc/dangling", "/nonexistent/file"},
		{"etc/host-only", hostDir + "/secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := root.ReadLink(tc.name)
			if err != nil || got != tc.want {
				t.Errorf("ReadLink = %q, %v; want %q", got, err, tc.want)
			}
			if got2, err := fs.ReadLink(root, tc.name); err != nil || got2 != tc.want {
				t.Errorf("fs.ReadLink = %q, %v", got2, err)
			}
		})
	}
	for _, name := range []string{"etc/hostname", "etc", "lib/os-release", "etc/missing", "."} {
		_, err := root.ReadLink(name)
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Op != "readlink" || pe.Path != name {
			t.Errorf("ReadLink(%q) error = %#v, want a PathError on %q", name, err, name)
			continue
		}
		if strings.Contains(err.Error(), dir) {
			t.Errorf("ReadLink(%q) error %q names the host path", name, err)
		}
	}
}

func TestRootFSInvalidNames(t *testing.T) {
	_, root := rootfsTree(t, map[string]string{"etc/hostname": "h\n"}, nil)
	ops := []struct {
		op string
		fn func(string) error
	}{
		{"open", func(n string) error { _, err := root.Open(n); return err }},
		{"read", func(n string) error { _, err := root.ReadFile(n); return err }},
		{"readdir", func(n string) error { _, err := root.ReadDir(n); return err }},
		{"stat", func(n string) error { _, err := root.Stat(n); return err }},
		{"lstat", func(n string) error { _, err := root.Lstat(n); return err }},
		{"readlink", func(n string) error { _, err := root.ReadLink(n); return err }},
	}
	names := []string{
		"/etc/hostname", "../etc/hostname", "etc/../etc/hostname", "etc/",
		"./etc/hostname", "", "etc//hostname", "..", "/",
	}
	for _, o := range ops {
		for _, name := range names {
			err := o.fn(name)
			var pe *fs.PathError
			if !errors.As(err, &pe) || !errors.Is(err, fs.ErrInvalid) || pe.Op != o.op || pe.Path != name {
				t.Errorf("%s(%q) = %v, want a PathError %s %q: invalid argument", o.op, name, err, o.op, name)
			}
		}
	}
}

func TestRootFSErrorsNameRootPath(t *testing.T) {
	dir, root := rootfsTree(t, map[string]string{"etc/hostname": "h\n"}, nil)
	tests := []struct {
		op, name string
		fn       func(string) error
	}{
		{"open", "etc/missing", func(n string) error { _, err := root.Open(n); return err }},
		{"read", "etc/missing", func(n string) error { _, err := root.ReadFile(n); return err }},
		{"read", "etc", func(n string) error { _, err := root.ReadFile(n); return err }},
		{"readdir", "etc/hostname", func(n string) error { _, err := root.ReadDir(n); return err }},
		{"readdir", "no/such/dir", func(n string) error { _, err := root.ReadDir(n); return err }},
		{"stat", "etc/missing", func(n string) error { _, err := root.Stat(n); return err }},
		{"lstat", "etc/missing", func(n string) error { _, err := root.Lstat(n); return err }},
		{"readlink", "etc/missing", func(n string) error { _, err := root.ReadLink(n); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.op+" "+tc.name, func(t *testing.T) {
			err := tc.fn(tc.name)
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Op != tc.op || pe.Path != tc.name {
				t.Fatalf("error = %#v, want a PathError %s %s", err, tc.op, tc.name)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tc.op+" "+tc.name+": ") || strings.Contains(msg, dir) {
				t.Errorf("error %q: want %q first and no host path %s", msg, tc.op+" "+tc.name+": ", dir)
			}
		})
	}
	if _, err := root.Open("etc/missing"); err == nil || err.Error() != "open etc/missing: no such file or directory" ||
		!errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(etc/missing) = %v", err)
	}
}

func TestOpenRoot(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "image.raw")
	if err := os.WriteFile(file, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "no-such-image")

	t.Run("missing", func(t *testing.T) {
		r, err := OpenRoot(missing)
		if err == nil {
			t.Fatalf("OpenRoot(missing) = %v, want an error", r.Dir())
		}
		if want := "root " + missing + ": "; !strings.HasPrefix(err.Error(), want) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %q, want it to start %q and match ErrNotExist", err, want)
		}
	})
	t.Run("regular file", func(t *testing.T) {
		_, err := OpenRoot(file)
		if err == nil || err.Error() != "root "+file+": not a directory" {
			t.Errorf("error = %v, want %q", err, "root "+file+": not a directory")
		}
	})
	t.Run("link to a directory", func(t *testing.T) {
		img := filepath.Join(tmp, "img")
		if err := os.MkdirAll(filepath.Join(img, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(img, "etc", "hostname"), []byte("img\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(tmp, "mnt")
		if err := os.Symlink(img, link); err != nil {
			t.Skipf("cannot make symbolic links here: %v", err)
		}
		r, err := OpenRoot(link)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := filepath.EvalSymlinks(img)
		if r.Dir() != want {
			t.Errorf("Dir() = %q, want %q", r.Dir(), want)
		}
		if b, err := r.ReadFile("etc/hostname"); err != nil || string(b) != "img\n" {
			t.Errorf("ReadFile = %q, %v", b, err)
		}
	})
}

func TestRootFSConformance(t *testing.T) {
	_, root := rootfsTree(t,
		map[string]string{
			"etc/hostname":                      rootfsHostname,
			"usr/lib/os-release":                rootfsRocky,
			"usr/lib/sysimage/rpm/rpmdb.sqlite": rootfsRPMDB,
			"var/lib/dpkg/status":               "Package: kesl\nStatus: install ok installed\n",
		},
		map[string]string{
			"etc/os-release": "../usr/lib/os-release",
			"var/lib/rpm":    "/usr/lib/sysimage/rpm",
		})
	if err := fstest.TestFS(root,
		"etc/hostname", "usr/lib/os-release", "usr/lib/sysimage/rpm/rpmdb.sqlite",
		"var/lib/dpkg/status", "etc/os-release", "var/lib/rpm"); err != nil {
		t.Fatal(err)
	}
}

// Errors from an open file name it as the root sees it: reading a
// directory fails, and the message must not show the host path.
func TestRootFSOpenFileErrorsNameRootPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "var", "lib", "dpkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := root.Open("var/lib/dpkg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = f.Read(make([]byte, 16))
	if err == nil {
		t.Fatal("reading a directory succeeded")
	}
	if !strings.Contains(err.Error(), "var/lib/dpkg") || strings.Contains(err.Error(), dir) {
		t.Errorf("error %q should name var/lib/dpkg, not the host path %s", err, dir)
	}
	if _, ok := f.(fs.ReadDirFile); !ok {
		t.Error("an opened directory must still list its entries")
	}
}
