package detectors

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// maxDpkgLine bounds one line; real status files stay far below it.
const maxDpkgLine = 1 << 20

// parseDpkgStatus reads a dpkg status database: stanzas of "Field: value"
// lines separated by blank lines, with continuation lines that start with
// a space or tab (deb-control(5)). It returns every valid stanza and a
// *ParseError for the rest. A malformed line is reported but does not
// cost the stanza its package: a damaged database should still show what
// is installed.
func parseDpkgStatus(r io.Reader, file string) ([]dpkgPackage, error) {
	perr := &ParseError{File: file}
	lr := lineReader{br: bufio.NewReaderSize(r, 64*1024), max: maxDpkgLine}
	var (
		pkgs    []dpkgPackage
		cur     stanza
		line    int
		lastEnd = true
	)
	for {
		raw, long, err := lr.next()
		if len(raw) == 0 && !long {
			if err != io.EOF {
				perr.add(line+1, "read: %v", err)
			}
			break
		}
		line++
		lastEnd = len(raw) > 0 && raw[len(raw)-1] == '\n'
		// Bytes, not strings: only the few kept values are copied, which
		// halves the time of a 5,000-package database.
		text := bytes.TrimRight(raw, "\r\n")
		switch {
		case long:
			// Skip just this line: the stanzas after it still count.
			perr.add(line, "line longer than %d bytes, skipped", maxDpkgLine)
		case len(bytes.TrimSpace(text)) == 0:
			pkgs = cur.finish(pkgs, perr, file)
			cur = stanza{}
		case text[0] == ' ' || text[0] == '\t':
			if cur.start == 0 {
				perr.add(line, "continuation line outside a stanza")
			}
		default:
			cur.field(line, text, perr)
		}
		if err != nil {
			if err != io.EOF {
				perr.add(line, "read: %v", err)
			}
			break
		}
	}
	if !lastEnd && line > 0 {
		perr.add(line, "file ends in the middle of a line (truncated?)")
	}
	pkgs = cur.finish(pkgs, perr, file)
	return pkgs, perr.orNil()
}

// lineReader returns lines with their newline. A line longer than max
// comes back cut to max with long set, the rest of it read and dropped,
// so one monstrous line costs only itself.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
	max int
}

func (lr *lineReader) next() (line []byte, long bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(chunk) <= lr.max {
			lr.buf = append(lr.buf, chunk...)
		} else {
			long = true
			if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
				lr.buf = append(lr.buf[:0], '\n') // keep the line end
			}
		}
		if err != bufio.ErrBufferFull {
			return lr.buf, long, err
		}
	}
}

// stanza collects the fields of the stanza being read.
type stanza struct {
	start                                  int
	pkg, version, arch, maintainer, status string
	statusLine                             int
}

func (s *stanza) field(line int, text []byte, perr *ParseError) {
	if s.start == 0 {
		s.start = line
	}
	name, value, ok := bytes.Cut(text, []byte(":"))
	if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
		perr.add(line, "expected \"Field: value\", got %q", clip(string(text), 40))
		return
	}
	dst := s.slot(name, line)
	if dst == nil {
		return
	}
	if *dst != "" {
		// dpkg rejects this too; most often a blank line between two
		// stanzas was lost and the later one's fields replace the first's.
		perr.add(line, "duplicate %s field (missing blank line?)", name)
	}
	*dst = string(bytes.TrimSpace(value))
}

// slot returns where a field the parser keeps goes, or nil. Field names
// are case-insensitive (deb-control(5)).
func (s *stanza) slot(name []byte, line int) *string {
	switch {
	case bytes.EqualFold(name, []byte("Package")):
		return &s.pkg
	case bytes.EqualFold(name, []byte("Version")):
		return &s.version
	case bytes.EqualFold(name, []byte("Architecture")):
		return &s.arch
	case bytes.EqualFold(name, []byte("Maintainer")):
		return &s.maintainer
	case bytes.EqualFold(name, []byte("Status")):
		s.statusLine = line
		return &s.status
	}
	return nil
}

func (s *stanza) finish(pkgs []dpkgPackage, perr *ParseError, file string) []dpkgPackage {
	if s.start == 0 {
		return pkgs
	}
	if s.pkg == "" {
		perr.add(s.start, "stanza has no Package field")
		return pkgs
	}
	if s.status == "" {
		perr.add(s.start, "package %s has no Status field", s.pkg)
		return pkgs
	}
	state, err := parseDpkgStatusField(s.status)
	if err != nil {
		perr.add(s.statusLine, "package %s: %v", s.pkg, err)
		return pkgs
	}
	return append(pkgs, dpkgPackage{
		Name: s.pkg, Version: s.version, Arch: s.arch,
		Maintainer: maintainerName(s.maintainer),
		Status:     strings.Join(strings.Fields(s.status), " "),
		State:      state, File: file, Line: s.start,
	})
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
