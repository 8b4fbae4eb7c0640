package policy

import (
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Matching is by hash look-up, so its cost per item does not grow with
// the number of rules: exact names in a map; name patterns by their
// literal prefix (one map look-up per distinct prefix length); path
// patterns by their longest literal folder name (one look-up per folder
// of the path). Only the few rules that share a key are then checked.

// normalizeName folds case and surrounding space.
func normalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalizePublisher reduces a publisher to lower-case words, so that
// `AO "Kaspersky Lab"`, `AO Kaspersky Lab` and `ao kaspersky lab.` agree,
// and so do «Лаборатория Касперского» and "Лаборатория Касперского".
func normalizePublisher(s string) string {
	return string(appendPublisher(nil, s))
}

// appendPublisher appends the normalized form of s to dst. Matching
// normalizes into a stack buffer, so the look-up of every package's
// maintainer does not allocate.
func appendPublisher(dst []byte, s string) []byte {
	space := false
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			space = len(dst) > 0
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}

// target is what a rule points at: a product of a vendor, or the vendor
// itself (product -1) for vendor-wide artefacts.
type target struct {
	vendor, product int
}

// less orders targets as the policy lists them, products before the
// vendor-wide catch-all.
func (t target) less(o target) bool {
	if t.vendor != o.vendor {
		return t.vendor < o.vendor
	}
	if (t.product < 0) != (o.product < 0) {
		return t.product >= 0
	}
	return t.product < o.product
}

// rule is one matcher compiled; path constrains a process image rule.
type rule struct {
	target target
	path   *pathPattern
}

type globRule struct {
	pattern string
	rule    rule
}

// nameIndex matches names exactly or by pattern.
type nameIndex struct {
	exact    map[string][]rule
	prefixed map[int]map[string][]globRule
	lens     []int
}

func newNameIndex() *nameIndex {
	return &nameIndex{exact: map[string][]rule{}, prefixed: map[int]map[string][]globRule{}}
}

func (ix *nameIndex) add(name string, r rule) {
	name = normalizeName(name)
	meta := strings.IndexAny(name, globMetaRune)
	if meta < 0 {
		ix.exact[name] = append(ix.exact[name], r)
		return
	}
	byPrefix := ix.prefixed[meta]
	if byPrefix == nil {
		byPrefix = map[string][]globRule{}
		ix.prefixed[meta] = byPrefix
		ix.lens = append(ix.lens, meta)
		sort.Ints(ix.lens)
	}
	byPrefix[name[:meta]] = append(byPrefix[name[:meta]], globRule{pattern: name, rule: r})
}

// lookup returns the rules that match name, exact ones first.
func (ix *nameIndex) lookup(name string) []rule {
	name = normalizeName(name)
	out := ix.exact[name]
	for _, n := range ix.lens {
		if len(name) < n {
			break
		}
		for _, g := range ix.prefixed[n][name[:n]] {
			if ok, _ := path.Match(g.pattern, name); ok {
				out = append(out[:len(out):len(out)], g.rule)
			}
		}
	}
	return out
}

// pathPattern is a slash-separated pattern; "**" stands for any number
// of folders. Case is folded: the same patterns serve Windows paths.
type pathPattern struct {
	segs []string
}

func compilePath(p string) *pathPattern {
	return &pathPattern{segs: strings.Split(strings.Trim(normalizePath(p), "/"), "/")}
}

// normalizePath folds case and separators and drops a leading slash.
func normalizePath(p string) string {
	return strings.TrimPrefix(strings.ToLower(strings.ReplaceAll(p, `\`, "/")), "/")
}

// anchor is the longest literal segment: the index key.
func (pp *pathPattern) anchor() string {
	a := ""
	for _, s := range pp.segs {
		if s != "**" && !strings.ContainsAny(s, globMetaRune) && len(s) > len(a) {
			a = s
		}
	}
	return a
}

func (pp *pathPattern) match(p string) bool {
	return matchSegs(pp.segs, strings.Split(normalizePath(p), "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

type pathRule struct {
	pattern *pathPattern
	rule    rule
}

// pathIndex matches paths against path patterns.
type pathIndex struct {
	byAnchor map[string][]pathRule
}

func newPathIndex() *pathIndex { return &pathIndex{byAnchor: map[string][]pathRule{}} }

func (ix *pathIndex) add(p string, r rule) {
	pp := compilePath(p)
	a := pp.anchor()
	ix.byAnchor[a] = append(ix.byAnchor[a], pathRule{pattern: pp, rule: r})
}

// lookup returns the rules whose pattern matches p.
func (ix *pathIndex) lookup(p string) []rule {
	var out []rule
	seen := map[string]bool{}
	for _, seg := range strings.Split(normalizePath(p), "/") {
		if seen[seg] {
			continue
		}
		seen[seg] = true
		for _, pr := range ix.byAnchor[seg] {
			if pr.pattern.match(p) {
				out = append(out, pr.rule)
			}
		}
	}
	return out
}
