package detectors

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The Berkeley DB hash format as rpm used it (Berkeley DB's
// src/dbinc/db_page.h): page 0 is the hash metadata; hash pages hold an
// index of 2-byte item offsets, key then value; a header is a value
// stored off-page, as a 12-byte HOFFPAGE item (type, page number, total
// length) pointing to a chain of overflow pages.
const (
	bdbHashMagic      = 0x061561
	bdbPageHeaderSize = 26
	bdbHashUnsorted   = 2 // hash page type before Berkeley DB 4.6
	bdbOffPageItem    = 3 // HOFFPAGE
	bdbOverflowPage   = 7
	bdbHashMetaPage   = 8
	bdbHashPage       = 13
	bdbOffPageSize    = 12
)

// bdbCheck walks a Berkeley DB file the way go-rpmdb's Read does.
type bdbCheck struct {
	r        io.ReaderAt
	order    binary.ByteOrder
	pageSize int
	// limit bounds in-page offsets plus lengths: go-rpmdb adds them as
	// uint16, which wraps to a bad slice bound on 64 KiB pages.
	limit int
	last  uint32
	// used marks overflow pages already in a chain, so a loop or two
	// items sharing pages are caught.
	used       []bool
	page, ovfl []byte
	blob       []byte
	headers    rpmHeaders
}

// checkBDB checks what go-rpmdb's bdb backend trusts: Open reads the
// metadata; Read reads every page up to the last, indexes hash pages by
// their item offsets unchecked (a panic out of range), follows overflow
// chains without a loop check (an endless loop or endless growth) and
// slices the last overflow page by its stored length (a panic).
func checkBDB(r io.ReaderAt, size int64) error {
	db, err := readBDBMeta(r, size)
	if err != nil {
		return err
	}
	for p := uint32(0); p <= db.last; p++ {
		if err := db.checkPage(p); err != nil {
			return fmt.Errorf("bdb page %d: %w", p, err)
		}
	}
	return nil
}

func readBDBMeta(r io.ReaderAt, size int64) (*bdbCheck, error) {
	if size < 512 {
		return nil, fmt.Errorf("%d bytes: too short for an rpm database", size)
	}
	m := make([]byte, 36)
	if err := readAt(r, m, 0); err != nil {
		return nil, fmt.Errorf("bdb metadata: %w", err)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if order.Uint32(m[12:]) != bdbHashMagic {
		order = binary.BigEndian // a database written on a big-endian host
	}
	ps, last := order.Uint32(m[20:]), order.Uint32(m[32:])
	switch {
	case order.Uint32(m[12:]) != bdbHashMagic:
		return nil, fmt.Errorf("not an rpm database: no SQLite, ndb or Berkeley DB hash magic")
	case m[24] != 0:
		return nil, fmt.Errorf("bdb: encrypted (algorithm %d)", m[24])
	case m[25] != bdbHashMetaPage:
		return nil, fmt.Errorf("bdb: page 0 has type %d, not hash metadata", m[25])
	case ps < 512 || ps > 65536 || ps&(ps-1) != 0:
		return nil, fmt.Errorf("bdb: page size %d", ps)
	}
	// Bounded by 4 GiB too: go-rpmdb computes page offsets in uint32.
	if need := (int64(last) + 1) * int64(ps); need > size || need > 1<<32 {
		return nil, fmt.Errorf("bdb: %d pages of %d bytes, the file has %d bytes", int64(last)+1, ps, size)
	}
	return &bdbCheck{
		r: r, order: order, pageSize: int(ps), limit: min(int(ps), 0xffff), last: last,
		used: make([]bool, int64(last)+1), page: make([]byte, ps), ovfl: make([]byte, ps),
	}, nil
}

// checkPage checks hash page p's index and the headers it points to.
func (db *bdbCheck) checkPage(p uint32) error {
	pg := db.page
	if err := readAt(db.r, pg, int64(p)*int64(db.pageSize)); err != nil {
		return err
	}
	if pg[25] != bdbHashPage && pg[25] != bdbHashUnsorted {
		return nil // go-rpmdb reads headers from hash pages only
	}
	n := int(db.order.Uint16(pg[20:]))
	if n%2 != 0 || bdbPageHeaderSize+2*n > db.limit {
		return fmt.Errorf("hash page with %d index entries", n)
	}
	for i := 1; i < n; i += 2 { // values; keys are the even entries
		off := int(db.order.Uint16(pg[bdbPageHeaderSize+2*i:]))
		if off >= db.pageSize {
			return fmt.Errorf("item %d at offset %d, outside the page", i, off)
		}
		if pg[off] != bdbOffPageItem {
			continue // go-rpmdb skips on-page values
		}
		if off+bdbOffPageSize > db.limit {
			return fmt.Errorf("item %d at offset %d runs off the page", i, off)
		}
		first, length := db.order.Uint32(pg[off+4:]), db.order.Uint32(pg[off+8:])
		blob, err := db.readChain(first, length)
		if err == nil {
			err = db.headers.check(blob)
		}
		if err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	return nil
}

// readChain reads the overflow chain from page first, which must hold
// exactly length bytes.
func (db *bdbCheck) readChain(first, length uint32) ([]byte, error) {
	if length > maxRPMHeader {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", length, maxRPMHeader)
	}
	blob := db.blob[:0]
	for p := first; p != 0; {
		data, next, err := db.overflowPage(p)
		if err != nil {
			return nil, fmt.Errorf("overflow page %d: %w", p, err)
		}
		if len(blob)+len(data) > int(length) {
			return nil, fmt.Errorf("overflow chain from page %d holds more than the item's %d bytes", first, length)
		}
		blob = append(blob, data...)
		p = next
	}
	db.blob = blob
	if len(blob) != int(length) {
		return nil, fmt.Errorf("overflow chain from page %d holds %d bytes, the item says %d", first, len(blob), length)
	}
	return blob, nil
}

// overflowPage returns the data on overflow page p and the next page.
func (db *bdbCheck) overflowPage(p uint32) ([]byte, uint32, error) {
	if p > db.last {
		return nil, 0, fmt.Errorf("past the last page, %d", db.last)
	}
	if db.used[p] {
		return nil, 0, fmt.Errorf("already in a chain")
	}
	db.used[p] = true
	pg := db.ovfl
	if err := readAt(db.r, pg, int64(p)*int64(db.pageSize)); err != nil {
		return nil, 0, err
	}
	if pg[25] != bdbOverflowPage {
		return nil, 0, fmt.Errorf("type %d, not overflow", pg[25])
	}
	next := db.order.Uint32(pg[16:])
	if next != 0 {
		return pg[bdbPageHeaderSize:], next, nil
	}
	// The last page keeps its data length where other pages keep the
	// free-area offset.
	n := int(db.order.Uint16(pg[22:]))
	if bdbPageHeaderSize+n > db.limit {
		return nil, 0, fmt.Errorf("last page says it holds %d bytes", n)
	}
	return pg[bdbPageHeaderSize : bdbPageHeaderSize+n], 0, nil
}
