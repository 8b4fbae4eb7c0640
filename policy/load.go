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
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed builtin.yaml
var builtinYAML []byte

// BuiltinName is the file name reported for the embedded policy.
const BuiltinName = "builtin"

// maxPolicySize bounds a policy file; the built-in one is a few KiB.
const maxPolicySize = 4 << 20

// Builtin returns the embedded default policy. The tests prove it valid,
// so a failure here is a build defect.
func Builtin() *Compiled {
	c, err := Load(builtinYAML, BuiltinName)
	if err != nil {
		panic("policy: built-in policy is invalid: " + err.Error())
	}
	return c
}

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
	p, root, err := parse(data, file)
	if err != nil {
		return nil, err
	}
	v := &validator{file: file, root: root}
	v.policy(p)
	if len(v.problems) > 0 {
		return nil, &Error{Problems: v.problems}
	}
	sum := sha256.Sum256(data)
	return compile(p, file, hex.EncodeToString(sum[:])), nil
}

// parse decodes strictly: unknown keys and wrong types are problems.
func parse(data []byte, file string) (*Policy, *yaml.Node, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, &Error{Problems: []Problem{{File: file, Line: 1, Msg: "empty policy"}}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, &Error{Problems: yamlProblems(file, err)}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, &Error{Problems: []Problem{{File: file, Line: root.Line, Msg: "a policy is a mapping of keys (schema, name, version, vendors, ...)"}}}
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, nil, &Error{Problems: yamlProblems(file, err)}
	}
	return &p, root, nil
}

var (
	yamlLine      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlUnmarshal = regexp.MustCompile(`^cannot unmarshal !!(\w+) (.*)into (\S+)$`)
)

// yamlProblems turns a yaml error, which may hold many, into problems.
func yamlProblems(file string, err error) []Problem {
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
		if g := yamlUnknown.FindStringSubmatch(p.Msg); g != nil {
			p.Msg = fmt.Sprintf("unknown key %q", g[1])
		} else if g := yamlUnmarshal.FindStringSubmatch(p.Msg); g != nil {
			p.Msg = fmt.Sprintf("expected %s, got a %s %s", goTypeWord(g[3]), yamlTypeWord(g[1]), strings.TrimSpace(g[2]))
		}
		out = append(out, p)
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
