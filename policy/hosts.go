package policy

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Update hosts are written as exact names, names with one numeric range
// ("dnl-{00..19}.geo.kaspersky.com", which the scan can resolve one by
// one), or patterns with * ("ksn-*.kaspersky-labs.com"), which can only be
// matched against names seen in hosts files.

// maxHostExpansion bounds what one range may expand to.
const maxHostExpansion = 1000

// expandHost returns the names a host entry stands for; a * pattern
// stands for itself.
func expandHost(h string) ([]string, error) {
	h = strings.ToLower(strings.TrimSpace(h))
	open := strings.IndexByte(h, '{')
	if open < 0 {
		return []string{h}, nil
	}
	end := strings.IndexByte(h[open:], '}')
	if end < 0 {
		return nil, fmt.Errorf("host %q: { without }", h)
	}
	lo, hi, ok := strings.Cut(h[open+1:open+end], "..")
	a, errA := strconv.Atoi(lo)
	b, errB := strconv.Atoi(hi)
	if !ok || errA != nil || errB != nil || a < 0 || b < a {
		return nil, fmt.Errorf("host %q: a range is {FIRST..LAST} with FIRST <= LAST, such as {00..19}", h)
	}
	if b-a+1 > maxHostExpansion {
		return nil, fmt.Errorf("host %q: a range of %d names is more than %d", h, b-a+1, maxHostExpansion)
	}
	prefix, suffix := h[:open], h[open+end+1:]
	if strings.ContainsAny(suffix, "{}") {
		return nil, fmt.Errorf("host %q: only one range is allowed", h)
	}
	out := make([]string, 0, b-a+1)
	for n := a; n <= b; n++ {
		out = append(out, fmt.Sprintf("%s%0*d%s", prefix, len(lo), n, suffix))
	}
	return out, nil
}

// checkHost validates one host entry for the policy checker.
func checkHost(h string) error {
	names, err := expandHost(h)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.Contains(n, ".") || strings.ContainsAny(n, " /\\") {
			return fmt.Errorf("host %q is not a host name", h)
		}
		if _, err := path.Match(n, ""); err != nil {
			return fmt.Errorf("host %q: bad pattern: %v", h, err)
		}
		if literal := strings.Map(dropMeta, n); len(literal) < 6 {
			return fmt.Errorf("host pattern %q is too broad: it needs more fixed characters", h)
		}
	}
	return nil
}

func dropMeta(r rune) rune {
	if strings.ContainsRune(globMetaRune+".", r) {
		return -1
	}
	return r
}

// hostIndex tells which vendor an update host belongs to.
type hostIndex struct {
	exact    map[string]int
	patterns []hostPattern
}

type hostPattern struct {
	pattern string
	vendor  int
}

func (ix *hostIndex) add(vendor int, names []string) {
	if ix.exact == nil {
		ix.exact = map[string]int{}
	}
	for _, n := range names {
		if strings.ContainsAny(n, globMetaRune) {
			ix.patterns = append(ix.patterns, hostPattern{n, vendor})
		} else if _, dup := ix.exact[n]; !dup {
			ix.exact[n] = vendor
		}
	}
}

// vendor returns the vendor whose update host name is.
func (ix *hostIndex) vendor(name string) (int, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if v, ok := ix.exact[name]; ok {
		return v, true
	}
	for _, p := range ix.patterns {
		if ok, _ := path.Match(p.pattern, name); ok {
			return p.vendor, true
		}
	}
	return 0, false
}
