package detectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"path"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

func init() {
	register(Spec{Name: "hosts-file", Detector: DetectorFunc(detectHostsFile)})
}

const (
	// maxHostsFileSize bounds what is read of one hosts file. Ad-blocking
	// hosts files run to a few MiB; anything larger is not a hosts file
	// a resolver reads line by line at every look-up.
	maxHostsFileSize = 4 << 20
	// maxHostsLine: a longer line is skipped. Real lines are an address
	// and a few names; a megabyte "line" is a damaged or binary file.
	maxHostsLine = 8 << 10
)

// windowsHostsFile is where Windows keeps its hosts file, relative to the
// system drive; the case of each element varies between installs.
const windowsHostsFile = "Windows/System32/drivers/etc/hosts"

// detectHostsFile reports the hosts-file lines that name an update host:
// a sinkhole (0.0.0.0, 127.0.0.1) is someone blocking updates, any other
// address a redirect, such as to a LAN mirror.
func detectHostsFile(ctx context.Context, env *Env) ([]Item, error) {
	files, err := readHostsFiles(ctx, env.Root)
	hosts := newHostMatcher(env.UpdateHosts)
	var items []Item
	for _, f := range files {
		seen := map[hostsEntry]bool{}
		for _, e := range f.Entries {
			if _, ok := hosts.match(e.Name); !ok || seen[e] {
				continue
			}
			seen[e] = true
			items = append(items, hostsItem(f.Path, e))
		}
	}
	return items, err
}

func hostsItem(file string, e hostsEntry) Item {
	sinkhole := isSinkhole(e.Address)
	detail := fmt.Sprintf("hosts file redirects %s to %s", e.Name, e.Address)
	if sinkhole {
		detail = fmt.Sprintf("hosts file maps %s to %s (a sinkhole)", e.Name, e.Address)
	}
	return Item{
		Kind: KindHostsEntry, Name: e.Name, Path: file, State: StatePresent, Detail: detail,
		Attrs: map[string]string{"address": e.Address.String(), "sinkhole": fmt.Sprint(sinkhole)},
	}
}

// hostsFile is one parsed hosts file; Path is relative to the root.
type hostsFile struct {
	Path    string
	Entries []hostsEntry
}

// hostsEntry is one address-name pair: a line with three names gives
// three entries.
type hostsEntry struct {
	Name    string // ASCII lower case, without trailing dots
	Address netip.Addr
}

// readHostsFiles reads the hosts files of every OS layout the root may
// have. The update-traffic detector reads them through here too, so both
// detectors agree on what a hosts file says.
func readHostsFiles(ctx context.Context, root fs.FS) ([]hostsFile, error) {
	if root == nil {
		return nil, nil
	}
	var files []hostsFile
	var errs []error
	for _, name := range hostsFilePaths(root) {
		if err := ctx.Err(); err != nil {
			return files, err
		}
		entries, err := readHostsFile(root, name)
		if err != nil {
			errs = append(errs, err)
		}
		if entries != nil || err == nil {
			files = append(files, hostsFile{Path: name, Entries: entries})
		}
	}
	return files, errors.Join(errs...)
}

// hostsFilePaths lists the hosts files present under root. On macOS
// etc is a link to private/etc; a Data volume or an image whose link
// cannot be followed has only the latter.
func hostsFilePaths(root fs.FS) []string {
	var out []string
	switch {
	case exists(root, "etc/hosts"):
		out = append(out, "etc/hosts")
	case exists(root, "private/etc/hosts"):
		out = append(out, "private/etc/hosts")
	}
	if p := winreg.LookupFold(root, windowsHostsFile); p != "" {
		out = append(out, p)
	}
	return out
}

func exists(root fs.FS, name string) bool {
	fi, err := fs.Stat(root, name)
	return err == nil && !fi.IsDir()
}

// readHostsFile parses one hosts file, at most maxHostsFileSize of it: a
// larger file gives the entries of its start and an error.
func readHostsFile(root fs.FS, name string) ([]hostsEntry, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("hosts file %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHostsFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("hosts file %s: %w", name, err)
	}
	if len(data) > maxHostsFileSize {
		// Cut at the last full line so no name is read half.
		data = data[:bytes.LastIndexByte(data[:maxHostsFileSize], '\n')+1]
		return parseHosts(data), fmt.Errorf("hosts file %s: larger than %d MiB, read its start", name, maxHostsFileSize>>20)
	}
	return parseHosts(data), nil
}

// parseHosts parses hosts-file text the way resolvers do: "#" starts a
// comment anywhere, fields are separated by spaces or tabs, the first is
// an address and the rest are names. Lines with an address that does not
// parse are skipped, as resolvers skip them.
func parseHosts(data []byte) []hostsEntry {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Notepad's UTF-8 BOM
	var out []hostsEntry
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		if len(line) > maxHostsLine {
			continue
		}
		out = appendHostsLine(out, line)
	}
	return out
}

func appendHostsLine(out []hostsEntry, line []byte) []hostsEntry {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(string(line)) // also drops the \r of CRLF
	if len(fields) < 2 {
		return out
	}
	addr, err := netip.ParseAddr(fields[0])
	if err != nil {
		return out
	}
	for _, name := range fields[1:] {
		name = strings.TrimRight(asciiLower(name), ".")
		if name != "" {
			out = append(out, hostsEntry{Name: name, Address: addr})
		}
	}
	return out
}

// asciiLower lower-cases A-Z only. Host names compare case-insensitively
// in ASCII (international names are in punycode); strings.ToLower would
// also rewrite other bytes, invalid UTF-8 into three-byte U+FFFD.
func asciiLower(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for j := i; j < len(b); j++ {
		if 'A' <= b[j] && b[j] <= 'Z' {
			b[j] += 'a' - 'A'
		}
	}
	return string(b)
}

// isSinkhole reports whether an address points nowhere: the unspecified
// address or loopback, IPv4 or IPv6, also as an IPv4-mapped address.
func isSinkhole(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsUnspecified() || a.IsLoopback()
}

// hostMatcher matches names against the policy's update hosts: exact
// names by one map look-up, patterns (* ? [) by path.Match.
type hostMatcher struct {
	exact    map[string]int // lower-case name → its index in policy order
	patterns []hostPattern
	names    []string // the exact names, in policy order, once each
}

type hostPattern struct {
	pattern string
	suffix  string // the literal text after the last wildcard, a cheap pre-check
	index   int
}

func newHostMatcher(hosts []string) hostMatcher {
	m := hostMatcher{exact: map[string]int{}}
	for i, h := range hosts {
		h = strings.TrimRight(asciiLower(strings.TrimSpace(h)), ".")
		switch {
		case h == "":
		case isHostPattern(h):
			m.patterns = append(m.patterns, hostPattern{pattern: h, suffix: h[strings.LastIndexAny(h, "*?]")+1:], index: i})
		default:
			if _, dup := m.exact[h]; !dup {
				m.exact[h] = i
				m.names = append(m.names, h)
			}
		}
	}
	return m
}

func isHostPattern(h string) bool { return strings.ContainsAny(h, "*?[") }

// match returns the policy index of the first update host that name
// matches. name must be lower case.
func (m hostMatcher) match(name string) (int, bool) {
	if i, ok := m.exact[name]; ok {
		return i, true
	}
	for _, p := range m.patterns {
		if !strings.HasSuffix(name, p.suffix) {
			continue
		}
		if ok, _ := path.Match(p.pattern, name); ok {
			return p.index, true
		}
	}
	return 0, false
}
