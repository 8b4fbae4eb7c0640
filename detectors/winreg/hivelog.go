package winreg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sort"
)

// Since Windows 8.1 the kernel writes registry changes to the hive's
// transaction logs (SOFTWARE.LOG1, SOFTWARE.LOG2) first and to the hive
// itself later, so an image of a running machine, or of one that lost
// power, has a hive file that lags behind, by as much as an hour. This
// file applies the logs' entries to an in-memory copy of the hive, as
// Windows does when it loads one, following the "new format" of the regf
// notes (github.com/msuhanov/regf): a log is a base block and "HvLE"
// entries, each a set of dirty pages checked by two Marvin32 hashes.
// (The "old format" of Windows XP to 8 is not applied.)

const (
	logEntryAlign  = 512
	logHeaderSize  = 40
	fileTypeLogNew = 6
	// marvinSeed is the seed the kernel hashes log entries with.
	marvinSeed uint64 = 0x82EF4D887A4E55C5
)

// dirtyHive says whether a hive's header shows unfinished writes: the
// sequence numbers differ or the header checksum is wrong.
func dirtyHive(hdr []byte) bool {
	le := binary.LittleEndian
	return le.Uint32(hdr[4:]) != le.Uint32(hdr[8:]) || headerChecksum(hdr) != le.Uint32(hdr[508:])
}

// headerChecksum is the XOR of the base block's first 508 bytes, with
// the two values Windows reserves mapped away.
func headerChecksum(hdr []byte) uint32 {
	var sum uint32
	for i := 0; i < 508; i += 4 {
		sum ^= binary.LittleEndian.Uint32(hdr[i:])
	}
	switch sum {
	case 0:
		return 1
	case 0xFFFFFFFF:
		return 0xFFFFFFFE
	}
	return sum
}

// logEntry is one validated HvLE entry.
type logEntry struct {
	seq      uint32
	binsSize uint32
	pages    []logPage
}

type logPage struct {
	offset uint32
	data   []byte
}

// parseLog returns the valid entries of a new-format transaction log.
// Reading stops at the first entry that is absent, torn or fails its
// hashes, as the kernel's recovery does.
func parseLog(log []byte) ([]logEntry, error) {
	if len(log) < logEntryAlign || !bytes.Equal(log[:4], []byte("regf")) {
		return nil, fmt.Errorf("not a transaction log (no regf signature)")
	}
	if t := binary.LittleEndian.Uint32(log[28:]); t != fileTypeLogNew {
		return nil, fmt.Errorf("transaction log of type %d, only the new format (6) is applied", t)
	}
	var out []logEntry
	for off := logEntryAlign; off+logHeaderSize <= len(log); {
		e, size, ok := parseLogEntry(log[off:])
		if !ok {
			break
		}
		out = append(out, e)
		off += size
	}
	return out, nil
}

func parseLogEntry(b []byte) (logEntry, int, bool) {
	le := binary.LittleEndian
	if !bytes.Equal(b[:4], []byte("HvLE")) {
		return logEntry{}, 0, false
	}
	size := int(le.Uint32(b[4:]))
	if size < logHeaderSize || size%logEntryAlign != 0 || size > len(b) {
		return logEntry{}, 0, false
	}
	if marvin32(marvinSeed, b[logHeaderSize:size]) != le.Uint64(b[24:]) ||
		marvin32(marvinSeed, b[:32]) != le.Uint64(b[32:]) {
		return logEntry{}, 0, false
	}
	e := logEntry{seq: le.Uint32(b[12:]), binsSize: le.Uint32(b[16:])}
	count := int(le.Uint32(b[20:]))
	refs, data := b[logHeaderSize:size], logHeaderSize+count*8
	if count < 0 || data > size {
		return logEntry{}, 0, false
	}
	for i := range count {
		off, n := le.Uint32(refs[i*8:]), int(le.Uint32(refs[i*8+4:]))
		if n < 0 || data+n > size || uint64(off)+uint64(n) > uint64(e.binsSize) {
			return logEntry{}, 0, false
		}
		e.pages = append(e.pages, logPage{offset: off, data: b[data : data+n]})
		data += n
	}
	return e, size, true
}

// applyLogs applies to a dirty hive (its whole file in memory) the log
// entries that follow it, in sequence order, and returns the recovered
// hive and how many entries were applied. maxSize bounds the hive's
// growth.
func applyLogs(hive []byte, logs [][]byte, maxSize int) ([]byte, int, error) {
	if len(hive) < baseBlockSize {
		return hive, 0, ErrNotHive
	}
	var entries []logEntry
	for _, l := range logs {
		es, err := parseLog(l)
		if err != nil {
			return hive, 0, err
		}
		entries = append(entries, es...)
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].seq < entries[j].seq })
	le := binary.LittleEndian
	first := le.Uint32(hive[4:])
	out := append([]byte(nil), hive...)
	applied := 0
	for _, e := range entries {
		if e.seq < first {
			continue // already in the hive file
		}
		if baseBlockSize+int(e.binsSize) > maxSize {
			return out, applied, fmt.Errorf("log entry %d grows the hive to %d bytes, more than allowed", e.seq, e.binsSize)
		}
		if need := baseBlockSize + int(e.binsSize); len(out) < need {
			out = append(out, make([]byte, need-len(out))...)
		}
		for _, p := range e.pages {
			copy(out[baseBlockSize+int(p.offset):], p.data)
		}
		le.PutUint32(out[4:], e.seq)
		le.PutUint32(out[8:], e.seq)
		le.PutUint32(out[40:], e.binsSize)
		applied++
	}
	if applied > 0 {
		le.PutUint32(out[508:], headerChecksum(out))
	}
	return out, applied, nil
}

// marvin32 is Microsoft's Marvin32 hash, 64-bit result.
func marvin32(seed uint64, data []byte) uint64 {
	p0, p1 := uint32(seed), uint32(seed>>32)
	for len(data) >= 4 {
		p0 += binary.LittleEndian.Uint32(data)
		p0, p1 = marvinBlock(p0, p1)
		data = data[4:]
	}
	final := uint32(0x80)
	for i := len(data) - 1; i >= 0; i-- {
		final = final<<8 | uint32(data[i])
	}
	p0 += final
	p0, p1 = marvinBlock(p0, p1)
	p0, p1 = marvinBlock(p0, p1)
	return uint64(p1)<<32 | uint64(p0)
}

func marvinBlock(p0, p1 uint32) (uint32, uint32) {
	p1 ^= p0
	p0 = bits.RotateLeft32(p0, 20)
	p0 += p1
	p1 = bits.RotateLeft32(p1, 9)
	p1 ^= p0
	p0 = bits.RotateLeft32(p0, 27)
	p0 += p1
	p1 = bits.RotateLeft32(p1, 19)
	return p0, p1
}
