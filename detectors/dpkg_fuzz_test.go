package detectors

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

// FuzzParseDpkgStatus feeds arbitrary bytes to the status parser. Seeds:
// the two fixtures and the files in testdata/fuzz/FuzzParseDpkgStatus.
func FuzzParseDpkgStatus(f *testing.F) {
	f.Add(dpkgReadFixture(f, dpkgFixtureKaspersky))
	debian := dpkgReadFixture(f, dpkgFixtureDebian12)
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" {
		// While fuzzing, a 680 KB seed makes every mutation and every
		// minimisation parse 680 KB; its first 16 KB, cut at a stanza
		// boundary, carry the same syntax.
		if i := bytes.Index(debian[16<<10:], []byte("\n\n")); i >= 0 {
			debian = debian[:16<<10+i+2]
		}
	}
	f.Add(debian)
	f.Add([]byte(dpkgStanza("kesl", "12.1.0-1297", "amd64", "install reinstreq half-installed")))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := parseDpkgStatus(bytes.NewReader(data), "status")
		// Lines as the parser counts them: a last line without "\n" counts.
		lines := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatalf("package with an empty name: %+v", p)
			}
			if p.File != "status" {
				t.Fatalf("package %q: File = %q", p.Name, p.File)
			}
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("package %q starts at line %d, input has %d", p.Name, p.Line, lines)
			}
			words := strings.Fields(p.Status)
			if len(words) != 3 || p.Status != strings.Join(words, " ") {
				t.Fatalf("package %q: Status %q is not three single-spaced words", p.Name, p.Status)
			}
			// parseDpkgStatus keeps not-installed stanzas with State "";
			// detectDpkg drops them.
			switch p.State {
			case StateInstalled, StatePartial, StateLeftover:
				if words[2] == "not-installed" {
					t.Fatalf("package %q: not-installed has State %q", p.Name, p.State)
				}
			case "":
				if words[2] != "not-installed" {
					t.Fatalf("package %q: Status %q gives an empty State", p.Name, p.Status)
				}
			default:
				t.Fatalf("package %q: State %q not a package state", p.Name, p.State)
			}
		}
		if err == nil {
			return
		}
		pe, ok := err.(*ParseError)
		if !ok {
			t.Fatalf("error %T %v, want *ParseError", err, err)
		}
		if pe.File != "status" {
			t.Fatalf("ParseError.File = %q", pe.File)
		}
		if len(pe.Problems) == 0 || len(pe.Problems) > maxProblems || pe.More < 0 {
			t.Fatalf("ParseError keeps %d problems, more %d", len(pe.Problems), pe.More)
		}
		if pe.More > 0 && len(pe.Problems) != maxProblems {
			t.Fatalf("ParseError counts %d more with only %d kept", pe.More, len(pe.Problems))
		}
		for _, p := range pe.Problems {
			if p.Line < 1 || p.Line > lines+1 {
				t.Fatalf("problem at line %d, input has %d lines: %s", p.Line, lines, p.Msg)
			}
			if p.Msg == "" {
				t.Fatalf("problem at line %d has no message", p.Line)
			}
		}
		if !strings.HasPrefix(err.Error(), "status: line ") {
			t.Fatalf("message %q does not start with the file", clip(err.Error(), 80))
		}
	})
}
