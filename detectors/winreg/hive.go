package winreg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf16"
)

// This file reads registry hive files (the "regf" format of
// Windows NT and later), as laid out in Maxim Suhanov's format notes
// (github.com/msuhanov/regf). It is written here rather than taken from
// www.velocidex.com/golang/regparser because a scanner of untrusted
// images must survive any file: regparser recurses without limit through
// "ri" index lists (a list that names itself overflows the stack, which
// Go cannot recover from), reads value data a byte at a time for as many
// bytes as a 31-bit length field claims (a hang on a corrupt length), and
// reports corruption as an empty result rather than an error. Here every
// offset and length is checked against the file and the cell that holds
// it, index lists are followed one level deep as the format allows, so
// the work done is bounded by the file's size, and corruption is an error
// naming the key.

const (
	baseBlockSize = 4096
	// maxValueSize bounds one value's data. Real values are far smaller;
	// a larger claim is corruption or an attack.
	maxValueSize = 1 << 20
	// bigDataSegment is the payload of one "db" segment.
	bigDataSegment = 16344

	flagCompName      = 0x0020 // key name stored as Latin-1
	flagValueCompName = 0x0001 // value name stored as Latin-1
)

// ErrNotHive is returned for a file that is not a registry hive.
var ErrNotHive = errors.New("not a registry hive (no regf signature)")

// hive is an open hive file. It is safe for concurrent use.
type hive struct {
	r     io.ReaderAt
	cache blockCache
	// end is the end of the hive bins, as an offset from the first bin.
	end uint32
	// minor is the format's minor version (3 to 6).
	minor uint32
	// dirty is set when the header shows unfinished writes (see
	// hivelog.go): Windows was writing the hive when the image was taken.
	dirty bool
}

// OpenHive parses a registry hive file (regf). prefix is how Path shows
// the hive's root key ("HKLM\SOFTWARE").
func OpenHive(r io.ReaderAt, size int64, prefix string) (Key, error) {
	h, root, err := openHive(r, size)
	if err != nil {
		return nil, err
	}
	return &hiveKey{h: h, off: root, path: prefix}, nil
}

func openHive(r io.ReaderAt, size int64) (*hive, uint32, error) {
	var hdr [512]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, ErrNotHive
		}
		return nil, 0, fmt.Errorf("reading hive header: %w", err)
	}
	if !bytes.Equal(hdr[:4], []byte("regf")) {
		return nil, 0, ErrNotHive
	}
	le := binary.LittleEndian
	major, minor := le.Uint32(hdr[20:]), le.Uint32(hdr[24:])
	if major != 1 || minor < 2 || minor > 6 {
		return nil, 0, fmt.Errorf("unsupported hive format version %d.%d", major, minor)
	}
	h := &hive{r: r, minor: minor, dirty: dirtyHive(hdr[:])}
	h.end = le.Uint32(hdr[40:])
	if avail := size - baseBlockSize; avail < int64(h.end) {
		// A truncated copy: read what is there, and let offsets beyond
		// it fail as corruption.
		h.end = uint32(max(avail, 0))
	}
	root := le.Uint32(hdr[36:])
	if _, err := h.keyNode(root); err != nil {
		return nil, 0, fmt.Errorf("root key: %w", err)
	}
	return h, root, nil
}

// cell reads the cell at off (relative to the first hive bin) and returns
// its payload.
func (h *hive) cell(off uint32) ([]byte, error) {
	if off%8 != 0 || uint64(off)+4 > uint64(h.end) {
		return nil, fmt.Errorf("cell offset %#x is outside the hive", off)
	}
	var sz [4]byte
	if err := h.cache.readAt(h.r, sz[:], baseBlockSize+int64(off)); err != nil {
		return nil, fmt.Errorf("cell %#x: %w", off, err)
	}
	n := int64(int32(binary.LittleEndian.Uint32(sz[:])))
	if n < 0 {
		n = -n // allocated cells have negative sizes
	}
	if n < 8 || int64(off)+n > int64(h.end) {
		return nil, fmt.Errorf("cell %#x has a bad size %d", off, n)
	}
	buf := make([]byte, n-4)
	if err := h.cache.readAt(h.r, buf, baseBlockSize+int64(off)+4); err != nil {
		return nil, fmt.Errorf("cell %#x: %w", off, err)
	}
	return buf, nil
}

// blockCache keeps recently read parts of a hive in memory: a key's
// values and subkeys sit close together, and reading each small cell
// with its own system call made an offline scan three times slower. It
// holds at most maxCachedBlocks blocks.
type blockCache struct {
	mu     sync.Mutex
	blocks map[int64][]byte
}

const (
	cacheBlockSize  = 64 << 10
	maxCachedBlocks = 256 // 16 MiB
)

// readAt fills p from offset off, as io.ReaderAt does, through the cache.
func (c *blockCache) readAt(r io.ReaderAt, p []byte, off int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(p) > 0 {
		start := off - off%cacheBlockSize
		b, err := c.block(r, start)
		if err != nil {
			return err
		}
		i := int(off - start)
		if i >= len(b) {
			return io.ErrUnexpectedEOF
		}
		n := copy(p, b[i:])
		p, off = p[n:], off+int64(n)
	}
	return nil
}

func (c *blockCache) block(r io.ReaderAt, start int64) ([]byte, error) {
	if b, ok := c.blocks[start]; ok {
		return b, nil
	}
	if c.blocks == nil || len(c.blocks) >= maxCachedBlocks {
		c.blocks = map[int64][]byte{}
	}
	b := make([]byte, cacheBlockSize)
	n, err := r.ReadAt(b, start)
	if n == 0 && err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	c.blocks[start] = b[:n]
	return b[:n], nil
}

// keyNode is a parsed "nk" cell.
type keyNode struct {
	name                 string
	subkeyCount, subkeys uint32
	valueCount, values   uint32
}

func (h *hive) keyNode(off uint32) (*keyNode, error) {
	b, err := h.cell(off)
	if err != nil {
		return nil, err
	}
	if len(b) < 76 || string(b[:2]) != "nk" {
		return nil, fmt.Errorf("cell %#x is not a key", off)
	}
	le := binary.LittleEndian
	n := &keyNode{
		subkeyCount: le.Uint32(b[20:]), subkeys: le.Uint32(b[28:]),
		valueCount: le.Uint32(b[36:]), values: le.Uint32(b[40:]),
	}
	nameLen := int(le.Uint16(b[72:]))
	if 76+nameLen > len(b) {
		return nil, fmt.Errorf("key at %#x: name runs past its cell", off)
	}
	n.name = decodeName(b[76:76+nameLen], le.Uint16(b[2:])&flagCompName != 0)
	return n, nil
}

// decodeName decodes a key or value name: Latin-1 when compressed,
// UTF-16LE otherwise.
func decodeName(b []byte, compressed bool) string {
	if !compressed {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u))
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// children returns the offsets of a key's subkeys. Index lists are li, lf
// and lh (leaves) and ri (a list of leaves, never of other ri lists).
func (h *hive) children(n *keyNode) ([]uint32, error) {
	if n.subkeyCount == 0 || n.subkeys == 0xFFFFFFFF {
		return nil, nil
	}
	var out []uint32
	if err := h.indexList(n.subkeys, true, &out); err != nil {
		return out, err
	}
	if uint32(len(out)) != n.subkeyCount {
		return out, fmt.Errorf("key %q lists %d subkeys but its index holds %d", n.name, n.subkeyCount, len(out))
	}
	return out, nil
}

func (h *hive) indexList(off uint32, allowRI bool, out *[]uint32) error {
	b, err := h.cell(off)
	if err != nil {
		return err
	}
	if len(b) < 4 {
		return fmt.Errorf("index list %#x is too short", off)
	}
	sig, count := string(b[:2]), int(binary.LittleEndian.Uint16(b[2:]))
	stride := 8
	switch {
	case sig == "li" || (sig == "ri" && allowRI):
		stride = 4
	case sig == "lf" || sig == "lh":
	default:
		return fmt.Errorf("cell %#x is not a subkey index (%q)", off, sig)
	}
	if 4+count*stride > len(b) {
		return fmt.Errorf("index list %#x: %d entries run past its cell", off, count)
	}
	for i := range count {
		o := binary.LittleEndian.Uint32(b[4+i*stride:])
		if sig == "ri" {
			if err := h.indexList(o, false, out); err != nil {
				return err
			}
			continue
		}
		*out = append(*out, o)
	}
	return nil
}

// valueOffsets returns the offsets of a key's value cells.
func (h *hive) valueOffsets(n *keyNode) ([]uint32, error) {
	if n.valueCount == 0 || n.values == 0xFFFFFFFF {
		return nil, nil
	}
	b, err := h.cell(n.values)
	if err != nil {
		return nil, err
	}
	if uint64(n.valueCount)*4 > uint64(len(b)) {
		return nil, fmt.Errorf("key %q: value list of %d runs past its cell", n.name, n.valueCount)
	}
	out := make([]uint32, n.valueCount)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out, nil
}

// value reads one "vk" cell with its data.
func (h *hive) value(off uint32) (Value, error) {
	b, err := h.cell(off)
	if err != nil {
		return Value{}, err
	}
	if len(b) < 20 || string(b[:2]) != "vk" {
		return Value{}, fmt.Errorf("cell %#x is not a value", off)
	}
	le := binary.LittleEndian
	nameLen := int(le.Uint16(b[2:]))
	if 20+nameLen > len(b) {
		return Value{}, fmt.Errorf("value at %#x: name runs past its cell", off)
	}
	v := Value{
		Name: decodeName(b[20:20+nameLen], le.Uint16(b[16:])&flagValueCompName != 0),
		Type: le.Uint32(b[12:]),
	}
	size, dataOff := le.Uint32(b[4:]), le.Uint32(b[8:])
	if size&0x80000000 != 0 {
		// Up to four bytes are kept in the offset field itself.
		size &^= 0x80000000
		v.Data = append([]byte(nil), b[8:8+min(size, 4)]...)
		return v, nil
	}
	v.Data, err = h.valueData(dataOff, size)
	if err != nil {
		return v, fmt.Errorf("value %q: %w", v.Name, err)
	}
	return v, nil
}

func (h *hive) valueData(off, size uint32) ([]byte, error) {
	if size == 0 {
		return nil, nil
	}
	if size > maxValueSize {
		return nil, fmt.Errorf("data of %d bytes is more than the %d allowed", size, maxValueSize)
	}
	b, err := h.cell(off)
	if err != nil {
		return nil, err
	}
	if size > bigDataSegment && h.minor > 3 && len(b) >= 8 && string(b[:2]) == "db" {
		return h.bigData(b, size)
	}
	if int(size) > len(b) {
		return nil, fmt.Errorf("data of %d bytes runs past its cell", size)
	}
	return b[:size], nil
}

// bigData joins the segments of a "db" record.
func (h *hive) bigData(db []byte, size uint32) ([]byte, error) {
	count := int(binary.LittleEndian.Uint16(db[2:]))
	list, err := h.cell(binary.LittleEndian.Uint32(db[4:]))
	if err != nil {
		return nil, err
	}
	if count*4 > len(list) {
		return nil, fmt.Errorf("big data segment list of %d runs past its cell", count)
	}
	out := make([]byte, 0, size)
	for i := 0; i < count && uint32(len(out)) < size; i++ {
		seg, err := h.cell(binary.LittleEndian.Uint32(list[4*i:]))
		if err != nil {
			return nil, err
		}
		n := min(len(seg), bigDataSegment, int(size)-len(out))
		out = append(out, seg[:n]...)
	}
	if uint32(len(out)) != size {
		return out, fmt.Errorf("big data holds %d of its %d bytes", len(out), size)
	}
	return out, nil
}

// hiveKey is a key of a hive file.
type hiveKey struct {
	h    *hive
	off  uint32
	path string
	// kids caches the subkeys once listed, so that listing a key and then
	// opening each subkey (what every detector does) costs one pass.
	kids    []child
	byName  map[string]int // lower-case name -> index in kids
	kidsErr error
	listed  bool
}

type child struct {
	name string
	off  uint32
}

func (k *hiveKey) Path() string { return k.path }
func (k *hiveKey) Close() error { return nil }

func (k *hiveKey) Open(p string) (Key, error) {
	cur := k
	for _, elem := range strings.Split(p, `\`) {
		if elem == "" {
			continue
		}
		next, err := cur.child(elem)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	if cur == k {
		return &hiveKey{h: k.h, off: k.off, path: k.path}, nil
	}
	return cur, nil
}

// child finds a direct subkey by name, without regard to case.
func (k *hiveKey) child(name string) (*hiveKey, error) {
	kids, err := k.children()
	if i, ok := k.byName[strings.ToLower(name)]; ok {
		c := kids[i]
		return &hiveKey{h: k.h, off: c.off, path: k.path + `\` + c.name}, nil
	}
	if err != nil {
		// The key may be among those that could not be read.
		return nil, err
	}
	return nil, fmt.Errorf("%s\\%s: %w", k.path, name, ErrNotExist)
}

func (k *hiveKey) children() ([]child, error) {
	if k.listed {
		return k.kids, k.kidsErr
	}
	k.listed = true
	n, err := k.h.keyNode(k.off)
	if err != nil {
		k.kidsErr = k.wrap(err)
		return nil, k.kidsErr
	}
	offs, err := k.h.children(n)
	errs := []error{err}
	for _, o := range offs {
		c, cerr := k.h.keyNode(o)
		if cerr != nil {
			errs = append(errs, cerr)
			continue
		}
		k.kids = append(k.kids, child{c.name, o})
	}
	k.byName = make(map[string]int, len(k.kids))
	for i, c := range k.kids {
		if _, dup := k.byName[strings.ToLower(c.name)]; !dup {
			k.byName[strings.ToLower(c.name)] = i
		}
	}
	k.kidsErr = k.wrap(errors.Join(errs...))
	return k.kids, k.kidsErr
}

func (k *hiveKey) Subkeys() ([]string, error) {
	kids, err := k.children()
	names := make([]string, len(kids))
	for i, c := range kids {
		names[i] = c.name
	}
	return names, err
}

func (k *hiveKey) Values() ([]Value, error) {
	n, err := k.h.keyNode(k.off)
	if err != nil {
		return nil, k.wrap(err)
	}
	offs, err := k.h.valueOffsets(n)
	errs := []error{err}
	vals := make([]Value, 0, len(offs))
	for _, o := range offs {
		v, verr := k.h.value(o)
		if verr != nil {
			errs = append(errs, verr)
			continue
		}
		vals = append(vals, v)
	}
	return vals, k.wrap(errors.Join(errs...))
}

func (k *hiveKey) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", k.path, err)
}
