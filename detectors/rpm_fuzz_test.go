package detectors

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzRPMDB feeds arbitrary bytes to detectRPM as an rpm database: the
// first byte picks the file name (rpmBackends[b%3]), the rest is the
// file. go-rpmdb picks its backend by content, so any name reaches any
// backend. Seeds: the three fixtures, and in testdata/fuzz/FuzzRPMDB
// one-package databases cut from them, with damaged and hostile
// variants. The one-package files: ndb, the fixture's slot page with
// only its smallest package, then that blob (ndb-legacy-header: a
// 4-tag header without a region instead); bdb, db5.3_load of that
// header (and key 0) with 512-byte pages; sqlite, the fixture with only
// that row and table Packages, VACUUMed with 512-byte pages.
//
// BANWATCH_FUZZ_RPM=sqlite, ndb or bdb keeps the fuzzer to one format;
// give each format a cache of its own (-args -test.fuzzcachedir=DIR), or
// most runs go to other formats' inputs, skipped.
func FuzzRPMDB(f *testing.F) {
	for i, fx := range []string{rpmFixtureSQLite, rpmFixtureNDB, rpmFixtureBDB} {
		b, err := os.ReadFile(fx)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, b...))
	}
	only := os.Getenv("BANWATCH_FUZZ_RPM")
	f.Fuzz(func(t *testing.T, data []byte) {
		if only != "" && len(data) > 0 && rpmFormat(data[1:]) != only {
			t.Skip("another format")
		}
		out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		var run rpmRun
		withStdout(out, func() { run = runRPMInput(t, data) })
		took := time.Since(start)
		runtime.ReadMemStats(&after)

		if err := run.check(); err != nil {
			t.Fatal(err)
		}
		if fi, err := out.Stat(); err != nil || fi.Size() != 0 {
			b, _ := os.ReadFile(out.Name())
			t.Fatalf("wrote to stdout: %q", clip(string(b), 200))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20+16*uint64(len(data)) {
			t.Fatalf("allocated %d MiB for %d bytes", alloc>>20, len(data))
		}
		if took > 10*time.Second {
			t.Fatalf("took %v", took)
		}
	})
}

// rpmRun is one input through detectRPM.
type rpmRun struct {
	db, tmp string
	items   []Item
	err     error
}

// runRPMInput runs detectRPM on a root holding data[1:] as the database
// that data[0] names.
func runRPMInput(t testing.TB, data []byte) rpmRun {
	t.Helper()
	if len(data) == 0 {
		data = []byte{0}
	}
	r := rpmRun{db: "var/lib/rpm/" + rpmBackends[int(data[0])%len(rpmBackends)], tmp: t.TempDir()}
	root := fstest.MapFS{r.db: {Data: data[1:], Mode: 0o644}}
	r.items, r.err = detectRPM(context.Background(), &Env{Root: root, TempDir: r.tmp})
	return r
}

// check returns what is wrong with a run, whatever its input: an error
// must name the database, not the copy, and come from our check (an
// error from go-rpmdb may leave its reader goroutine blocked); an item
// must be a named package read from the database.
func (r rpmRun) check() error {
	if r.err != nil {
		msg := r.err.Error()
		switch {
		case !strings.HasPrefix(msg, r.db+": "):
			return fmt.Errorf("error does not start with %s: %q", r.db, clip(msg, 300))
		case strings.Contains(msg, r.tmp):
			return fmt.Errorf("error names the temporary copy: %q", clip(msg, 300))
		case !errors.Is(r.err, errRPMUnsafe):
			return fmt.Errorf("go-rpmdb failed on a file the check passed: %q", clip(msg, 300))
		}
	}
	for _, it := range r.items {
		if it.Name == "" || it.Path != r.db || it.Kind != KindPackage {
			return fmt.Errorf("bogus item %+v", it)
		}
	}
	if left := hostDirNamesErr(r.tmp); len(left) != 0 {
		return fmt.Errorf("temporary copies left: %q", left)
	}
	return nil
}

// rpmFormat is the format go-rpmdb would pick for b.
func rpmFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, sqliteMagic):
		return "sqlite"
	case len(b) >= 4 && binary.LittleEndian.Uint32(b) == ndbHeaderMagic:
		return "ndb"
	}
	return "bdb"
}

// withStdout runs fn with os.Stdout going to w.
func withStdout(w *os.File, fn func()) {
	old := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = old }()
	fn()
}

// hostDirNamesErr lists dir, or says why it cannot.
func hostDirNamesErr(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}
