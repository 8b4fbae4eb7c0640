package detectors

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// FuzzHostsFile feeds arbitrary bytes to the hosts-file parser. Seeds: the
// fixtures in testdata/hosts and the files in testdata/fuzz/FuzzHostsFile.
func FuzzHostsFile(f *testing.F) {
	for _, name := range []string{"linux-sinkhole", "windows-crlf", "ipv6-sinkhole", "lan-mirror"} {
		f.Add(hostsFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries := parseHosts(data)
		if max := bytes.Count(data, []byte(" ")) + bytes.Count(data, []byte("\t")) + len(data)/2; len(entries) > max {
			t.Fatalf("%d entries from %d bytes", len(entries), len(data))
		}
		// What the parser read, written out plainly, one entry a line,
		// reads back the same (but for lines the canonical address made
		// longer than the limit).
		var again bytes.Buffer
		var fits []hostsEntry
		for _, e := range entries {
			checkHostsEntry(t, e)
			if line := fmt.Sprintf("%s %s", e.Address, e.Name); len(line) <= maxHostsLine {
				again.WriteString(line + "\n")
				fits = append(fits, e)
			}
		}
		if back := parseHosts(again.Bytes()); !reflect.DeepEqual(back, fits) {
			t.Fatalf("entries %v read back as %v", fits, back)
		}
		// The detector's view: matching never fails on what the parser gives.
		m := newHostMatcher([]string{"dnl-07.geo.kaspersky.com", "ksn-*.kaspersky-labs.com", "[sp]0?.upd.kaspersky.com"})
		for _, e := range entries {
			m.match(e.Name)
			hostsItem("etc/hosts", e)
		}
	})
}

func checkHostsEntry(t *testing.T, e hostsEntry) {
	t.Helper()
	if !e.Address.IsValid() {
		t.Fatalf("entry %+v: invalid address", e)
	}
	n := e.Name
	if n == "" || strings.HasSuffix(n, ".") || strings.ContainsAny(n, "#") || len(strings.Fields(n)) != 1 || strings.Fields(n)[0] != n {
		t.Fatalf("entry %+v: name is not one lower-case word", e)
	}
	if asciiLower(n) != n {
		t.Fatalf("entry %+v: name not lower case", e)
	}
}
