package detectors

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// An rpm header blob (rpm's lib/header.c; docs/manual/hregions.md): il
// and dl, then il index entries of 16 bytes (tag, type, offset, count),
// then dl bytes of data; all big-endian. Real headers start with a
// region tag (61-63) whose 16-byte trailer, in the data, gives the
// number of entries in the region; entries after it ("dribbles") were
// added by rpm after install.
const (
	rpmMaxTags       = 0xffff // rpm's hdrchkTags
	rpmRegionFirst   = 61     // RPMTAG_HEADERIMAGE
	rpmRegionLast    = 63     // RPMTAG_HEADERIMMUTABLE
	rpmMinTag        = 100    // HEADER_I18NTABLE; lower tags are regions
	rpmEntrySize     = 16
	rpmTypeInt16     = 3
	rpmTypeInt32     = 4
	rpmTypeString    = 6
	rpmTypeBin       = 7
	rpmTypeStrings   = 8
	rpmTypeI18N      = 9
	rpmTagPGP        = 259
	rpmTagName       = 1000
	rpmTagSummary    = 1004
	rpmTypeMax       = rpmTypeI18N
	rpmRegionTrailer = 16
)

// rpmTypeSize is the size of one value of each type; -1 marks
// NUL-terminated strings.
var rpmTypeSize = [rpmTypeMax + 1]int64{0, 1, 1, 2, 4, 8, -1, 1, -1, -1}

// rpmTagType is the type go-rpmdb's getNEVRA demands of each tag it
// reads; another type fails the whole package list.
var rpmTagType = map[int32]uint32{
	1000: rpmTypeString, 1001: rpmTypeString, 1002: rpmTypeString, // name, version, release
	1003: rpmTypeInt32, 1008: rpmTypeInt32, 1009: rpmTypeInt32, // epoch, install time, size
	1011: rpmTypeString, 1014: rpmTypeString, 1022: rpmTypeString, // vendor, license, arch
	1028: rpmTypeInt32, 1030: rpmTypeInt16, 1035: rpmTypeStrings, // file sizes, modes, digests
	1037: rpmTypeInt32, 1039: rpmTypeStrings, 1040: rpmTypeStrings, // file flags, users, groups
	1044: rpmTypeString, 1047: rpmTypeStrings, 1049: rpmTypeStrings, // source rpm, provides, requires
	1116: rpmTypeInt32, 1117: rpmTypeStrings, 1118: rpmTypeStrings, // dir indexes, base names, dir names
	5011: rpmTypeInt32, 5096: rpmTypeString, // file digest algorithm, modularity label
	rpmTagPGP: rpmTypeBin,
}

// rpmEntry is an index entry, as go-rpmdb reads it (tag and offset
// signed).
type rpmEntry struct {
	tag   int32
	typ   uint32
	off   int32
	count uint32
}

// rpmHeader is a parsed header blob.
type rpmHeader struct {
	ents []rpmEntry
	data []byte
	lens []int64 // data length of each entry, once checked
}

// rpmHeaders checks the headers of one database, and bounds what
// go-rpmdb will keep of them all: a PackageInfo per header, and a string
// per NUL in the string arrays it splits, which a hostile header can pack
// one per byte (16 bytes of Go string header each).
type rpmHeaders struct{ packages, strings int64 }

const (
	maxRPMPackages = 200_000 // real systems have a few thousand
	// Real headers hold about 1,000 such strings each, 0.01 to 0.03 a
	// byte; 32 Mi strings cost go-rpmdb 512 MiB of string headers.
	maxRPMStrings = 32 << 20
)

func (c *rpmHeaders) check(b []byte) error {
	n, err := checkRPMHeader(b)
	if err != nil {
		return err
	}
	c.packages++
	c.strings += n
	if c.packages > maxRPMPackages || c.strings > maxRPMStrings {
		return fmt.Errorf("over %d packages or %d file and dependency strings", maxRPMPackages, maxRPMStrings)
	}
	return nil
}

// checkRPMHeader refuses a header blob that go-rpmdb's headerImport or
// getNEVRA would fail on, panic on, or spend unbounded time or memory on,
// and returns how many strings getNEVRA will split out of it. go-rpmdb
// allocates il entries before any check, slices entries by the region
// trailer's count unchecked, and walks string arrays count times even
// past their data.
func checkRPMHeader(b []byte) (int64, error) {
	h, err := parseRPMHeader(b)
	var n int64
	if err == nil {
		n, err = h.check()
	}
	if err != nil {
		return 0, fmt.Errorf("header: %w", err)
	}
	return n, nil
}

func parseRPMHeader(b []byte) (*rpmHeader, error) {
	if len(b) < 8 || len(b) > maxRPMHeader {
		return nil, fmt.Errorf("%d bytes, want 8 to %d", len(b), maxRPMHeader)
	}
	il, dl := binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
	if il < 1 || il > rpmMaxTags {
		return nil, fmt.Errorf("%d index entries, want 1 to %d", il, rpmMaxTags)
	}
	// rpm reads a stored header only if it is exactly this size.
	if want := 8 + rpmEntrySize*int64(il) + int64(dl); want != int64(len(b)) {
		return nil, fmt.Errorf("%d entries and %d data bytes make %d bytes, the blob has %d", il, dl, want, len(b))
	}
	h := &rpmHeader{ents: make([]rpmEntry, il), data: b[8+rpmEntrySize*int(il):], lens: make([]int64, il)}
	for i := range h.ents {
		e := b[8+rpmEntrySize*i:]
		h.ents[i] = rpmEntry{
			tag:   int32(binary.BigEndian.Uint32(e)),
			typ:   binary.BigEndian.Uint32(e[4:]),
			off:   int32(binary.BigEndian.Uint32(e[8:])),
			count: binary.BigEndian.Uint32(e[12:]),
		}
	}
	return h, nil
}

// rpmRange is a run of entries that go-rpmdb imports in one go (its
// regionSwab): from index first, n of them.
type rpmRange struct{ first, n int }

func (h *rpmHeader) check() (int64, error) {
	ranges, trailer, err := h.region()
	if err != nil {
		return 0, err
	}
	first := 0
	if trailer > 0 {
		first = 1 // region checked the region tag
	}
	if err := h.checkEntries(first); err != nil {
		return 0, err
	}
	spanned := trailer
	for _, r := range ranges {
		for i := range r.n {
			spanned += h.pad(r.first+i, spanned) + int64(len(h.value(r, i)))
		}
	}
	if spanned != int64(len(h.data)) {
		return 0, fmt.Errorf("entries account for %d data bytes, the header has %d", spanned, len(h.data))
	}
	return h.checkTags(ranges)
}

// region checks the region tag, if the header starts with one, and
// returns the ranges go-rpmdb imports, and the size of the region
// trailer it counts: the region and the dribbles after it, or without a
// region every entry as a legacy header.
func (h *rpmHeader) region() ([]rpmRange, int64, error) {
	e := h.ents[0]
	if e.tag < rpmRegionFirst || e.tag > rpmRegionLast {
		return []rpmRange{{0, len(h.ents)}}, 0, nil
	}
	dl := int64(len(h.data))
	if e.typ != rpmTypeBin || e.count != rpmRegionTrailer {
		return nil, 0, fmt.Errorf("region tag %d: type %d, count %d", e.tag, e.typ, e.count)
	}
	off := int64(e.off)
	if off < 0 || off+rpmRegionTrailer > dl {
		return nil, 0, fmt.Errorf("region trailer at %d, outside the %d data bytes", off, dl)
	}
	// The trailer's offset is minus the size of the region's index.
	size := -int64(int32(binary.BigEndian.Uint32(h.data[off+8:])))
	ril := size / rpmEntrySize
	if size%rpmEntrySize != 0 || ril < 1 || ril > int64(len(h.ents)) {
		return nil, 0, fmt.Errorf("region of %d index bytes in a header of %d entries", size, len(h.ents))
	}
	n := int(ril)
	if e.off == 0 {
		n = len(h.ents) // go-rpmdb's reading of a zero offset
	}
	ranges := []rpmRange{{1, n - 1}}
	if ril < int64(len(h.ents))-1 {
		ranges = append(ranges, rpmRange{n, len(h.ents) - n})
	}
	return ranges, rpmRegionTrailer, nil
}

// checkEntries applies rpm's checks (hdrblobVerifyInfo) to entries from
// first on, go-rpmdb's and stricter: data must not overlap, so the
// string walks of rpm and go-rpmdb stay linear.
func (h *rpmHeader) checkEntries(first int) error {
	var end int64
	for i := first; i < len(h.ents); i++ {
		e := h.ents[i]
		n, err := h.entryLen(e, end)
		if err != nil {
			return fmt.Errorf("entry %d (tag %d, type %d): %w", i, e.tag, e.typ, err)
		}
		h.lens[i] = n
		end = int64(e.off) + n
	}
	return nil
}

// entryLen returns the length of e's data, which must start at or after
// prevEnd.
func (h *rpmHeader) entryLen(e rpmEntry, prevEnd int64) (int64, error) {
	off, dl := int64(e.off), int64(len(h.data))
	switch {
	case e.tag < rpmMinTag:
		return 0, fmt.Errorf("tag below %d", rpmMinTag)
	case e.typ < 1 || e.typ > rpmTypeMax: // type 0 has no data
		return 0, fmt.Errorf("unknown type")
	case off < prevEnd:
		return 0, fmt.Errorf("data at %d overlaps the previous entry's, which ends at %d", off, prevEnd)
	case off >= dl:
		return 0, fmt.Errorf("data at %d, outside the %d data bytes", off, dl)
	}
	size := rpmTypeSize[e.typ]
	if size < 0 {
		return h.stringsLen(e)
	}
	if off%size != 0 {
		return 0, fmt.Errorf("data at %d not aligned to %d", off, size)
	}
	n := size * int64(e.count)
	if n == 0 || off+n > dl {
		return 0, fmt.Errorf("%d values of %d bytes at %d do not fit in %d data bytes", e.count, size, off, dl)
	}
	return n, nil
}

// stringsLen returns the length of e's NUL-terminated strings.
func (h *rpmHeader) stringsLen(e rpmEntry) (int64, error) {
	rest := h.data[e.off:]
	if e.count < 1 || e.typ == rpmTypeString && e.count != 1 || int64(e.count) > int64(len(rest)) {
		return 0, fmt.Errorf("%d strings in %d bytes", e.count, len(rest))
	}
	n := 0
	for i := uint32(0); i < e.count; i++ {
		j := bytes.IndexByte(rest[n:], 0)
		if j < 0 {
			return 0, fmt.Errorf("string %d of %d runs off the data", i, e.count)
		}
		n += j + 1
	}
	return int64(n), nil
}

// value is the data go-rpmdb gives entry i of range r: a string entry
// with another after it in the range spans up to that one's data.
func (h *rpmHeader) value(r rpmRange, i int) []byte {
	e, n := h.ents[r.first+i], h.lens[r.first+i]
	if rpmTypeSize[e.typ] < 0 && i+1 < r.n {
		n = int64(h.ents[r.first+i+1].off) - int64(e.off)
	}
	return h.data[e.off : int64(e.off)+n]
}

// pad is the padding go-rpmdb counts before entry i, at data length n.
func (h *rpmHeader) pad(i int, n int64) int64 {
	if size := rpmTypeSize[h.ents[i].typ]; size > 1 && n%size != 0 {
		return size - n%size
	}
	return 0
}

// checkTags checks the tags go-rpmdb's getNEVRA reads: their types, a
// non-empty name, and a PGP value long enough for the packet it decodes.
// It returns how many strings getNEVRA splits out of string arrays.
func (h *rpmHeader) checkTags(ranges []rpmRange) (int64, error) {
	named, strings := false, int64(0)
	for _, r := range ranges {
		for i := range r.n {
			e, v := h.ents[r.first+i], h.value(r, i)
			want, ok := rpmTagType[e.tag]
			switch {
			case ok && e.typ != want:
				return 0, fmt.Errorf("tag %d has type %d, want %d", e.tag, e.typ, want)
			case e.tag == rpmTagSummary && e.typ != rpmTypeString && e.typ != rpmTypeI18N:
				return 0, fmt.Errorf("summary has type %d", e.typ)
			case e.tag == rpmTagName && v[0] == 0:
				return 0, fmt.Errorf("empty package name")
			case e.tag == rpmTagPGP && len(v) < pgpMinLen(v):
				return 0, fmt.Errorf("PGP signature of %d bytes, too short", len(v))
			}
			named = named || e.tag == rpmTagName
			if ok && want == rpmTypeStrings {
				strings += int64(bytes.Count(bytes.TrimRight(v, "\x00"), []byte{0})) + 1
			}
		}
	}
	if !named {
		return 0, fmt.Errorf("no package name")
	}
	return strings, nil
}

// pgpMinLen is how many bytes go-rpmdb reads from a PGP value that
// starts with v: a 3-byte prefix, then a fixed packet that the second and
// third bytes choose.
func pgpMinLen(v []byte) int {
	if len(v) < 3 {
		return 3
	}
	switch {
	case v[1] == 1 && v[2] == 0x1c:
		return 3 + 24
	case v[1] == 2 && v[2] == 0x33:
		return 3 + 35
	case v[1] == 1 || v[1] == 2:
		return 3 + 17
	}
	return 3
}
