package detectors

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"howett.net/plist"
)

// Property lists are read with howett.net/plist: pure Go, so cross-built
// binaries and offline scans from Linux or Windows read them too, and it
// reads both the XML and the binary form macOS writes.
//
// The library trusts its input more than an image of a stranger's disk
// deserves. Its binary parser follows shared references, so a small file
// can expand into an enormous tree; it recurses once per nesting level and
// scans the whole container stack at each level, so deep nesting is slow
// and costs stack; and it re-panics on out-of-range reads. checkPlistShape
// bounds size, depth and expansion before the library sees the bytes, and
// decodePlist turns any panic left into an error.

const (
	// maxPlistSize is far above any Info.plist, receipt or launchd job.
	maxPlistSize = 4 << 20
	// maxPlistDepth: real plists nest fewer than 20 levels.
	maxPlistDepth = 64
	// maxPlistNodes bounds the decoded tree, counting a shared object
	// once per reference, as the decoder expands it.
	maxPlistNodes = 1 << 20
)

// readPlist decodes the plist file name in fsys into v. Errors name the
// file as the root sees it.
func readPlist(fsys fs.FS, name string, v any) error {
	b, err := readPlistBytes(fsys, name)
	if err != nil {
		return err
	}
	if err := decodePlist(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// readPlistBytes reads at most maxPlistSize bytes of name.
func readPlistBytes(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, namedErr(name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPlistSize+1))
	if err != nil {
		return nil, namedErr(name, err)
	}
	if len(b) > maxPlistSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxPlistSize)
	}
	return b, nil
}

// namedErr makes sure err names the file; fs errors usually already do.
func namedErr(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// decodePlist decodes an XML or binary plist into v.
func decodePlist(b []byte, v any) (err error) {
	if err := checkPlistShape(b); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("plist decoder failed: %v", p)
		}
	}()
	_, err = plist.Unmarshal(b, v)
	return err
}

// plistDict decodes b into a dictionary, the root of every plist read here.
func plistDict(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := decodePlist(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// readPlistDict reads the plist file name as a dictionary.
func readPlistDict(fsys fs.FS, name string) (map[string]any, error) {
	var m map[string]any
	err := readPlist(fsys, name, &m)
	return m, err
}

// checkPlistShape accepts a binary plist whose object graph stays within
// the bounds, or a well-formed XML document whose root element is <plist>.
// Everything else is refused before the library sees it; that also keeps
// the library's fallback parser for old NeXT text plists out of reach.
func checkPlistShape(b []byte) error {
	if bytes.HasPrefix(b, []byte("bplist")) {
		return checkBplist(b)
	}
	return checkXMLPlist(b)
}

func checkXMLPlist(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	depth, seen := 0, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !seen {
				return errors.New("not a property list: no <plist> element")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a property list: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && t.Name.Local != "plist" {
				return fmt.Errorf("not a property list: root element <%s>", t.Name.Local)
			}
			seen = true
			if depth++; depth > maxPlistDepth {
				return fmt.Errorf("nested deeper than %d levels", maxPlistDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// bplistGraph walks a binary plist's object table (format: CoreFoundation's
// CFBinaryPList.c) without decoding values.
type bplistGraph struct {
	b                 []byte
	offSize, refSize  uint64
	numObjects, table uint64
	expanded          []uint32 // decoded size per object, 0 until known
	active            []bool   // on the current path: a cycle if met again
}

func checkBplist(b []byte) error {
	if len(b) < 8+32+1 {
		return errors.New("binary plist: too short")
	}
	t := b[len(b)-32:]
	g := &bplistGraph{
		b:          b,
		offSize:    uint64(t[6]),
		refSize:    uint64(t[7]),
		numObjects: binary.BigEndian.Uint64(t[8:]),
		table:      binary.BigEndian.Uint64(t[24:]),
	}
	top := binary.BigEndian.Uint64(t[16:])
	end := uint64(len(b) - 32)
	switch {
	case g.offSize < 1 || g.offSize > 8 || g.refSize < 1 || g.refSize > 8:
		return errors.New("binary plist: bad integer sizes in trailer")
	case g.table < 8 || g.table >= end || g.numObjects > end:
		return errors.New("binary plist: offset table out of range")
	case g.table+g.numObjects*g.offSize > end:
		return errors.New("binary plist: offset table overruns the trailer")
	case top >= g.numObjects:
		return errors.New("binary plist: top object out of range")
	}
	g.expanded = make([]uint32, g.numObjects)
	g.active = make([]bool, g.numObjects)
	_, err := g.walk(top, 1)
	return err
}

// uint reads an n-byte big-endian integer at off, if it lies before end.
func (g *bplistGraph) uint(off, n, end uint64) (uint64, bool) {
	if off > end || n > end-off {
		return 0, false
	}
	var v uint64
	for _, c := range g.b[off : off+n] {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// walk returns how many values object obj expands into when decoded.
func (g *bplistGraph) walk(obj uint64, depth int) (uint64, error) {
	if depth > maxPlistDepth {
		return 0, fmt.Errorf("binary plist: nested deeper than %d levels", maxPlistDepth)
	}
	if n := g.expanded[obj]; n != 0 {
		return uint64(n), nil
	}
	if g.active[obj] {
		return 0, fmt.Errorf("binary plist: object %d contains itself", obj)
	}
	off, ok := g.uint(g.table+obj*g.offSize, g.offSize, uint64(len(g.b)))
	if !ok || off < 8 || off >= g.table {
		return 0, fmt.Errorf("binary plist: object %d out of range", obj)
	}
	start, n, err := g.children(off)
	if err != nil {
		return 0, err
	}
	g.active[obj] = true
	total := uint64(1)
	for i := range n {
		child, _ := g.uint(start+i*g.refSize, g.refSize, g.table)
		if child >= g.numObjects {
			return 0, fmt.Errorf("binary plist: reference to object %d of %d", child, g.numObjects)
		}
		size, err := g.walk(child, depth+1)
		if err != nil {
			return 0, err
		}
		if total += size; total > maxPlistNodes {
			return 0, fmt.Errorf("binary plist: expands to more than %d values", maxPlistNodes)
		}
	}
	g.active[obj] = false
	g.expanded[obj] = uint32(total)
	return total, nil
}

// children returns where the object references of the container at off
// start and how many there are (none for a scalar), after checking that
// the object stays inside the object area.
func (g *bplistGraph) children(off uint64) (start, n uint64, err error) {
	marker := g.b[off]
	kind, count := marker>>4, uint64(marker&0xf)
	start = off + 1
	if kind >= 0x4 && kind != 0x8 && count == 0xf {
		// The length follows as an integer object: marker 0x1n, 2^n bytes.
		if start >= g.table || g.b[start]>>4 != 0x1 || g.b[start]&0xf > 3 {
			return 0, 0, fmt.Errorf("binary plist: bad length at offset %d", off)
		}
		width := uint64(1) << (g.b[start] & 0xf)
		v, ok := g.uint(start+1, width, g.table)
		if !ok {
			return 0, 0, fmt.Errorf("binary plist: bad length at offset %d", off)
		}
		count, start = v, start+1+width
	}
	if count > g.table { // also keeps count*2 and count*refSize from overflowing
		return 0, 0, fmt.Errorf("binary plist: object at offset %d too long", off)
	}
	var size uint64
	switch kind {
	case 0x4, 0x5, 0x7: // data, ASCII and UTF-8 strings
		size = count
	case 0x6: // UTF-16 string
		size = 2 * count
	case 0xa, 0xc: // array, set
		size = count * g.refSize
	case 0xd: // dictionary: keys, then values
		count *= 2
		size = count * g.refSize
	default:
		return 0, 0, nil
	}
	if start > g.table || size > g.table-start {
		return 0, 0, fmt.Errorf("binary plist: object at offset %d runs past the object area", off)
	}
	if kind < 0xa {
		return 0, 0, nil
	}
	return start, count, nil
}

// plistString returns m[key] if it is a string.
func plistString(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// plistBool returns m[key] if it is a boolean.
func plistBool(m map[string]any, key string) (value, ok bool) {
	value, ok = m[key].(bool)
	return value, ok
}

// plistMap returns m[key] if it is a dictionary.
func plistMap(m map[string]any, key string) map[string]any {
	d, _ := m[key].(map[string]any)
	return d
}

// plistDate returns m[key] as a day, or "" if it is not a date.
func plistDate(m map[string]any, key string) string {
	t, ok := m[key].(time.Time)
	if !ok {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// maxPlistFiles bounds the plists one detector reads, so a root with a
// runaway folder cannot turn a scan into a disk walk.
const maxPlistFiles = 4096

// namesWithExt lists the entries of dir whose names end in ext, as
// root-relative paths in ReadDir's order. A missing dir lists nothing.
func namesWithExt(root fs.FS, dir, ext string) ([]string, error) {
	entries, err := fs.ReadDir(root, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) && len(e.Name()) > len(ext) {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out, err
}

// userDirs returns Users/<user>/<sub> for each folder in Users.
func userDirs(root fs.FS, sub string) []string {
	entries, _ := fs.ReadDir(root, "Users")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, path.Join("Users", e.Name(), sub))
		}
	}
	return out
}

// execUnder reports whether the program a job or bundle names exists
// under root. A bare name is looked up in launchd's default PATH.
func execUnder(root fs.FS, prog string) bool {
	if path.IsAbs(prog) {
		return fileExists(root, strings.TrimPrefix(path.Clean(prog), "/"))
	}
	if strings.Contains(prog, "/") {
		return false // relative to a working directory the scan cannot know
	}
	for _, dir := range []string{"usr/bin", "bin", "usr/sbin", "sbin"} {
		if fileExists(root, path.Join(dir, prog)) {
			return true
		}
	}
	return false
}
