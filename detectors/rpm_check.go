package detectors

// go-rpmdb v0.1.1 trusts the counts, lengths and offsets it reads from a
// database. On a damaged or hostile file it prints to stdout, allocates
// what a length field asks for (up to 4 GiB), loops forever, panics in a
// goroutine no recover can reach, or returns an error early and leaves
// its reading goroutine blocked for good. checkRPMDB reads our private
// copy first and refuses every file that would take the library down one
// of those paths, so go-rpmdb only gets files it reads to the end. The
// checks follow rpm's formats (lib/header.c, lib/backend/ndb/rpmpkg.c,
// Berkeley DB's db_page.h) and go-rpmdb's use of each field.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// errRPMUnsafe marks a database the check refused: go-rpmdb never saw it.
var errRPMUnsafe = errors.New("unsafe to read")

// maxRPMHeader bounds one package header. rpm allows 256 MiB; real
// headers are under 1 MiB, a few MB for packages with 100,000 files.
const maxRPMHeader = 64 << 20

var sqliteMagic = []byte("SQLite format 3\x00")

// checkRPMDB inspects the copy at local. It picks the format the way
// rpmdb.Open does, by content: SQLite magic, else ndb magic, else
// Berkeley DB.
func checkRPMDB(ctx context.Context, local string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	head := make([]byte, len(sqliteMagic))
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return err
	}
	switch {
	case bytes.Equal(head[:n], sqliteMagic):
		return checkSQLite(ctx, local)
	case n >= 4 && binary.LittleEndian.Uint32(head) == ndbHeaderMagic:
		return checkNDB(f, fi.Size())
	default:
		return checkBDB(f, fi.Size())
	}
}

// readAt reads len(b) bytes at off, or fails.
func readAt(r io.ReaderAt, b []byte, off int64) error {
	if _, err := r.ReadAt(b, off); err != nil {
		return fmt.Errorf("read %d bytes at %d: %w", len(b), off, err)
	}
	return nil
}

// grow returns b resized to n bytes, reusing its array when it can.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
