package detectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
)

// The rpm database fixtures (testdata/rpm/README.md): the same 11 packages
// in each of rpm's three on-disk formats.
var (
	rpmFixtureSQLite = filepath.Join("testdata", "rpm", "sqlite", "rpmdb.sqlite")
	rpmFixtureBDB    = filepath.Join("testdata", "rpm", "bdb", "Packages")
	rpmFixtureNDB    = filepath.Join("testdata", "rpm", "ndb", "Packages.db")
)

// rpmFixturePackage is one package of the fixtures, as README.md lists it.
type rpmFixturePackage struct {
	name, version, release, arch, vendor string
	epoch                                string // "" for none
}

var rpmFixturePackages = []rpmFixturePackage{
	{name: "avahi", version: "0.8", release: "12", arch: "x86_64", vendor: "Fedora Project"},
	{name: "avr-libc", version: "2.1.0", release: "1", arch: "noarch", vendor: "Fedora Project"},
	{name: "clamav", version: "1.0.5", release: "1", arch: "x86_64", vendor: "Fedora Project"},
	{name: "kesl", version: "12.1.0", release: "1297", arch: "x86_64", vendor: "AO Kaspersky Lab"},
	{name: "kesl-gui", version: "12.1.0", release: "1297", arch: "x86_64", vendor: "AO Kaspersky Lab"},
	{name: "klavaro", version: "3.13", release: "1", arch: "x86_64", vendor: "Fedora Project"},
	{name: "kleopatra", version: "23.08.5", release: "1", arch: "x86_64", vendor: "Fedora Project"},
	{name: "klibc", version: "2.0.13", release: "1", arch: "x86_64", vendor: "Fedora Project"},
	{name: "klnagent64", version: "15.0.0", release: "12", arch: "x86_64", vendor: "AO Kaspersky Lab"},
	{name: "nrpe", version: "4.1.0", release: "1", arch: "x86_64", vendor: "Fedora Project"},
	{name: "openssl", version: "3.1.4", release: "4", arch: "x86_64", vendor: "Fedora Project", epoch: "1"},
}

// checkRPMItems asserts that items are exactly the 11 fixture packages,
// each read from db.
func checkRPMItems(t *testing.T, items []Item, db string) {
	t.Helper()
	if len(items) != len(rpmFixturePackages) {
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = it.Name + " " + it.Version
		}
		t.Fatalf("got %d packages, want %d: %q", len(items), len(rpmFixturePackages), names)
	}
	items = append([]Item(nil), items...)
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	for i, p := range rpmFixturePackages {
		got := items[i]
		version := p.version + "-" + p.release
		if p.epoch != "" {
			version = p.epoch + ":" + version
		}
		// Detail ends in the install date, which differs per fixture.
		prefix := fmt.Sprintf("rpm %s-%s-%s.%s, installed ", p.name, p.version, p.release, p.arch)
		date, ok := strings.CutPrefix(got.Detail, prefix)
		if !ok {
			t.Errorf("%s: Detail = %q, want prefix %q", p.name, got.Detail, prefix)
		} else if _, err := time.Parse(time.DateOnly, date); err != nil {
			t.Errorf("%s: Detail = %q: install date: %v", p.name, got.Detail, err)
		}
		got.Detail = ""
		want := Item{Kind: KindPackage, Name: p.name, Version: version, Publisher: p.vendor,
			Path: db, State: StateInstalled}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("package %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func TestDetectRPMLayouts(t *testing.T) {
	tests := []struct {
		name   string
		tree   diskTree
		wantDB string // the Path every item must name
	}{
		{
			name:   "RHEL 9: sqlite in var/lib/rpm",
			tree:   diskTree{copies: map[string]string{"var/lib/rpm/rpmdb.sqlite": rpmFixtureSQLite}},
			wantDB: "var/lib/rpm/rpmdb.sqlite",
		},
		{
			name: "Fedora: sqlite in usr/lib/sysimage/rpm, var/lib/rpm an absolute link to it",
			tree: diskTree{
				copies: map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": rpmFixtureSQLite},
				links:  map[string]string{"var/lib/rpm": "/usr/lib/sysimage/rpm"},
			},
			wantDB: "usr/lib/sysimage/rpm/rpmdb.sqlite",
		},
		{
			name: "sqlite in usr/lib/sysimage/rpm, var/lib/rpm a relative link to it",
			tree: diskTree{
				copies: map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": rpmFixtureSQLite},
				links:  map[string]string{"var/lib/rpm": "../../usr/lib/sysimage/rpm"},
			},
			wantDB: "usr/lib/sysimage/rpm/rpmdb.sqlite",
		},
		{
			name:   "RHEL 7/8: Berkeley DB in var/lib/rpm",
			tree:   diskTree{copies: map[string]string{"var/lib/rpm/Packages": rpmFixtureBDB}},
			wantDB: "var/lib/rpm/Packages",
		},
		{
			name:   "SUSE: ndb in usr/lib/sysimage/rpm",
			tree:   diskTree{copies: map[string]string{"usr/lib/sysimage/rpm/Packages.db": rpmFixtureNDB}},
			wantDB: "usr/lib/sysimage/rpm/Packages.db",
		},
		{
			name: "SUSE: ndb, var/lib/rpm an absolute link to usr/lib/sysimage/rpm",
			tree: diskTree{
				copies: map[string]string{"usr/lib/sysimage/rpm/Packages.db": rpmFixtureNDB},
				links:  map[string]string{"var/lib/rpm": "/usr/lib/sysimage/rpm"},
			},
			wantDB: "usr/lib/sysimage/rpm/Packages.db",
		},
		{
			// A conversion (rpmdb --rebuilddb) left the old bdb behind in
			// a real var/lib/rpm: each package is still reported once.
			name: "old bdb in var/lib/rpm beside a newer sqlite in usr/lib/sysimage/rpm",
			tree: diskTree{copies: map[string]string{
				"usr/lib/sysimage/rpm/rpmdb.sqlite": rpmFixtureSQLite,
				"var/lib/rpm/Packages":              rpmFixtureBDB,
			}},
			wantDB: "usr/lib/sysimage/rpm/rpmdb.sqlite",
		},
		{
			// Newest backend first: the sqlite file is the live one.
			name: "sqlite and a leftover Packages in one directory",
			tree: diskTree{copies: map[string]string{
				"var/lib/rpm/rpmdb.sqlite": rpmFixtureSQLite,
				"var/lib/rpm/Packages":     rpmFixtureBDB,
			}},
			wantDB: "var/lib/rpm/rpmdb.sqlite",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, root := tt.tree.build(t)
			dbFile := filepath.Join(dir, filepath.FromSlash(tt.wantDB))
			dbDir := filepath.Dir(dbFile)
			before := hostFileSHA256(t, dbFile)
			namesBefore := hostDirNames(t, dbDir)
			tmp := t.TempDir()

			items, err := detectRPM(context.Background(), &Env{Root: root, RootDir: dir, TempDir: tmp})
			if err != nil {
				t.Fatalf("detectRPM: %v", err)
			}
			checkRPMItems(t, items, tt.wantDB)

			// The detector reads a copy: the database is untouched and no
			// -wal, -shm or -journal file appears beside it.
			if after := hostFileSHA256(t, dbFile); after != before {
				t.Errorf("%s changed: sha256 %s, was %s", tt.wantDB, after, before)
			}
			if got := hostDirNames(t, dbDir); !reflect.DeepEqual(got, namesBefore) {
				t.Errorf("files beside the database: %q, was %q", got, namesBefore)
			}
			// And the copy is removed.
			if left := hostDirNames(t, tmp); len(left) != 0 {
				t.Errorf("temporary copies left in TempDir: %q", left)
			}
		})
	}
}

// The detector reads any fs.FS, not only a directory on disk.
func TestDetectRPMMapFS(t *testing.T) {
	b, err := os.ReadFile(rpmFixtureSQLite)
	if err != nil {
		t.Fatal(err)
	}
	root := fstest.MapFS{"var/lib/rpm/rpmdb.sqlite": {Data: b, Mode: 0o644}}
	items, err := detectRPM(context.Background(), &Env{Root: root, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("detectRPM: %v", err)
	}
	checkRPMItems(t, items, "var/lib/rpm/rpmdb.sqlite")
}

// The fixtures in testdata themselves are never written to: a root whose
// database files are host links to them (os.DirFS follows host links) is
// scanned, and the fixtures and their folders are compared before and after.
func TestDetectRPMLeavesTestdataAlone(t *testing.T) {
	tests := []struct{ fixture, db string }{
		{rpmFixtureSQLite, "var/lib/rpm/rpmdb.sqlite"},
		{rpmFixtureBDB, "var/lib/rpm/Packages"},
		{rpmFixtureNDB, "usr/lib/sysimage/rpm/Packages.db"},
	}
	for _, tt := range tests {
		t.Run(tt.db, func(t *testing.T) {
			abs, err := filepath.Abs(tt.fixture)
			if err != nil {
				t.Fatal(err)
			}
			sum, listing := hostFileSHA256(t, abs), hostDirNames(t, filepath.Dir(abs))
			dir, _ := diskTree{links: map[string]string{tt.db: abs}}.build(t)

			items, err := detectRPM(context.Background(), &Env{Root: os.DirFS(dir), TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("detectRPM: %v", err)
			}
			checkRPMItems(t, items, tt.db)
			if got := hostFileSHA256(t, abs); got != sum {
				t.Errorf("%s changed", tt.fixture)
			}
			if got := hostDirNames(t, filepath.Dir(abs)); !reflect.DeepEqual(got, listing) {
				t.Errorf("files beside %s: %q, was %q", tt.fixture, got, listing)
			}
		})
	}
}

func TestDetectRPMNoDatabase(t *testing.T) {
	tests := []struct {
		name string
		tree diskTree
	}{
		{name: "empty root", tree: diskTree{}},
		{name: "a Debian root", tree: diskTree{files: map[string]string{"var/lib/dpkg/status": ""}}},
		{name: "empty var/lib/rpm", tree: diskTree{dirs: []string{"var/lib/rpm", "usr/lib/sysimage/rpm"}}},
		// Installing the rpm tool on Debian leaves an empty database file.
		{name: "zero-byte rpmdb.sqlite", tree: diskTree{files: map[string]string{"var/lib/rpm/rpmdb.sqlite": ""}}},
		{name: "var/lib/rpm links to a missing directory", tree: diskTree{links: map[string]string{"var/lib/rpm": "/usr/lib/sysimage/rpm"}}},
		{name: "rpmdb.sqlite is a directory", tree: diskTree{dirs: []string{"var/lib/rpm/rpmdb.sqlite"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := tt.tree.build(t)
			items, err := detectRPM(context.Background(), &Env{Root: root, TempDir: t.TempDir()})
			if err != nil || len(items) != 0 {
				t.Fatalf("detectRPM = %v, %v; want no items, no error", items, err)
			}
		})
	}
}

func TestDetectRPMDamaged(t *testing.T) {
	truncated := func(src string, n int) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if n >= len(b) {
			t.Fatalf("%s: only %d bytes", src, len(b))
		}
		return string(b[:n])
	}
	garbage := strings.Repeat("this is not an rpm database\x00\xff\x13\x37", 512)
	tests := []struct {
		name    string
		db      string // root-relative database path
		content string
	}{
		// Cut inside the data: the header page says the file is longer.
		{"truncated sqlite", "var/lib/rpm/rpmdb.sqlite", truncated(rpmFixtureSQLite, 64*1024)},
		{"sqlite cut inside its first page", "var/lib/rpm/rpmdb.sqlite", truncated(rpmFixtureSQLite, 100)},
		{"truncated bdb", "var/lib/rpm/Packages", truncated(rpmFixtureBDB, 8*1024+100)},
		{"bdb cut inside its metadata page", "var/lib/rpm/Packages", truncated(rpmFixtureBDB, 100)},
		{"truncated ndb", "usr/lib/sysimage/rpm/Packages.db", truncated(rpmFixtureNDB, 4096+100)},
		{"garbage named rpmdb.sqlite", "var/lib/rpm/rpmdb.sqlite", garbage},
		{"garbage named Packages", "var/lib/rpm/Packages", garbage},
		{"garbage named Packages.db", "usr/lib/sysimage/rpm/Packages.db", garbage},
		{"sqlite magic then garbage", "var/lib/rpm/rpmdb.sqlite", "SQLite format 3\x00" + garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, root := diskTree{files: map[string]string{tt.db: tt.content}}.build(t)
			dbFile := filepath.Join(dir, filepath.FromSlash(tt.db))
			before := hostFileSHA256(t, dbFile)
			tmp := t.TempDir()

			// Called directly, not through Run: a panic fails the test.
			items, err := detectRPM(context.Background(), &Env{Root: root, TempDir: tmp})
			if err == nil {
				t.Fatalf("no error; items %v", items)
			}
			if !strings.HasPrefix(err.Error(), tt.db+": ") {
				t.Errorf("error %q does not start with the database path %q", err, tt.db)
			}
			if strings.Contains(err.Error(), tmp) {
				t.Errorf("error %q names the temporary copy", err)
			}
			// Nothing in a damaged file passes for a package.
			for _, it := range items {
				if it.Name == "" || it.Path != tt.db {
					t.Errorf("bogus item %+v", it)
				}
			}
			if after := hostFileSHA256(t, dbFile); after != before {
				t.Errorf("%s changed", tt.db)
			}
			if got := hostDirNames(t, filepath.Dir(dbFile)); !reflect.DeepEqual(got, []string{filepath.Base(dbFile)}) {
				t.Errorf("files beside the database: %q", got)
			}
			if left := hostDirNames(t, tmp); len(left) != 0 {
				t.Errorf("temporary copies left in TempDir: %q", left)
			}
		})
	}
}

// A cancelled scan stops before it opens the database.
func TestDetectRPMCancelled(t *testing.T) {
	b, err := os.ReadFile(rpmFixtureSQLite)
	if err != nil {
		t.Fatal(err)
	}
	root := fstest.MapFS{"var/lib/rpm/rpmdb.sqlite": {Data: b}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items, err := detectRPM(ctx, &Env{Root: root, TempDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(items) != 0 {
		t.Errorf("items = %v, want none", items)
	}
}

// The real rpm tool installs the fixture packages (--justdb) into a fresh
// root, and the detector reads the database it wrote.
func TestDetectRPMLiveTool(t *testing.T) {
	rpmTool, err := exec.LookPath("rpm")
	if err != nil {
		t.Skip("the rpm tool is not installed (Debian/Ubuntu: apt-get install rpm); CI installs it")
	}
	pkgs, err := filepath.Glob(filepath.Join("testdata", "rpm", "rpms", "*.rpm"))
	if err != nil || len(pkgs) != len(rpmFixturePackages) {
		t.Fatalf("testdata/rpm/rpms: %d packages, %v", len(pkgs), err)
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(rpmTool, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("rpm %s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
		}
	}
	base := []string{"--root", dir, "--dbpath", "/var/lib/rpm"}
	install := []string{"-i", "--justdb", "--nodeps", "--noscripts", "--notriggers",
		"--ignorearch", "--ignoreos", "--ignoresize"}
	// Debian's rpm refuses to install on a dpkg system without
	// --force-debian, an option other builds of rpm do not have.
	if help, _ := exec.Command(rpmTool, "--help").Output(); bytes.Contains(help, []byte("--force-debian")) {
		install = append(install, "--force-debian")
	}
	run(append(base, "--initdb")...)
	run(append(append(base, install...), pkgs...)...)

	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	db := findRPMDB(root, "var/lib/rpm")
	if db == "" {
		t.Fatalf("rpm wrote no database the detector knows in var/lib/rpm: %q",
			hostDirNames(t, filepath.Join(dir, "var", "lib", "rpm")))
	}
	dbDir := filepath.Join(dir, "var", "lib", "rpm")
	namesBefore := hostDirNames(t, dbDir)
	sumBefore := hostFileSHA256(t, filepath.Join(dir, filepath.FromSlash(db)))

	items, err := detectRPM(context.Background(), &Env{Root: root, RootDir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("detectRPM: %v", err)
	}
	checkRPMItems(t, items, db)
	if got := hostDirNames(t, dbDir); !reflect.DeepEqual(got, namesBefore) {
		t.Errorf("files in var/lib/rpm: %q, was %q", got, namesBefore)
	}
	if got := hostFileSHA256(t, filepath.Join(dir, filepath.FromSlash(db))); got != sumBefore {
		t.Errorf("%s changed", db)
	}
}

// rpmItem turns go-rpmdb's record into an item.
func TestRPMItem(t *testing.T) {
	zero, one := 0, 1
	tests := []struct {
		name string
		pkg  rpmdb.PackageInfo
		want Item
	}{
		{
			name: "no epoch, no install time",
			pkg:  rpmdb.PackageInfo{Name: "kesl", Version: "12.1.0", Release: "1297", Arch: "x86_64", Vendor: "AO Kaspersky Lab"},
			want: Item{Kind: KindPackage, Name: "kesl", Version: "12.1.0-1297", Publisher: "AO Kaspersky Lab",
				Path: "var/lib/rpm/Packages", State: StateInstalled, Detail: "rpm kesl-12.1.0-1297.x86_64"},
		},
		{
			name: "epoch 0 is not shown",
			pkg:  rpmdb.PackageInfo{Name: "bash", Epoch: &zero, Version: "5.1.8", Release: "9.el9", Arch: "x86_64", Vendor: "Red Hat, Inc.", InstallTime: 1704067200},
			want: Item{Kind: KindPackage, Name: "bash", Version: "5.1.8-9.el9", Publisher: "Red Hat, Inc.",
				Path: "var/lib/rpm/Packages", State: StateInstalled, Detail: "rpm bash-5.1.8-9.el9.x86_64, installed 2024-01-01"},
		},
		{
			name: "epoch 1",
			pkg:  rpmdb.PackageInfo{Name: "openssl", Epoch: &one, Version: "3.1.4", Release: "4", Arch: "x86_64", Vendor: "Fedora Project", InstallTime: 1704067199},
			want: Item{Kind: KindPackage, Name: "openssl", Version: "1:3.1.4-4", Publisher: "Fedora Project",
				Path: "var/lib/rpm/Packages", State: StateInstalled, Detail: "rpm openssl-3.1.4-4.x86_64, installed 2023-12-31"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rpmItem(&tt.pkg, "var/lib/rpm/Packages"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
