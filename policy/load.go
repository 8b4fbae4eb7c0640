package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed builtin.yaml
var builtinYAML []byte

// BuiltinName is the file name reported for the embedded policy.
const BuiltinName = "builtin"

// maxPolicySize bounds a policy file; the built-in one is a few KiB.
const maxPolicySize = 4 << 20

// Builtin returns the embedded default policy. It is compiled once, on
// first use, and shared: a Compiled is immutable. The tests prove it
// valid, so a failure here is a build defect.
func Builtin() *Compiled { return builtin() }

var builtin = sync.OnceValue(func() *Compiled {
	c, err := Load(builtinYAML, BuiltinName)
	if err != nil {
		panic("policy: built-in policy is invalid: " + err.Error())
	}
	return c
})

// BuiltinSource returns the embedded policy's YAML.
func BuiltinSource() []byte { return bytes.Clone(builtinYAML) }

// LoadFile reads, validates and compiles a policy file.
func LoadFile(file string) (*Compiled, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(data) > maxPolicySize {
		return nil, &Error{Problems: []Problem{{File: file, Line: 1, Msg: fmt.Sprintf("larger than %d bytes", maxPolicySize)}}}
	}
	return Load(data, file)
}

// Load parses, validates and compiles a policy. file names it in
// problems. Every problem found is reported, each with its line.
func Load(data []byte, file string) (*Compiled, error) {
	p, root, problems, err := parse(data, file)
	if err != nil {
		return nil, err
	}
	v := &validator{file: file, root: root, problems: problems}
	v.policy(p)
	if len(v.problems) > 0 {
		// File order: the validator visits fields in struct order, which
		// need not be the order they are written in.
		sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
		return nil, &Error{Problems: v.problems}
	}
	sum := sha256.Sum256(data)
	return compile(p, file, hex.EncodeToString(sum[:])), nil
}

// parse decodes strictly: unknown keys and wrong types are problems.
// Unknown keys leave the rest of the policy decoded, so they are returned
// as problems for the validator to add to; anything else is an error.
func parse(data []byte, file string) (*Policy, *yaml.Node, []Problem, error) {
	empty := &Error{Problems: []Problem{{File: file, Line: 1, Msg: "empty policy"}}}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, nil, empty
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		problems := yamlProblems(file, err)
		if len(problems) == 1 {
			problems[0].Line = syntaxLine(data, problems[0].Line, problems[0].Msg)
		}
		return nil, nil, nil, &Error{Problems: problems}
	}
	if doc.Kind == 0 || (doc.Kind == yaml.DocumentNode && len(doc.Content) == 0) {
		return nil, nil, nil, empty // only comments
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, nil, &Error{Problems: []Problem{{File: file, Line: root.Line, Msg: "a policy is a mapping of keys (schema, name, version, vendors, ...)"}}}
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		problems := yamlProblems(file, err)
		for _, pr := range problems {
			if !strings.HasPrefix(pr.Msg, "unknown key ") {
				return nil, nil, nil, &Error{Problems: problems}
			}
		}
		return &p, root, problems, nil
	}
	return &p, root, nil, nil
}

// syntaxBudget bounds the bytes syntaxLine may parse.
const syntaxBudget = 8 << 20

// syntaxLine finds the line of a YAML syntax error. yaml.v3 reports the
// line where the enclosing block starts (counted from 0 for parser
// errors) and no line for an error on line 1, which is never after the
// problem. The parser reads in order and settles each line without
// looking past its end, so every prefix of whole lines that takes in the
// problem's line fails with the same message: a binary search from the
// reported line finds the first such prefix. If the search would parse
// more than syntaxBudget bytes, the reported line stands.
func syntaxLine(data []byte, reported int, msg string) int {
	var ends []int // ends[i] is the offset after line i+1
	for off := 0; off < len(data); {
		off = lineEnd(data, off)
		ends = append(ends, off)
	}
	budget := syntaxBudget
	fails := func(line int) bool {
		end := ends[line-1]
		budget -= end
		var n yaml.Node
		err := yaml.Unmarshal(data[:end], &n)
		if err == nil {
			return false
		}
		p := yamlProblems("", err)
		return len(p) == 1 && p[0].Msg == msg
	}
	lo, hi := max(reported, 1), len(ends) // the whole text fails: hi does
	if lo >= hi {
		return hi
	}
	if fails(lo) {
		return lo
	}
	for hi-lo > 1 { // lo does not fail, hi does
		if budget < 0 {
			return reported
		}
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// lineEnd returns the offset after the line that starts at offset start.
// Lines end as YAML ends them: LF, CR LF, CR, NEL, LS or PS.
func lineEnd(data []byte, start int) int {
	for i := start; i < len(data); i++ {
		switch data[i] {
		case '\n':
			return i + 1
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				return i + 2
			}
			return i + 1
		case 0xc2: // NEL
			if i+1 < len(data) && data[i+1] == 0x85 {
				return i + 2
			}
		case 0xe2: // LS, PS
			if i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9) {
				return i + 3
			}
		}
	}
	return len(data)
}

var (
	yamlLine      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlUnmarshal = regexp.MustCompile(`^cannot unmarshal !!(\w+) (.*)into (\S+)$`)
)

// SplitYAMLError turns an error of go.yaml.in/yaml/v3, which may hold
// many, into problems with their lines and yaml's own messages, for the
// caller to reword (the agent's config loader does too).
func SplitYAMLError(file string, err error) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		p := Problem{File: file, Msg: strings.TrimPrefix(m, "yaml: ")}
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			p.Line, _ = strconv.Atoi(g[1])
			p.Msg = g[2]
		}
		out = append(out, p)
	}
	return out
}

// yamlProblems turns a yaml error into problems worded for policy authors.
func yamlProblems(file string, err error) []Problem {
	out := SplitYAMLError(file, err)
	for i := range out {
		p := &out[i]
		if g := yamlUnknown.FindStringSubmatch(p.Msg); g != nil {
			p.Msg = fmt.Sprintf("unknown key %q", g[1])
		} else if g := yamlUnmarshal.FindStringSubmatch(p.Msg); g != nil {
			p.Msg = fmt.Sprintf("expected %s, got a %s %s", goTypeWord(g[3]), yamlTypeWord(g[1]), strings.TrimSpace(g[2]))
		}
	}
	return out
}

func yamlTypeWord(tag string) string {
	switch tag {
	case "map":
		return "mapping"
	case "seq":
		return "list"
	case "str":
		return "string"
	}
	return tag
}

func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case t == "string" || t == "policy.Severity":
		return "a string"
	case strings.HasPrefix(t, "policy."):
		return "a mapping"
	}
	return t
}

// Problem is one thing wrong in a policy.
type Problem struct {
	File  string
	Line  int
	Field string // "vendors[0].products[2].match.packages[1]"; may be empty
	Msg   string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is an invalid policy: every problem, in file order.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
