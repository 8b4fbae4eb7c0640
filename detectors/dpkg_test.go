package detectors

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// Figures of testdata/dpkg/status.debian12, counted once with
//
//	grep -c '^Package:' status.debian12          -> 762
//	grep -n '^Package: bash$' status.debian12     -> 362 (16th stanza)
//	grep -n '^Package: base-files$' status.debian12 -> 316 (14th stanza)
const (
	debian12Packages      = 762
	debian12BaseFilesLine = 316 // "Package: base-files"
	debian12BaseFilesNth  = 14  // base-files is the 14th stanza
	debian12BashDescLine  = 385 // first Description continuation line of bash
	debian12BashNth       = 16  // bash is the 16th stanza
)

const (
	dpkgFixtureDebian12  = "testdata/dpkg/status.debian12"
	dpkgFixtureKaspersky = "testdata/dpkg/status.kaspersky"
)

func dpkgReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// dpkgMapFS is a root holding the given files.
func dpkgMapFS(t *testing.T, files map[string]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
	}
	return fsys
}

// dpkgDetect runs the dpkg detector on a root holding the given files.
func dpkgDetect(t *testing.T, files map[string]string) ([]Item, error) {
	t.Helper()
	return detectDpkg(context.Background(), &Env{Root: dpkgMapFS(t, files)})
}

func dpkgItemsByName(t *testing.T, items []Item) map[string]Item {
	t.Helper()
	m := make(map[string]Item, len(items))
	for _, it := range items {
		if _, dup := m[it.Name]; dup {
			t.Errorf("package %s reported twice", it.Name)
		}
		m[it.Name] = it
	}
	return m
}

// dpkgParseError extracts the *ParseError for file from err.
func dpkgParseError(t *testing.T, err error, file string) *ParseError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a *ParseError for %s", file)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if pe.File != file {
		t.Fatalf("ParseError.File = %q, want %q (error: %v)", pe.File, file, err)
	}
	return pe
}

func TestDpkgDebian12Status(t *testing.T) {
	data := string(dpkgReadFixture(t, dpkgFixtureDebian12))
	tests := []struct {
		name string
		root func(t *testing.T) (*Env, error)
	}{
		{"MapFS", func(t *testing.T) (*Env, error) {
			return &Env{Root: fstest.MapFS{dpkgStatusFile: {Data: []byte(data)}}}, nil
		}},
		{"RootFS", func(t *testing.T) (*Env, error) {
			dir := t.TempDir()
			p := filepath.Join(dir, filepath.FromSlash(dpkgStatusFile))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				return nil, err
			}
			root, err := OpenRoot(dir)
			return &Env{Root: root, RootDir: dir}, err
		}},
	}
	want := []struct {
		name, version, publisher string
	}{
		{"adduser", "3.134", "Debian Adduser Developers"},
		{"base-files", "12.4+deb12u11", "Santiago Vila"},
		{"bash", "5.2.15-2+b8", "Matthias Klose"},
		{"coreutils", "9.1-1", "Michael Stone"},
		{"dpkg", "1.21.22", "Dpkg Developers"},
		{"libc6", "2.36-9+deb12u14", "GNU Libc Maintainers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := tc.root(t)
			if err != nil {
				t.Fatal(err)
			}
			items, err := detectDpkg(context.Background(), env)
			if err != nil {
				t.Fatalf("detectDpkg: %v", err)
			}
			if len(items) != debian12Packages {
				t.Fatalf("got %d packages, want %d", len(items), debian12Packages)
			}
			byName := dpkgItemsByName(t, items)
			for _, w := range want {
				it, ok := byName[w.name]
				if !ok {
					t.Errorf("package %s missing", w.name)
					continue
				}
				if it.Version != w.version || it.Publisher != w.publisher ||
					it.State != StateInstalled || it.Kind != KindPackage ||
					it.Path != dpkgStatusFile || it.Detail != "Status: install ok installed" {
					t.Errorf("%s = %+v, want version %q publisher %q installed from %s",
						w.name, it, w.version, w.publisher, dpkgStatusFile)
				}
			}
			if items[0].Name != "adduser" || items[len(items)-1].Name != "zstd" {
				t.Errorf("order: first %s last %s, want adduser .. zstd (file order)",
					items[0].Name, items[len(items)-1].Name)
			}
		})
	}
}

func TestDpkgKasperskyStates(t *testing.T) {
	items, err := dpkgDetect(t, map[string]string{
		dpkgStatusFile: string(dpkgReadFixture(t, dpkgFixtureKaspersky)),
	})
	if err != nil {
		t.Fatalf("detectDpkg: %v", err)
	}
	// 56 stanzas, of which kav4fs is "purge ok not-installed".
	if len(items) != 55 {
		t.Errorf("got %d items, want 55", len(items))
	}
	byName := dpkgItemsByName(t, items)
	const kl = "AO Kaspersky Lab"
	tests := []struct {
		name, version, status, publisher string
		state                            State
	}{
		{"kesl", "12.1.0-1297", "install ok installed", kl, StateInstalled},
		{"kesl-gui", "12.1.0-1297", "hold ok installed", kl, StateInstalled},
		{"kwts", "6.1.0-4762", "install ok triggers-pending", kl, StateInstalled},
		{"ksmg", "2.0.1-6960", "install ok triggers-awaited", kl, StateInstalled},
		{"kess", "3.3.0-548", "install ok half-installed", kl, StatePartial},
		{"klnagent", "15.0.0-12", "install ok unpacked", kl, StatePartial},
		{"kics", "3.1.0-1001", "install ok half-configured", kl, StatePartial},
		{"ksc-web-console", "15.0.0-1234", "install reinstreq half-installed", kl, StatePartial},
		{"klnagent64", "15.0.0-12", "deinstall ok config-files", kl, StateLeftover},
		// Look-alikes: real Debian packages, reported as they are.
		{"klavaro", "3.11-1+b1", "install ok installed", "Bart Martens", StateInstalled},
		{"kleopatra", "4:22.12.3-1", "install ok installed", "Debian Qt/KDE Maintainers", StateInstalled},
		{"klibc-utils", "2.0.12-1", "install ok installed", "Debian Kernel Team", StateInstalled},
		{"avahi-daemon", "0.8-10+deb12u1", "install ok installed", "Utopia Maintenance Team", StateInstalled},
		{"avr-libc", "1:2.0.0+Atmel3.6.2-3", "install ok installed", "Hakan Ardo", StateInstalled},
		{"clamav", "1.4.6+dfsg-0+deb12u1", "install ok installed", "ClamAV Team", StateInstalled},
		{"adduser", "3.134", "install ok installed", "Debian Adduser Developers", StateInstalled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, ok := byName[tc.name]
			if !ok {
				t.Fatalf("package %s not reported", tc.name)
			}
			want := Item{
				Kind: KindPackage, Name: tc.name, Version: tc.version,
				Publisher: tc.publisher, Path: dpkgStatusFile,
				State: tc.state, Detail: "Status: " + tc.status,
			}
			if !reflect.DeepEqual(it, want) {
				t.Errorf("got  %+v\nwant %+v", it, want)
			}
		})
	}
	if it, ok := byName["kav4fs"]; ok {
		t.Errorf("not-installed kav4fs reported: %+v", it)
	}
	for _, it := range items {
		if strings.ContainsAny(it.Publisher, "<>@") {
			t.Errorf("%s: publisher %q keeps the e-mail", it.Name, it.Publisher)
		}
	}
}

func TestParseDpkgStatusField(t *testing.T) {
	tests := []struct {
		in      string
		want    State
		wantErr string
	}{
		{"install ok installed", StateInstalled, ""},
		{"hold ok installed", StateInstalled, ""},
		{"unknown ok installed", StateInstalled, ""},
		{"install ok triggers-pending", StateInstalled, ""},
		{"install ok triggers-awaited", StateInstalled, ""},
		{"install ok half-installed", StatePartial, ""},
		{"install ok unpacked", StatePartial, ""},
		{"install ok half-configured", StatePartial, ""},
		{"install reinstreq half-installed", StatePartial, ""},
		{"install reinstreq installed", StatePartial, ""},
		{"deinstall ok config-files", StateLeftover, ""},
		{"purge ok config-files", StateLeftover, ""},
		{"purge ok not-installed", "", ""},
		{"deinstall ok not-installed", "", ""},
		{"unknown ok not-installed", "", ""},
		{"install  ok\tinstalled", StateInstalled, ""},
		{"install ok bogus", "", `Status "install ok bogus": unknown value`},
		{"bogus ok installed", "", `Status "bogus ok installed": unknown value`},
		{"install bogus installed", "", `Status "install bogus installed": unknown value`},
		{"install ok", "", `Status "install ok": want three words (want flag state)`},
		{"install ok installed extra", "", "want three words"},
		{"", "", "want three words"},
		{"Install OK Installed", "", "unknown value"}, // values are case-sensitive in dpkg
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseDpkgStatusField(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if got != "" {
					t.Errorf("state = %q with an error, want empty", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got != tc.want {
				t.Errorf("state = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaintainerName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"AO Kaspersky Lab <support@kaspersky.com>", "AO Kaspersky Lab"},
		{"Debian Qt/KDE Maintainers <debian-qt-kde@lists.debian.org>", "Debian Qt/KDE Maintainers"},
		{"  Santiago Vila   <sanvila@debian.org>  ", "Santiago Vila"},
		{"Nobody", "Nobody"},
		{"<only@mail.example>", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := maintainerName(tc.in); got != tc.want {
			t.Errorf("maintainerName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// dpkgStanza renders a minimal status stanza.
func dpkgStanza(name, version, arch, status string) string {
	return "Package: " + name + "\nStatus: " + status +
		"\nPriority: optional\nSection: non-free/utils\nInstalled-Size: 1024" +
		"\nMaintainer: AO Kaspersky Lab <support@kaspersky.com>\nArchitecture: " + arch +
		"\nVersion: " + version + "\nDescription: test stanza\n multi-line\n .\n description\n"
}

func TestDpkgJournal(t *testing.T) {
	status := string(dpkgReadFixture(t, dpkgFixtureKaspersky))
	const upd = dpkgUpdatesDir + "/"
	type want struct {
		version, status string
		state           State
	}
	tests := []struct {
		name    string
		files   map[string]string
		count   int // items expected
		want    map[string]want
		absent  []string
		copies  map[string]int // packages reported more than once (one per architecture)
		errFile string         // a *ParseError expected for this file
	}{
		{
			name: "upgrade in progress, 0010 after 0002",
			files: map[string]string{
				upd + "0000": dpkgStanza("kesl", "12.1.0-1297", "amd64", "install ok half-installed"),
				upd + "0001": dpkgStanza("kesl", "12.2.0-2367", "amd64", "install ok unpacked"),
				upd + "0002": dpkgStanza("kesl", "12.2.0-2367", "amd64", "install ok half-configured"),
				upd + "0010": dpkgStanza("kesl", "12.2.0-2367", "amd64", "install ok installed"),
			},
			count: 55,
			want:  map[string]want{"kesl": {"12.2.0-2367", "install ok installed", StateInstalled}},
		},
		{
			name: "journal stops half way",
			files: map[string]string{
				upd + "0000": dpkgStanza("kesl", "12.1.0-1297", "amd64", "install ok half-installed"),
				upd + "0001": dpkgStanza("kesl", "12.2.0-2367", "amd64", "install ok unpacked"),
			},
			count: 55,
			want:  map[string]want{"kesl": {"12.2.0-2367", "install ok unpacked", StatePartial}},
		},
		{
			name: "numeric not lexical order",
			files: map[string]string{
				upd + "9999":  dpkgStanza("kwts", "6.1.0-4762", "amd64", "install ok half-configured"),
				upd + "10000": dpkgStanza("kwts", "6.1.0-4762", "amd64", "install ok installed"),
			},
			count: 55,
			want:  map[string]want{"kwts": {"6.1.0-4762", "install ok installed", StateInstalled}},
		},
		{
			name: "journal adds a package and purges one",
			files: map[string]string{
				upd + "0000": dpkgStanza("kesl-docs", "12.1.0-1297", "all", "install ok unpacked"),
				upd + "0001": "Package: kesl-gui\nStatus: purge ok not-installed\nArchitecture: amd64\n",
				upd + "0002": dpkgStanza("kesl-docs", "12.1.0-1297", "all", "install ok installed"),
				// dpkg's temporary file and other names are not journal entries.
				upd + "tmp.i":   "garbage that must not be parsed\n",
				upd + "0003.gz": "garbage that must not be parsed\n",
			},
			count:  55,
			want:   map[string]want{"kesl-docs": {"12.1.0-1297", "install ok installed", StateInstalled}},
			absent: []string{"kesl-gui"},
		},
		{
			name: "same name, other architecture is another package",
			files: map[string]string{
				upd + "0000": dpkgStanza("klnagent", "15.0.0-12", "amd64", "install ok installed"),
			},
			count: 56,
			want: map[string]want{
				// i386 from status is kept; the amd64 one is added.
				"klnagent": {"15.0.0-12", "install ok unpacked", StatePartial},
			},
			copies: map[string]int{"klnagent": 2},
		},
		{
			name: "damaged journal entry: error names it, the rest applies",
			files: map[string]string{
				upd + "0000": dpkgStanza("kesl", "12.2.0-2367", "amd64", "install ok installed"),
				upd + "0001": dpkgStanza("kics", "3.1.0-1001", "amd64", "install ok installed") +
					"\nPackage: kess\nStatus: install ok half-inst",
			},
			count: 55,
			want: map[string]want{
				"kesl": {"12.2.0-2367", "install ok installed", StateInstalled},
				"kics": {"3.1.0-1001", "install ok installed", StateInstalled},
				"kess": {"3.3.0-548", "install ok half-installed", StatePartial},
			},
			errFile: upd + "0001",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{dpkgStatusFile: status}
			for k, v := range tc.files {
				files[k] = v
			}
			items, err := dpkgDetect(t, files)
			if tc.errFile != "" {
				dpkgParseError(t, err, tc.errFile)
			} else if err != nil {
				t.Fatalf("detectDpkg: %v", err)
			}
			if len(items) != tc.count {
				t.Errorf("got %d items, want %d", len(items), tc.count)
			}
			byName := map[string][]Item{}
			for _, it := range items {
				byName[it.Name] = append(byName[it.Name], it)
			}
			for name, w := range tc.want {
				got := byName[name]
				if len(got) == 0 {
					t.Errorf("%s missing", name)
					continue
				}
				it := got[0]
				if it.Version != w.version || it.State != w.state || it.Detail != "Status: "+w.status {
					t.Errorf("%s = %q %q %q, want %q %q %q", name,
						it.Version, it.State, it.Detail, w.version, w.state, "Status: "+w.status)
				}
			}
			for name, n := range tc.copies {
				if got := len(byName[name]); got != n {
					t.Errorf("%s reported %d times, want %d", name, got, n)
				}
			}
			for name, its := range byName {
				if len(its) > 1 && tc.copies[name] == 0 {
					t.Errorf("%s reported %d times", name, len(its))
				}
			}
			for _, name := range tc.absent {
				if got := byName[name]; len(got) > 0 {
					t.Errorf("%s reported, want it dropped: %+v", name, got)
				}
			}
		})
	}

	t.Run("journal entry path", func(t *testing.T) {
		items, err := dpkgDetect(t, map[string]string{
			dpkgStatusFile: status,
			upd + "0000":   dpkgStanza("kesl-docs", "12.1.0-1297", "all", "install ok installed"),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			want := dpkgStatusFile
			if it.Name == "kesl-docs" {
				want = upd + "0000"
			}
			if it.Path != want {
				t.Errorf("%s: Path = %q, want %q", it.Name, it.Path, want)
			}
		}
	})
}

func TestDpkgNoStatusFile(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"empty root", nil},
		{"other files only", map[string]string{"etc/hostname": "h\n", "var/lib/rpm/Packages": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := dpkgDetect(t, tc.files)
			if err != nil || items != nil {
				t.Errorf("got %v, %v; want no items and no error", items, err)
			}
		})
	}
}

func TestDpkgTruncatedStatus(t *testing.T) {
	full := dpkgReadFixture(t, dpkgFixtureDebian12)
	cutAfter := func(marker string) string {
		i := bytes.Index(full, []byte(marker))
		if i < 0 {
			t.Fatalf("marker %q not in fixture", marker)
		}
		return string(full[:i+len(marker)])
	}
	tests := []struct {
		name     string
		data     string
		problems []Problem
		count    int
		last     string
	}{
		{
			name: "cut in the middle of a line",
			data: cutAfter("Description: GNU Bourne Again SHell\n Bash is an sh-compatible"),
			problems: []Problem{
				{debian12BashDescLine, "file ends in the middle of a line (truncated?)"},
			},
			// bash itself has its Package and Status: it is kept.
			count: debian12BashNth,
			last:  "bash",
		},
		{
			name: "cut in the middle of a stanza, before Status",
			data: cutAfter("Package: base-files\nEssential: yes\n"),
			problems: []Problem{
				{debian12BaseFilesLine, "package base-files has no Status field"},
			},
			count: debian12BaseFilesNth - 1,
			last:  "autotools-dev",
		},
		{
			name: "cut in the middle of the Status line",
			data: cutAfter("Package: base-files\nEssential: yes\nStatus: install ok inst"),
			problems: []Problem{
				{debian12BaseFilesLine + 2, "file ends in the middle of a line (truncated?)"},
				{debian12BaseFilesLine + 2, `package base-files: Status "install ok inst": unknown value`},
			},
			count: debian12BaseFilesNth - 1,
			last:  "autotools-dev",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := dpkgDetect(t, map[string]string{dpkgStatusFile: tc.data})
			pe := dpkgParseError(t, err, dpkgStatusFile)
			if len(pe.Problems) != len(tc.problems) || pe.More != 0 {
				t.Fatalf("problems = %+v (more %d), want %+v", pe.Problems, pe.More, tc.problems)
			}
			for i, p := range pe.Problems {
				if p != tc.problems[i] {
					t.Errorf("problem %d = %+v, want %+v", i, p, tc.problems[i])
				}
			}
			if !strings.Contains(err.Error(), "var/lib/dpkg/status: line ") {
				t.Errorf("error %q does not name the file and line", err)
			}
			if len(items) != tc.count {
				t.Fatalf("got %d packages, want %d", len(items), tc.count)
			}
			if items[len(items)-1].Name != tc.last {
				t.Errorf("last package = %s, want %s", items[len(items)-1].Name, tc.last)
			}
			byName := dpkgItemsByName(t, items)
			if it := byName["adduser"]; it.Version != "3.134" || it.State != StateInstalled {
				t.Errorf("adduser before the damage = %+v", it)
			}
		})
	}
}

func TestDpkgGarbageStatus(t *testing.T) {
	full := dpkgReadFixture(t, dpkgFixtureDebian12)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(full); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"random bytes", random},
		{"gzip-compressed status", gz.Bytes()},
		{"NUL bytes", make([]byte, 4096)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := dpkgDetect(t, map[string]string{dpkgStatusFile: string(tc.data)})
			pe := dpkgParseError(t, err, dpkgStatusFile)
			if len(items) != 0 {
				t.Errorf("got %d packages from garbage, want 0: %+v", len(items), items[0])
			}
			if len(pe.Problems) == 0 || len(pe.Problems) > maxProblems {
				t.Fatalf("%d problems kept, want 1..%d", len(pe.Problems), maxProblems)
			}
			nlines := bytes.Count(tc.data, []byte("\n")) + 1
			for _, p := range pe.Problems {
				if p.Line < 1 || p.Line > nlines {
					t.Errorf("problem at line %d outside 1..%d: %s", p.Line, nlines, p.Msg)
				}
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "var/lib/dpkg/status: line ") {
				t.Errorf("error %q does not start with the file and line", clip(msg, 200))
			}
		})
	}
}

func TestParseDpkgStatusBadInput(t *testing.T) {
	good := "Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-1297\n"
	tests := []struct {
		name     string
		in       string
		problems []Problem
		names    []string // packages expected, in order
	}{
		{
			name:     "continuation line before any stanza",
			in:       " orphan continuation\n" + good,
			problems: []Problem{{1, "continuation line outside a stanza"}},
			names:    []string{"kesl"},
		},
		{
			name:     "continuation line after a blank line",
			in:       good + "\n continues nothing\n\n" + strings.Replace(good, "kesl", "kesl-gui", 1),
			problems: []Problem{{5, "continuation line outside a stanza"}},
			names:    []string{"kesl", "kesl-gui"},
		},
		{
			name:     "stanza without Package",
			in:       "Status: install ok installed\nVersion: 1.0\n\n" + good,
			problems: []Problem{{1, "stanza has no Package field"}},
			names:    []string{"kesl"},
		},
		{
			name:     "empty Package",
			in:       "Package:   \nStatus: install ok installed\n\n" + good,
			problems: []Problem{{1, "stanza has no Package field"}},
			names:    []string{"kesl"},
		},
		{
			name:     "invalid Status state",
			in:       good + "\nPackage: klnagent64\nVersion: 15.0.0-12\nStatus: install ok bogus\n",
			problems: []Problem{{7, `package klnagent64: Status "install ok bogus": unknown value`}},
			names:    []string{"kesl"},
		},
		{
			name:     "Status of two words",
			in:       "Package: klnagent64\nStatus: install ok\n\n" + good,
			problems: []Problem{{2, `package klnagent64: Status "install ok": want three words (want flag state)`}},
			names:    []string{"kesl"},
		},
		{
			name:     "line that is not a field keeps the stanza",
			in:       "Package: kesl\nthis is not a field\nStatus: install ok installed\n",
			problems: []Problem{{2, `expected "Field: value", got "this is not a field"`}},
			names:    []string{"kesl"},
		},
		{
			name:     "field name with a space",
			in:       "Package: kesl\nBad Field: x\nStatus: install ok installed\n",
			problems: []Problem{{2, `expected "Field: value", got "Bad Field: x"`}},
			names:    []string{"kesl"},
		},
		{
			name: "blank line between stanzas lost",
			in:   "Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-1297\nPackage: kics\nStatus: install ok unpacked\nVersion: 3.1.0-1001\n",
			problems: []Problem{
				{4, "duplicate Package field (missing blank line?)"},
				{5, "duplicate Status field (missing blank line?)"},
				{6, "duplicate Version field (missing blank line?)"},
			},
			names: []string{"kics"},
		},
		{
			name:  "CRLF line ends and whitespace-only separators",
			in:    "Package: kesl\r\nStatus: install ok installed\r\n \t\r\nPackage: kics\r\nStatus: install ok unpacked\r\n",
			names: []string{"kesl", "kics"},
		},
		{
			name:  "field names are case-insensitive",
			in:    "package: kesl\nSTATUS: install ok installed\n",
			names: []string{"kesl"},
		},
		{
			// The line is skipped; its stanza and the ones after it count.
			name: "line longer than the limit",
			in: good + "\nPackage: kesl-gui\nStatus: install ok installed\nDescription: " +
				strings.Repeat("x", maxDpkgLine) + "\n\nPackage: klnagent64\nStatus: install ok installed\n",
			problems: []Problem{{7, "line longer than 1048576 bytes, skipped"}},
			names:    []string{"kesl", "kesl-gui", "klnagent64"},
		},
		{
			name:     "overlong last line without a newline",
			in:       good + "\nPackage: kesl-gui\nStatus: install ok installed\nDescription: " + strings.Repeat("x", maxDpkgLine),
			problems: []Problem{{7, "line longer than 1048576 bytes, skipped"}, {7, "file ends in the middle of a line (truncated?)"}},
			names:    []string{"kesl", "kesl-gui"},
		},
		{
			name:  "empty file",
			in:    "",
			names: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, err := parseDpkgStatus(strings.NewReader(tc.in), dpkgStatusFile)
			var names []string
			for _, p := range pkgs {
				names = append(names, p.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.names, ",") {
				t.Errorf("packages = %v, want %v", names, tc.names)
			}
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			pe := dpkgParseError(t, err, dpkgStatusFile)
			if len(pe.Problems) != len(tc.problems) {
				t.Fatalf("problems = %+v, want %+v", pe.Problems, tc.problems)
			}
			for i, p := range pe.Problems {
				if p != tc.problems[i] {
					t.Errorf("problem %d = %+v, want %+v", i, p, tc.problems[i])
				}
			}
		})
	}
}

func TestParseErrorCapsProblems(t *testing.T) {
	// 25 lines that are not fields, in one stanza with no Package:
	// 25 + 1 problems.
	in := strings.Repeat("not a field\n", 25)
	pkgs, err := parseDpkgStatus(strings.NewReader(in), dpkgStatusFile)
	if len(pkgs) != 0 {
		t.Errorf("got %d packages, want 0", len(pkgs))
	}
	pe := dpkgParseError(t, err, dpkgStatusFile)
	if len(pe.Problems) != maxProblems || pe.More != 16 {
		t.Fatalf("kept %d problems, more %d; want %d and 16", len(pe.Problems), pe.More, maxProblems)
	}
	for i, p := range pe.Problems {
		if p.Line != i+1 {
			t.Errorf("problem %d at line %d, want %d", i, p.Line, i+1)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `var/lib/dpkg/status: line 1: expected "Field: value", got "not a field"; var/lib/dpkg/status: line 2: `) {
		t.Errorf("message starts %q", clip(msg, 120))
	}
	if !strings.HasSuffix(msg, "; and 16 more problems") {
		t.Errorf("message ends %q, want the count of the rest", msg[max(0, len(msg)-60):])
	}

	var empty ParseError
	if empty.orNil() != nil {
		t.Error("orNil of an empty ParseError is not nil")
	}
}
