package detectors

import (
	"fmt"
	"strings"
)

// maxProblems bounds what a parse error keeps, so a garbage file of a
// million lines gives a short message, not a million.
const maxProblems = 10

// ParseError lists what was wrong in a file, each with its line. Parsers
// return it beside whatever they could read.
type ParseError struct {
	File     string
	Problems []Problem
	// More counts problems beyond those kept.
	More int
}

// Problem is one thing wrong at one line.
type Problem struct {
	Line int
	Msg  string
}

func (e *ParseError) add(line int, format string, args ...any) {
	if len(e.Problems) >= maxProblems {
		e.More++
		return
	}
	e.Problems = append(e.Problems, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// orNil returns e if it holds a problem, else nil.
func (e *ParseError) orNil() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

func (e *ParseError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: line %d: %s", e.File, p.Line, p.Msg)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more problems", e.More)
	}
	return b.String()
}
