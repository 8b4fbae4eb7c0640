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
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), maxDpkgLine)
	sc.Split(scanLinesKeepEnd)
	var (
		pkgs    []dpkgPackage
		cur     stanza
		line    int
		lastEnd = true
	)
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		lastEnd = bytes.HasSuffix(raw, []byte("\n"))
		text := strings.TrimRight(string(raw), "\r\n")
		switch {
		case strings.TrimSpace(text) == "":
			pkgs = cur.finish(pkgs, perr, file)
			cur = stanza{}
		case text[0] == ' ' || text[0] == '\t':
			if cur.start == 0 {
				perr.add(line, "continuation line outside a stanza")
			}
		default:
			cur.field(line, text, perr)
		}
	}
	if err := sc.Err(); err != nil {
		perr.add(line+1, "%v", err)
		return pkgs, perr
	}
	if !lastEnd && line > 0 {
		perr.add(line, "file ends in the middle of a line (truncated?)")
	}
	pkgs = cur.finish(pkgs, perr, file)
	return pkgs, perr.orNil()
}

// stanza collects the fields of the stanza being read.
type stanza struct {
	start                                  int
	pkg, version, arch, maintainer, status string
	statusLine                             int
}

func (s *stanza) field(line int, text string, perr *ParseError) {
	if s.start == 0 {
		s.start = line
	}
	name, value, ok := strings.Cut(text, ":")
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		perr.add(line, "expected \"Field: value\", got %q", clip(text, 40))
		return
	}
	value = strings.TrimSpace(value)
	var dst *string
	switch strings.ToLower(name) {
	case "package":
		dst = &s.pkg
	case "version":
		dst = &s.version
	case "architecture":
		dst = &s.arch
	case "maintainer":
		dst = &s.maintainer
	case "status":
		dst, s.statusLine = &s.status, line
	default:
		return
	}
	if *dst != "" {
		// dpkg rejects this too; most often a blank line between two
		// stanzas was lost and the later one's fields replace the first's.
		perr.add(line, "duplicate %s field (missing blank line?)", name)
	}
	*dst = value
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

// scanLinesKeepEnd is bufio.ScanLines without dropping the newline, so the
// parser can tell a file cut in the middle of a line.
func scanLinesKeepEnd(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
