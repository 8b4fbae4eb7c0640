package detectors

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The ndb format (rpm's lib/backend/ndb/rpmpkg.c): a 32-byte header,
// then slot pages of 4096 bytes holding 16-byte slots (the header fills
// the first two); each used slot points, in 16-byte blocks, to a blob: a
// 16-byte blob header, then the package header. All little-endian.
const (
	ndbHeaderMagic = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic   = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic   = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbPageSize    = 4096
	ndbSlotSize    = 16
	ndbBlobHead    = 16 // also the unit of block offsets
	// ndbMaxPages is go-rpmdb's own limit on slot pages.
	ndbMaxPages = 2048
)

var ndbOrder = binary.LittleEndian

// checkNDB checks what go-rpmdb's ndb backend trusts: Open reads the
// header and every slot page; Read prints and stops on a bad slot magic,
// allocates BlobLen bytes unchecked, and reports a bad blob header
// without stopping, which blocks it once ListPackages has returned.
func checkNDB(r io.ReaderAt, size int64) error {
	slots, err := readNDBSlots(r, size)
	if err != nil {
		return err
	}
	var blob []byte
	var total int64
	var headers rpmHeaders
	for i := 2; i < len(slots)/ndbSlotSize; i++ {
		s := slots[i*ndbSlotSize:]
		if m := ndbOrder.Uint32(s); m != ndbSlotMagic {
			return fmt.Errorf("ndb slot %d: bad magic %#x", i-2, m)
		}
		pkg := ndbOrder.Uint32(s[4:])
		if pkg == 0 {
			continue // a free slot
		}
		if blob, err = readNDBBlob(r, size, pkg, ndbOrder.Uint32(s[8:]), blob); err != nil {
			return fmt.Errorf("ndb package %d: %w", pkg, err)
		}
		// Slots sharing one blob would make go-rpmdb read it again and
		// again; distinct blobs cannot add up to more than the file.
		if total += int64(len(blob)); total > size {
			return fmt.Errorf("ndb package %d: blobs add up to more than the file's %d bytes", pkg, size)
		}
		if err := headers.check(blob); err != nil {
			return fmt.Errorf("ndb package %d: %w", pkg, err)
		}
	}
	return nil
}

// readNDBSlots returns the slot pages, header included.
func readNDBSlots(r io.ReaderAt, size int64) ([]byte, error) {
	if size < 32 {
		return nil, fmt.Errorf("ndb: %d bytes, too short for its header", size)
	}
	hdr := make([]byte, 32)
	if err := readAt(r, hdr, 0); err != nil {
		return nil, fmt.Errorf("ndb header: %w", err)
	}
	version, pages := ndbOrder.Uint32(hdr[4:]), ndbOrder.Uint32(hdr[12:])
	if version != 0 {
		return nil, fmt.Errorf("ndb: format version %d, only 0 is known", version)
	}
	if pages < 1 || pages > ndbMaxPages {
		return nil, fmt.Errorf("ndb: %d slot pages, want 1 to %d", pages, ndbMaxPages)
	}
	if need := int64(pages) * ndbPageSize; need > size {
		return nil, fmt.Errorf("ndb: %d slot pages need %d bytes, the file has %d", pages, need, size)
	}
	slots := make([]byte, pages*ndbPageSize)
	if err := readAt(r, slots, 0); err != nil {
		return nil, fmt.Errorf("ndb slot pages: %w", err)
	}
	return slots, nil
}

// readNDBBlob reads the header blob of package pkg at block blk into buf.
func readNDBBlob(r io.ReaderAt, size int64, pkg, blk uint32, buf []byte) ([]byte, error) {
	off := int64(blk) * ndbBlobHead
	if off+ndbBlobHead > size {
		return nil, fmt.Errorf("blob at %d is past the end of the file (%d bytes)", off, size)
	}
	var h [ndbBlobHead]byte
	if err := readAt(r, h[:], off); err != nil {
		return nil, fmt.Errorf("blob header: %w", err)
	}
	magic, owner, n := ndbOrder.Uint32(h[0:]), ndbOrder.Uint32(h[4:]), ndbOrder.Uint32(h[12:])
	switch {
	case magic != ndbBlobMagic:
		return nil, fmt.Errorf("blob at %d: bad magic %#x", off, magic)
	case owner != pkg:
		return nil, fmt.Errorf("blob at %d belongs to package %d", off, owner)
	case n > maxRPMHeader:
		return nil, fmt.Errorf("blob at %d: %d bytes, over the %d-byte limit", off, n, maxRPMHeader)
	case off+ndbBlobHead+int64(n) > size:
		return nil, fmt.Errorf("blob at %d: %d bytes run past the end of the file (%d bytes)", off, n, size)
	}
	buf = grow(buf, int(n))
	if err := readAt(r, buf, off+ndbBlobHead); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return buf, nil
}
