package detectors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"howett.net/plist"
)

// testBplist builds a binary plist of arrays: object i holds references
// to the objects children[i] lists (an empty list is an empty array).
// Object 0 is the top. Offsets and references are 4 bytes wide.
func testBplist(children [][]uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("bplist00")
	offsets := make([]uint32, len(children))
	for i, refs := range children {
		offsets[i] = uint32(buf.Len())
		if len(refs) < 15 {
			buf.WriteByte(0xa0 | byte(len(refs)))
		} else {
			buf.Write([]byte{0xaf, 0x12})
			_ = binary.Write(&buf, binary.BigEndian, uint32(len(refs)))
		}
		_ = binary.Write(&buf, binary.BigEndian, refs)
	}
	table := buf.Len()
	_ = binary.Write(&buf, binary.BigEndian, offsets)
	buf.Write(make([]byte, 6))
	buf.Write([]byte{4, 4})
	_ = binary.Write(&buf, binary.BigEndian, []uint64{uint64(len(children)), 0, uint64(table)})
	return buf.Bytes()
}

// plistChain nests n arrays, each holding the next twice: decoded, it
// expands to 2^n values, though the file grows with n.
func plistChain(n int, twice bool) []byte {
	children := make([][]uint32, n+1)
	for i := range n {
		children[i] = []uint32{uint32(i + 1)}
		if twice {
			children[i] = append(children[i], uint32(i+1))
		}
	}
	return testBplist(children)
}

// plistAttacks are inputs that make the bare library hang, exhaust memory
// or recurse without bound.
func plistAttacks() map[string][]byte {
	wide := make([]uint32, 100_000) // 100 000 references to one array of 100
	for i := range wide {
		wide[i] = 1
	}
	hundred := make([]uint32, 100)
	for i := range hundred {
		hundred[i] = 2
	}
	return map[string][]byte{
		"binary doubling chain": plistChain(40, true),
		"binary wide fan-out":   testBplist([][]uint32{wide, hundred, {}}),
		"binary deep chain":     plistChain(100_000, false),
		"binary self-reference": testBplist([][]uint32{{0}}),
		"binary mutual cycle":   testBplist([][]uint32{{1}, {0}}),
		"xml deep nesting": []byte("<plist>" + strings.Repeat("<array>", 200_000) +
			strings.Repeat("</array>", 200_000) + "</plist>"),
		"text deep nesting": []byte(strings.Repeat("(", 200_000) + strings.Repeat(")", 200_000)),
	}
}

// plistAttackSeeds are the small attacks, as fuzz seeds.
func plistAttackSeeds() [][]byte {
	return [][]byte{
		plistChain(40, true),
		plistChain(70, false),
		testBplist([][]uint32{{0}}),
		testBplist([][]uint32{{1}, {0}}),
		[]byte("<plist>" + strings.Repeat("<array>", 70) + "</plist>"),
	}
}

func TestDecodePlistForms(t *testing.T) {
	want := map[string]any{"Label": "com.kaspersky.kav", "RunAtLoad": true,
		"ProgramArguments": []any{"/bin/kav", "-d"}}
	for _, format := range []int{plist.XMLFormat, plist.BinaryFormat} {
		b, err := plist.Marshal(want, format)
		if err != nil {
			t.Fatal(err)
		}
		got, err := plistDict(b)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, %v; want %v", plist.FormatNames[format], got, err, want)
		}
	}
}

func TestDecodePlistRefuses(t *testing.T) {
	xmlDoc, _ := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.kaspersky.kav"}, plist.XMLFormat)
	binDoc, _ := plist.Marshal(map[string]any{"CFBundleIdentifier": "com.kaspersky.kav"}, plist.BinaryFormat)
	tests := map[string][]byte{
		"empty":              nil,
		"garbage":            []byte("\x00\x01\x02 not a plist"),
		"truncated xml":      xmlDoc[:len(xmlDoc)/2],
		"truncated binary":   binDoc[:len(binDoc)-5],
		"binary header only": []byte("bplist00"),
		"other xml":          []byte(`<?xml version="1.0"?><html><body/></html>`),
		"openstep text":      []byte(`{ CFBundleIdentifier = "com.kaspersky.kav"; }`),
		"array at the root":  []byte(`<plist><array><string>x</string></array></plist>`),
	}
	for name, b := range plistAttacks() {
		tests[name] = b
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			m, err := plistDict(b)
			if err == nil {
				t.Errorf("decoded %v, want an error", m)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// panicker panics inside the library's decoding, with a runtime error
// the library re-panics rather than returning.
type panicker struct{}

func (*panicker) UnmarshalPlist(func(any) error) error {
	var m map[string]int
	m["x"] = 1 // assignment to a nil map
	return nil
}

func TestDecodePlistRecoversPanics(t *testing.T) {
	b, _ := plist.Marshal("x", plist.XMLFormat)
	err := decodePlist(b, new(panicker))
	if err == nil || !strings.Contains(err.Error(), "nil map") {
		t.Fatalf("got %v, want the panic as an error", err)
	}
}

func TestReadPlistErrorsNameTheFile(t *testing.T) {
	good, _ := plist.Marshal(map[string]any{"a": "b"}, plist.XMLFormat)
	padded := append(good, bytes.Repeat([]byte("\n"), maxPlistSize-len(good))...)
	root := fstest.MapFS{
		"ok.plist":      {Data: good},
		"bad.plist":     {Data: []byte("garbage")},
		"big.plist":     {Data: append(padded, '\n')},
		"exact.plist":   {Data: padded},
		"a-folder/x":    {Data: nil},
		"linked.plist":  {Data: []byte("ok.plist"), Mode: fs.ModeSymlink},
		"dangling.link": {Data: []byte("gone.plist"), Mode: fs.ModeSymlink},
	}
	for _, name := range []string{"linked.plist", "exact.plist"} {
		if m, err := readPlistDict(root, name); err != nil || m["a"] != "b" {
			t.Errorf("%s: %v, %v", name, m, err)
		}
	}
	for _, name := range []string{"bad.plist", "big.plist", "missing.plist", "a-folder", "dangling.link"} {
		_, err := readPlistDict(root, name)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	if _, err := readPlistDict(root, "missing.plist"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing.plist: %v, want ErrNotExist", err)
	}
}

// TestBplistGraphBounds checks the shape check's limits at their edges.
func TestBplistGraphBounds(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"depth at the limit", plistChain(maxPlistDepth-1, false), true},
		{"depth past the limit", plistChain(maxPlistDepth, false), false},
		{"doubling within the node limit", plistChain(18, true), true},
		{"doubling past the node limit", plistChain(20, true), false},
		{"shared leaf, not a cycle", testBplist([][]uint32{{1, 2}, {2}, {}}), true},
		{"reference out of range", testBplist([][]uint32{{7}}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkPlistShape(tc.b); (err == nil) != tc.ok {
				t.Errorf("check: %v, want ok=%v", err, tc.ok)
			}
			var v any
			if err := decodePlist(tc.b, &v); (err == nil) != tc.ok {
				t.Errorf("decode: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestPlistFuzzSeeds keeps the checked-in seed corpus decodable in form:
// each file is one []byte value.
func TestPlistFuzzSeeds(t *testing.T) {
	entries, err := os.ReadDir("testdata/fuzz/FuzzPlist")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 4 {
		t.Fatalf("%d seeds, want the XML, binary and truncated ones", len(entries))
	}
	for _, e := range entries {
		b, err := os.ReadFile("testdata/fuzz/FuzzPlist/" + e.Name())
		if err != nil || !bytes.HasPrefix(b, []byte("go test fuzz v1\n[]byte(")) {
			t.Errorf("%s: not a fuzz seed (%v)", e.Name(), err)
		}
	}
}
