package detectors

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
)

// Facts about the fixtures that the tests below patch: see
// testdata/rpm/README.md, and rpm_check.go for the formats.
const (
	ndbFixtureFree  = 11   // the first free slot: 11 packages fill the first ones
	ndbFixtureBlob1 = 4096 // blob of package 1, the first slot's
	bdbFixturePage  = 4096
)

// Mutated fixtures and seeds, some hundreds, through detectRPM in one
// batch: each result keeps rpmRun's invariants, nothing reaches stdout,
// and no goroutine is left behind (go-rpmdb leaves its reader blocked
// when it fails part way).
func TestDetectRPMMutants(t *testing.T) {
	inputs := rpmMutants(t)
	for _, b := range rpmSeedInputs(t)[:3] { // warm up: whatever starts lazily, starts now
		runRPMInput(t, b)
	}
	runtime.GC()
	before := runtime.NumGoroutine()
	refused := 0
	out := captureStdout(t, func() {
		for i, in := range inputs {
			run := runRPMInput(t, in)
			if err := run.check(); err != nil {
				t.Errorf("input %d (%s, %d bytes): %v", i, run.db, len(in), err)
			}
			if run.err != nil {
				refused++
			}
		}
	})
	if out != "" {
		t.Errorf("written to stdout: %q", clip(out, 300))
	}
	if after := settledGoroutines(before + 2); after > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before %d inputs, %d after:\n%s", before, len(inputs), after, buf[:runtime.Stack(buf, true)])
	}
	t.Logf("%d inputs, %d refused", len(inputs), refused)
}

// settledGoroutines waits up to 5 s for the goroutine count to come down
// to want (database/sql ends some of its own a moment after Close) and
// returns it.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

// rpmMutants returns each seed input, and from each: truncations, bit
// flips, and 32-bit words overwritten with extreme values in either byte
// order (the formats' counts, offsets and lengths are 32-bit words).
func rpmMutants(t *testing.T) [][]byte {
	extremes := []uint32{0, 1, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff, 0x10000}
	rng := rand.New(rand.NewPCG(1, 2))
	var out [][]byte
	for _, base := range rpmSeedInputs(t) {
		out = append(out, base)
		if len(base) < 8 {
			continue
		}
		for range 4 {
			n := 1 + rng.IntN(len(base)-1)
			out = append(out, base[:n:n])
		}
		for range 10 {
			m := bytes.Clone(base)
			m[1+rng.IntN(len(m)-1)] ^= 1 << rng.IntN(8)
			out = append(out, m)
		}
		for range 10 {
			m := bytes.Clone(base)
			i, v := 1+rng.IntN(len(m)-4), extremes[rng.IntN(len(extremes))]
			if rng.IntN(2) == 0 {
				binary.BigEndian.PutUint32(m[i:], v)
			} else {
				binary.LittleEndian.PutUint32(m[i:], v)
			}
			out = append(out, m)
		}
	}
	return out
}

// rpmSeedInputs returns FuzzRPMDB's seeds: the fixtures (sqlite, ndb,
// bdb, in that order), then testdata/fuzz/FuzzRPMDB.
func rpmSeedInputs(t *testing.T) [][]byte {
	t.Helper()
	var in [][]byte
	for i, fx := range []string{rpmFixtureSQLite, rpmFixtureNDB, rpmFixtureBDB} {
		in = append(in, append([]byte{byte(i)}, rpmFixtureBytes(t, fx)...))
	}
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzRPMDB", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("seed corpus: %d files, %v", len(files), err)
	}
	for _, name := range files {
		in = append(in, readFuzzSeed(t, name))
	}
	return in
}

// readFuzzSeed reads a "go test fuzz v1" file holding one []byte.
func readFuzzSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a one-value fuzz seed", name)
	}
	lit, ok := strings.CutPrefix(strings.TrimSpace(lines[1]), "[]byte(")
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if !ok || err != nil {
		t.Fatalf("%s: value is not a []byte literal: %v", name, err)
	}
	return []byte(s)
}

func rpmFixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// captureStdout returns what fn writes to os.Stdout.
func captureStdout(t testing.TB, fn func()) (out string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		done <- b
	}()
	defer func() { // also when fn calls t.Fatal
		w.Close()
		out = string(<-done)
	}()
	withStdout(w, fn)
	return ""
}

// rpmRefusal is a database the check must refuse.
type rpmRefusal struct {
	name string
	file string // the database's name, one of rpmBackends
	data []byte
	want string // in the error
}

// Each check refuses what it exists for, with an error naming the
// database; go-rpmdb never sees the file, so nothing reaches stdout and
// nothing big is allocated.
func TestDetectRPMRefuses(t *testing.T) {
	var tests []rpmRefusal
	tests = append(tests, ndbRefusals(t)...)
	tests = append(tests, bdbRefusals(t)...)
	tests = append(tests, sqliteRefusals(t)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]byte{byte(slices.Index(rpmBackends, tt.file))}, tt.data...)
			var run rpmRun
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			out := captureStdout(t, func() { run = runRPMInput(t, in) })
			runtime.ReadMemStats(&after)
			if run.err == nil {
				t.Fatalf("no error; %d items", len(run.items))
			}
			if err := run.check(); err != nil {
				t.Error(err)
			}
			if !strings.Contains(run.err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", run.err, tt.want)
			}
			if out != "" {
				t.Errorf("written to stdout: %q", out)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}

func ndbRefusals(t *testing.T) []rpmRefusal {
	fx := rpmFixtureBytes(t, rpmFixtureNDB)
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(fx)
		f(b)
		return b
	}
	le32 := binary.LittleEndian.PutUint32
	slot := func(i int) int { return 32 + ndbSlotSize*i }
	return []rpmRefusal{
		{"ndb: bad magic in a free slot", "Packages.db",
			patch(func(b []byte) { le32(b[slot(ndbFixtureFree):], 0) }), "ndb slot 11: bad magic 0x0"},
		{"ndb: blob length 0xFFFFFFF0", "Packages.db",
			patch(func(b []byte) { le32(b[ndbFixtureBlob1+12:], 0xfffffff0) }), "4294967280 bytes, over the"},
		{"ndb: blob runs past the end", "Packages.db",
			patch(func(b []byte) { le32(b[ndbFixtureBlob1+12:], uint32(len(b))) }), "run past the end"},
		{"ndb: blob header past the end", "Packages.db",
			patch(func(b []byte) { le32(b[slot(0)+8:], 0xffffffff) }), "past the end of the file"},
		{"ndb: bad blob magic", "Packages.db",
			patch(func(b []byte) { le32(b[ndbFixtureBlob1:], 0) }), "blob at 4096: bad magic"},
		{"ndb: blob of another package", "Packages.db",
			patch(func(b []byte) { le32(b[ndbFixtureBlob1+4:], 2) }), "belongs to package 2"},
		{"ndb: format version 1", "Packages.db", patch(func(b []byte) { le32(b[4:], 1) }), "format version 1"},
		{"ndb: no slot pages", "Packages.db", patch(func(b []byte) { le32(b[12:], 0) }), "0 slot pages"},
		{"ndb: 4096 slot pages", "Packages.db", patch(func(b []byte) { le32(b[12:], 4096) }), "4096 slot pages"},
		{"ndb: slot pages past the end", "Packages.db", patch(func(b []byte) { le32(b[12:], 100) }), "need 409600 bytes"},
		{"ndb: every free slot shares blob 1", "Packages.db", patch(func(b []byte) {
			for i := ndbFixtureFree; i < ndbPageSize/ndbSlotSize-2; i++ {
				copy(b[slot(i):slot(i+1)], b[slot(0):slot(1)])
			}
		}), "blobs add up to more than the file"},
		{"ndb: header with 2^31-1 entries", "Packages.db",
			patch(func(b []byte) { binary.BigEndian.PutUint32(b[ndbFixtureBlob1+16:], 0x7fffffff) }), "2147483647 index entries"},
		{"ndb: truncated in the slot pages", "Packages.db", fx[:1000], "need 4096 bytes"},
		{"ndb content in a file named Packages", "Packages", patch(func(b []byte) { le32(b[4:], 1) }), "format version 1"},
	}
}

func bdbRefusals(t *testing.T) []rpmRefusal {
	fx := rpmFixtureBytes(t, rpmFixtureBDB)
	items := bdbFixtureItems(t, fx)
	first, second := items[0], items[1]
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(fx)
		f(b)
		return b
	}
	le16, le32 := binary.LittleEndian.PutUint16, binary.LittleEndian.PutUint32
	chain := int(first.page) * bdbFixturePage // the first item's one overflow page
	return []rpmRefusal{
		{"bdb: bad magic", "Packages", patch(func(b []byte) { le32(b[12:], 0) }), "no SQLite, ndb or Berkeley DB hash magic"},
		{"bdb: encrypted", "Packages", patch(func(b []byte) { b[24] = 1 }), "encrypted"},
		{"bdb: btree, not hash", "Packages", patch(func(b []byte) { b[25] = 9 }), "not hash metadata"},
		{"bdb: page size 1000", "Packages", patch(func(b []byte) { le32(b[20:], 1000) }), "page size 1000"},
		{"bdb: more pages than the file", "Packages", patch(func(b []byte) { le32(b[32:], 1000) }), "1001 pages of 4096 bytes"},
		{"bdb: odd index count", "Packages",
			patch(func(b []byte) { le16(b[bdbFixturePage+20:], 7) }), "hash page with 7 index entries"},
		{"bdb: item offset outside the page", "Packages",
			patch(func(b []byte) { le16(b[first.index:], 0xfff0) }), "at offset 65520, outside the page"},
		{"bdb: item runs off the page", "Packages", patch(func(b []byte) {
			le16(b[first.index:], bdbFixturePage-4)
			b[2*bdbFixturePage-4] = bdbOffPageItem
		}), "runs off the page"},
		{"bdb: overflow page loops to itself", "Packages",
			patch(func(b []byte) { le32(b[chain+16:], first.page) }), "holds more than the item's"},
		{"bdb: two items share an overflow page", "Packages",
			patch(func(b []byte) { le32(b[second.item+4:], first.page) }), "already in a chain"},
		{"bdb: overflow page past the last page", "Packages",
			patch(func(b []byte) { le32(b[first.item+4:], 9999) }), "past the last page"},
		{"bdb: chain page not an overflow page", "Packages",
			patch(func(b []byte) { b[chain+25] = bdbHashPage }), "not overflow"},
		{"bdb: last overflow page too long", "Packages",
			patch(func(b []byte) { le16(b[chain+22:], 0xfff0) }), "last page says it holds 65520 bytes"},
		{"bdb: item over the size limit", "Packages",
			patch(func(b []byte) { le32(b[first.item+8:], maxRPMHeader+1) }), "over the 67108864-byte limit"},
		{"bdb: chain shorter than the item", "Packages",
			patch(func(b []byte) { le32(b[first.item+8:], first.length+1) }), "the item says"},
		{"bdb: header with a bad index count", "Packages",
			patch(func(b []byte) { binary.BigEndian.PutUint32(b[chain+bdbPageHeaderSize:], 0) }), "0 index entries"},
	}
}

// bdbItem is an off-page item of the bdb fixture: where its index entry
// and the item are in the file, and what the item says.
type bdbItem struct {
	index, item  int
	page, length uint32
}

// bdbFixtureItems lists the fixture's off-page items, in page order.
func bdbFixtureItems(t *testing.T, b []byte) []bdbItem {
	var items []bdbItem
	for p := 0; p < len(b)/bdbFixturePage; p++ {
		pg := b[p*bdbFixturePage:]
		if pg[25] != bdbHashPage {
			continue
		}
		for i := 1; i < int(binary.LittleEndian.Uint16(pg[20:])); i += 2 {
			idx := bdbPageHeaderSize + 2*i
			off := int(binary.LittleEndian.Uint16(pg[idx:]))
			if pg[off] == bdbOffPageItem {
				items = append(items, bdbItem{p*bdbFixturePage + idx, p*bdbFixturePage + off,
					binary.LittleEndian.Uint32(pg[off+4:]), binary.LittleEndian.Uint32(pg[off+8:])})
			}
		}
	}
	if len(items) != len(rpmFixturePackages) {
		t.Fatalf("bdb fixture: %d off-page items, want %d", len(items), len(rpmFixturePackages))
	}
	return items
}

func sqliteRefusals(t *testing.T) []rpmRefusal {
	fx := rpmFixtureSQLite
	table := "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)"
	loose := "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)"
	return []rpmRefusal{
		{"sqlite: oversized blob", "rpmdb.sqlite",
			sqliteDB(t, "", table, "INSERT INTO Packages (blob) VALUES (zeroblob(67108865))"), "over the 67108864-byte limit"},
		{"sqlite: NULL blob", "rpmdb.sqlite", sqliteDB(t, "", loose, "INSERT INTO Packages VALUES (1, NULL)"), "1 of 1 rows"},
		{"sqlite: text blob", "rpmdb.sqlite", sqliteDB(t, "", loose, "INSERT INTO Packages VALUES (1, 'kesl')"), "hold no blob"},
		{"sqlite: blob too short for a header", "rpmdb.sqlite",
			sqliteDB(t, "", table, "INSERT INTO Packages (blob) VALUES (x'00000001')"), "Packages row 1: header: 4 bytes"},
		{"sqlite: a bad header after eleven good ones", "rpmdb.sqlite",
			sqliteDB(t, fx, "INSERT INTO Packages (blob) VALUES (x'0000000100000000')"), "Packages row 12: header"},
		{"sqlite: Packages is a view", "rpmdb.sqlite", sqliteDB(t, "", `CREATE VIEW Packages AS
			WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT zeroblob(1000000) AS blob FROM r`),
			"Packages is a view"},
		{"sqlite: blob is a generated column", "rpmdb.sqlite", sqliteDB(t, "",
			"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB GENERATED ALWAYS AS (zeroblob(1000000)))",
			"INSERT INTO Packages (hnum) VALUES (1)"), "generated column"},
		{"sqlite: no Packages table", "rpmdb.sqlite", sqliteDB(t, "", "CREATE TABLE Other (blob BLOB)"), "table Packages"},
		{"sqlite: no blob column", "rpmdb.sqlite", sqliteDB(t, "", "CREATE TABLE Packages (hnum INTEGER)"), "column Packages.blob"},
		{"sqlite: damaged", "rpmdb.sqlite", rpmFixtureBytes(t, fx)[:64<<10], "malformed"},
	}
}

// sqliteDB returns an SQLite database made by stmts, on a copy of base
// if base is not "".
func sqliteDB(t *testing.T, base string, stmts ...string) []byte {
	t.Helper()
	name := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	if base != "" {
		if err := os.WriteFile(name, rpmFixtureBytes(t, base), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := openTestSQLite(t, name)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return rpmFixtureBytes(t, name)
}

// openTestSQLite opens name read-write with one connection, so that
// per-connection pragmas hold for every statement.
func openTestSQLite(t *testing.T, name string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", name)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// A live rpm database keeps recent transactions in rpmdb.sqlite-wal.
// go-rpmdb reads them; the check must see the same rows.
func TestDetectRPMSQLiteWAL(t *testing.T) {
	tests := []struct {
		name    string
		change  string // a transaction left in the WAL
		want    int    // packages read
		wantErr string
	}{
		{name: "a package removed", change: "DELETE FROM Packages WHERE hnum = 1", want: len(rpmFixturePackages) - 1},
		{name: "a header damaged", change: "UPDATE Packages SET blob = x'0000000100000000' WHERE hnum = 1",
			wantErr: "Packages row 1: header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, wal := sqliteWithWAL(t, tt.change)
			root := fstest.MapFS{"var/lib/rpm/rpmdb.sqlite": {Data: db}, "var/lib/rpm/rpmdb.sqlite-wal": {Data: wal}}
			items, err := detectRPM(context.Background(), &Env{Root: root, TempDir: t.TempDir()})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(items) != tt.want {
				t.Fatalf("%d items, %v; want %d, no error", len(items), err, tt.want)
			}
		})
	}
}

// sqliteWithWAL returns the sqlite fixture and a WAL holding change.
func sqliteWithWAL(t *testing.T, change string) (db, wal []byte) {
	name := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	if err := os.WriteFile(name, rpmFixtureBytes(t, rpmFixtureSQLite), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := openTestSQLite(t, name)
	for _, s := range []string{"PRAGMA journal_mode=WAL", "PRAGMA wal_autocheckpoint=0", change} {
		if _, err := conn.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// Read while the connection is open: closing it would checkpoint.
	db, wal = rpmFixtureBytes(t, name), rpmFixtureBytes(t, name+"-wal")
	if len(wal) == 0 {
		t.Fatal("the change did not stay in the WAL")
	}
	return db, wal
}

// checkRPMHeader on one real header, then on that header with one thing
// wrong each time.
func TestCheckRPMHeader(t *testing.T) {
	fx := rpmFixtureHeader(t)
	tests := []struct {
		name  string
		patch func(h *testHeader)
		want  string // "" for no error
	}{
		{"the fixture's header", func(h *testHeader) {}, ""},
		{"too short", func(h *testHeader) { h.b = h.b[:7] }, "7 bytes, want 8"},
		{"no entries", func(h *testHeader) { h.put(0, 0) }, "0 index entries"},
		{"65536 entries", func(h *testHeader) { h.put(0, 0x10000) }, "65536 index entries"},
		{"data length one more than the blob", func(h *testHeader) { h.put(4, h.dl()+1) }, "the blob has"},
		{"region tag of the wrong type", func(h *testHeader) { h.setEntry(0, 4, rpmTypeString) }, "region tag 63"},
		{"region trailer outside the data", func(h *testHeader) { h.setEntry(0, 8, h.dl()) }, "outside the 1808 data bytes"},
		{"region of no entries", func(h *testHeader) { h.put(h.trailer()+8, 0) }, "region of 0 index bytes"},
		{"region of more entries than the header", func(h *testHeader) { h.put(h.trailer()+8, -67*16) }, "region of 1072 index bytes"},
		{"tag below 100", func(h *testHeader) { h.setEntry(h.find(1006), 0, 99) }, "tag below 100"},
		{"type 0", func(h *testHeader) { h.setEntry(h.find(1006), 4, 0) }, "unknown type"},
		{"type 10", func(h *testHeader) { h.setEntry(h.find(1006), 4, 10) }, "unknown type"},
		{"overlapping data", func(h *testHeader) { h.setEntry(h.find(rpmTagName), 8, 0) }, "overlaps the previous entry"},
		{"misaligned int32", func(h *testHeader) { h.setEntry(h.find(1006), 8, 197) }, "not aligned to 4"},
		{"int32 array past the data", func(h *testHeader) { h.setEntry(h.find(1028), 12, 0x10000000) }, "do not fit"},
		{"2^32-1 strings", func(h *testHeader) { h.setEntry(h.find(100), 12, -1) }, "4294967295 strings"},
		{"a string of count 2", func(h *testHeader) { h.setEntry(h.find(rpmTagName), 12, 2) }, "2 strings"},
		{"a string running off the data", func(h *testHeader) {
			last := h.find(1128) // an int32 at the very end of the data
			h.setEntry(last, 4, rpmTypeString)
			copy(h.data()[h.dl()-4:], "abcd")
		}, "runs off the data"},
		{"entries not adding up to the data length", func(h *testHeader) { h.setEntry(h.find(1028), 12, 6) }, "entries account for"},
		{"name of the wrong type", func(h *testHeader) { h.setEntry(h.find(rpmTagName), 4, rpmTypeStrings) }, "tag 1000 has type 8, want 6"},
		{"summary of the wrong type", func(h *testHeader) { h.setEntry(h.find(rpmTagSummary), 4, rpmTypeStrings) }, "summary has type 8"},
		{"empty name", func(h *testHeader) { h.data()[h.entry(h.find(rpmTagName), 8)] = 0 }, "empty package name"},
		{"no name", func(h *testHeader) { h.setEntry(h.find(rpmTagName), 0, 999) }, "no package name"},
		{"PGP signature too short", func(h *testHeader) {
			i := h.find(261) // a 16-byte binary value
			h.setEntry(i, 0, rpmTagPGP)
			copy(h.data()[h.entry(i, 8):], []byte{0x89, 2, 0x33})
		}, "PGP signature of 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &testHeader{b: bytes.Clone(fx)}
			tt.patch(h)
			_, err := checkRPMHeader(h.b)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// rpmFixtureHeader is the first header of the sqlite fixture: kesl, 66
// entries of which 57 in the immutable region, 1808 data bytes.
func rpmFixtureHeader(t *testing.T) []byte {
	db, err := openSQLite(rpmFixtureSQLite, "mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b []byte
	if err := db.QueryRow("SELECT blob FROM Packages WHERE hnum = 1").Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

// testHeader edits a header blob in place.
type testHeader struct{ b []byte }

func (h *testHeader) put(off int, v int32) { binary.BigEndian.PutUint32(h.b[off:], uint32(v)) }
func (h *testHeader) il() int32            { return int32(binary.BigEndian.Uint32(h.b)) }
func (h *testHeader) dl() int32            { return int32(binary.BigEndian.Uint32(h.b[4:])) }
func (h *testHeader) data() []byte         { return h.b[8+rpmEntrySize*int(h.il()):] }

// entry returns field off (0 tag, 4 type, 8 offset, 12 count) of entry i.
func (h *testHeader) entry(i, off int) int32 {
	return int32(binary.BigEndian.Uint32(h.b[8+rpmEntrySize*i+off:]))
}

func (h *testHeader) setEntry(i, off int, v int32) { h.put(8+rpmEntrySize*i+off, v) }

// trailer is the blob offset of the region trailer.
func (h *testHeader) trailer() int { return 8 + rpmEntrySize*int(h.il()) + int(h.entry(0, 8)) }

// find returns the index of the entry for tag.
func (h *testHeader) find(tag int32) int {
	for i := range int(h.il()) {
		if h.entry(i, 0) == tag {
			return i
		}
	}
	panic("no tag " + strconv.Itoa(int(tag)))
}

// go-rpmdb itself prints to stdout on a bad ndb slot: the hazard that
// the check keeps it from. If this fails after an upgrade, go-rpmdb has
// stopped printing.
func TestGoRPMDBPrintsOnBadSlot(t *testing.T) {
	b := rpmFixtureBytes(t, rpmFixtureNDB)
	binary.LittleEndian.PutUint32(b[32+ndbSlotSize*ndbFixtureFree:], 0)
	name := filepath.Join(t.TempDir(), "Packages.db")
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := captureStdout(t, func() {
		h, err := rpmdb.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		// The bad slot is the last thing sent, so its reader ends.
		if _, err := h.ListPackages(); err == nil {
			t.Error("no error")
		}
	})
	if !strings.Contains(out, "bad slot magic") {
		t.Errorf("stdout %q, want go-rpmdb's \"bad slot magic\"", out)
	}
}

// The check passes every real database that go-rpmdb's own tests read:
// CentOS 5 to 8 and UBI 8 on s390x (Berkeley DB, one big-endian), Fedora
// 35 and CBL-Mariner 2 (SQLite), SLE 15 (ndb). They are read in place,
// in the module cache.
func TestCheckRPMDBRealDatabases(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 250 MB")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to find the module")
	}
	dir, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-rpmdb").Output()
	if err != nil || len(bytes.TrimSpace(dir)) == 0 {
		t.Skipf("go-rpmdb's module directory: %v", err)
	}
	var dbs []string
	for _, b := range rpmBackends {
		found, _ := filepath.Glob(filepath.Join(string(bytes.TrimSpace(dir)), "pkg", "testdata", "*", b))
		dbs = append(dbs, found...)
	}
	if len(dbs) < 10 {
		t.Skipf("only %d databases in go-rpmdb's testdata", len(dbs))
	}
	for _, db := range dbs {
		if err := checkRPMDB(context.Background(), db); err != nil {
			t.Errorf("%s: %v", db, err)
		}
	}
}

// go-rpmdb keeps a PackageInfo per header and a string per NUL of the
// string arrays it splits; rpmHeaders bounds both over a database.
func TestRPMHeadersBudget(t *testing.T) {
	// A legacy header (no region): a name, then base names packed one
	// empty string a byte, the cheapest strings there are.
	packed := func(n int) []byte {
		data := append([]byte("a\x00"), bytes.Repeat([]byte{0}, n-1)...)
		data = append(data, "x\x00"...)
		b := binary.BigEndian.AppendUint32(nil, 2)
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
		for _, e := range [][4]uint32{{rpmTagName, rpmTypeString, 0, 1}, {1117, rpmTypeStrings, 2, uint32(n)}} {
			for _, v := range e {
				b = binary.BigEndian.AppendUint32(b, v)
			}
		}
		return append(b, data...)
	}
	if n, err := checkRPMHeader(packed(1000)); err != nil || n != 1000 {
		t.Fatalf("packed header: %d strings, %v; want 1000", n, err)
	}
	full := rpmHeaders{strings: maxRPMStrings - 1000}
	if err := full.check(packed(1000)); err != nil {
		t.Errorf("strings up to the limit: %v", err)
	}
	if err := full.check(packed(1)); err == nil || !strings.Contains(err.Error(), "strings") {
		t.Errorf("one string over the limit: %v", err)
	}
	many := rpmHeaders{packages: maxRPMPackages}
	if err := many.check(rpmFixtureHeader(t)); err == nil || !strings.Contains(err.Error(), "packages") {
		t.Errorf("one package over the limit: %v", err)
	}
}
