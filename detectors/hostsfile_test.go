package detectors

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// hostsTestUpdateHosts is a policy's host list in miniature: exact names
// and a pattern.
var hostsTestUpdateHosts = []string{
	"downloads.upd.kaspersky.com",
	"dnl-01.geo.kaspersky.com", "dnl-02.geo.kaspersky.com", "dnl-07.geo.kaspersky.com",
	"dnl-08.geo.kaspersky.com", "dnl-09.geo.kaspersky.com", "dnl-10.geo.kaspersky.com",
	"s00.upd.kaspersky.com", "s01.upd.kaspersky.com",
	"activation-v2.kaspersky.com",
	"ksn-*.kaspersky-labs.com",
}

func hostsFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hosts", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseHosts(t *testing.T) {
	e := func(name, addr string) hostsEntry {
		return hostsEntry{Name: name, Address: netip.MustParseAddr(addr)}
	}
	tests := []struct {
		name string
		in   string
		want []hostsEntry
	}{
		{"empty", "", nil},
		{"comment only", "# 0.0.0.0 a.example\n", nil},
		{"several names", "0.0.0.0 a.example b.example\tc.example\n", []hostsEntry{e("a.example", "0.0.0.0"), e("b.example", "0.0.0.0"), e("c.example", "0.0.0.0")}},
		{"inline comment", "10.0.0.5 a.example#b.example c.example\n", []hostsEntry{e("a.example", "10.0.0.5")}},
		{"CRLF and tabs", "\t0.0.0.0\t\tA.Example\r\n::1 b.example\r\n", []hostsEntry{e("a.example", "0.0.0.0"), e("b.example", "::1")}},
		{"no final newline", "0.0.0.0 a.example", []hostsEntry{e("a.example", "0.0.0.0")}},
		{"trailing dot", "0.0.0.0 a.example.\n", []hostsEntry{e("a.example", "0.0.0.0")}},
		{"BOM", "\xef\xbb\xbf0.0.0.0 a.example\n", []hostsEntry{e("a.example", "0.0.0.0")}},
		{"IPv6 zone", "fe80::1%eth0 a.example\n", []hostsEntry{e("a.example", "fe80::1%eth0")}},
		{"address only", "0.0.0.0\n", nil},
		{"not an address", "a.example 0.0.0.0\n300.0.0.1 b.example\n", nil},
		{"long line skipped", "0.0.0.0 " + strings.Repeat("a", maxHostsLine) + "\n0.0.0.0 b.example\n", []hostsEntry{e("b.example", "0.0.0.0")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseHosts([]byte(tt.in)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseHosts(%q) =\n%v\nwant\n%v", tt.in, got, tt.want)
			}
		})
	}
}

// hostsWant is one expected hosts-entry item.
type hostsWant struct {
	name, addr string
	sinkhole   bool
}

func TestHostsFileDetector(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		file    string // where the root has it
		want    []hostsWant
	}{
		{"linux sinkhole block", "linux-sinkhole", "etc/hosts", []hostsWant{
			{"dnl-01.geo.kaspersky.com", "0.0.0.0", true},
			{"dnl-07.geo.kaspersky.com", "0.0.0.0", true},
			{"downloads.upd.kaspersky.com", "0.0.0.0", true},
			{"s00.upd.kaspersky.com", "0.0.0.0", true},
			{"ksn-url-geo.kaspersky-labs.com", "127.0.0.1", true},
		}},
		{"macOS data volume", "linux-sinkhole", "private/etc/hosts", []hostsWant{
			{"dnl-01.geo.kaspersky.com", "0.0.0.0", true},
			{"dnl-07.geo.kaspersky.com", "0.0.0.0", true},
			{"downloads.upd.kaspersky.com", "0.0.0.0", true},
			{"s00.upd.kaspersky.com", "0.0.0.0", true},
			{"ksn-url-geo.kaspersky-labs.com", "127.0.0.1", true},
		}},
		{"windows CRLF and tabs", "windows-crlf", "WINDOWS/system32/Drivers/etc/hosts", []hostsWant{
			{"dnl-07.geo.kaspersky.com", "0.0.0.0", true},
			{"activation-v2.kaspersky.com", "0.0.0.0", true},
			{"s01.upd.kaspersky.com", "127.0.0.1", true},
		}},
		{"IPv6 sinkhole", "ipv6-sinkhole", "etc/hosts", []hostsWant{
			{"dnl-07.geo.kaspersky.com", "::", true},
			{"dnl-07.geo.kaspersky.com", "0.0.0.0", true},
			{"dnl-08.geo.kaspersky.com", "::ffff:127.0.0.1", true},
			{"dnl-09.geo.kaspersky.com", "fe80::1%eth0", false},
		}},
		{"LAN mirror", "lan-mirror", "etc/hosts", []hostsWant{
			{"dnl-01.geo.kaspersky.com", "10.0.0.5", false},
			{"dnl-02.geo.kaspersky.com", "10.0.0.5", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fstest.MapFS{tt.file: {Data: hostsFixture(t, tt.fixture)}}
			items, err := detectHostsFile(context.Background(), &Env{Root: root, UpdateHosts: hostsTestUpdateHosts})
			if err != nil {
				t.Fatal(err)
			}
			var got []hostsWant
			for _, it := range items {
				checkHostsItem(t, it, tt.file)
				got = append(got, hostsWant{it.Name, it.Attrs["address"], it.Attrs["sinkhole"] == "true"})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func checkHostsItem(t *testing.T, it Item, file string) {
	t.Helper()
	if it.Kind != KindHostsEntry || it.Path != file || it.State != StatePresent {
		t.Errorf("item %+v: want kind %s, path %s, state %s", it, KindHostsEntry, file, StatePresent)
	}
	want := "hosts file redirects " + it.Name + " to " + it.Attrs["address"]
	if it.Attrs["sinkhole"] == "true" {
		want = "hosts file maps " + it.Name + " to " + it.Attrs["address"] + " (a sinkhole)"
	}
	if it.Detail != want {
		t.Errorf("Detail = %q, want %q", it.Detail, want)
	}
}

func TestHostsFileLayouts(t *testing.T) {
	line := []byte("0.0.0.0 dnl-07.geo.kaspersky.com\n")
	tests := []struct {
		name string
		root fstest.MapFS
		want []string // paths of the files read
	}{
		{"none", fstest.MapFS{"etc/os-release": {Data: []byte("ID=debian\n")}}, nil},
		{"etc wins over private/etc", fstest.MapFS{"etc/hosts": {Data: line}, "private/etc/hosts": {Data: line}}, []string{"etc/hosts"}},
		{"windows, any case", fstest.MapFS{"windows/SYSTEM32/drivers/ETC/HOSTS": {Data: line}}, []string{"windows/SYSTEM32/drivers/ETC/HOSTS"}},
		{"etc/hosts a folder", fstest.MapFS{"etc/hosts/x": {Data: line}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := readHostsFiles(context.Background(), tt.root)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				got = append(got, f.Path)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("read %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHostsFileTooLarge: a file over the bound gives the entries of its
// start and an error naming it.
func TestHostsFileTooLarge(t *testing.T) {
	head := "0.0.0.0 dnl-07.geo.kaspersky.com\n"
	filler := strings.Repeat("# "+strings.Repeat("x", 100)+"\n", maxHostsFileSize/100)
	root := fstest.MapFS{"etc/hosts": {Data: []byte(head + filler + "0.0.0.0 dnl-01.geo.kaspersky.com\n")}}
	items, err := detectHostsFile(context.Background(), &Env{Root: root, UpdateHosts: hostsTestUpdateHosts})
	if err == nil || !strings.Contains(err.Error(), "etc/hosts") {
		t.Errorf("err = %v, want one naming etc/hosts", err)
	}
	if len(items) != 1 || items[0].Name != "dnl-07.geo.kaspersky.com" {
		t.Errorf("items = %+v, want only the entry at the start", items)
	}
}

func TestHostMatcher(t *testing.T) {
	m := newHostMatcher([]string{"A.example", "ksn-*.kaspersky-labs.com", "[sp]0?.upd.kaspersky.com", "a.example", "b.example."})
	tests := []struct {
		name  string
		index int
		ok    bool
	}{
		{"a.example", 0, true},
		{"b.example", 4, true},
		{"ksn-url-geo.kaspersky-labs.com", 1, true},
		{"ksn-.kaspersky-labs.com", 1, true},
		{"xksn-url.kaspersky-labs.com", 0, false},
		{"p07.upd.kaspersky.com", 2, true},
		{"q07.upd.kaspersky.com", 0, false},
		{"c.example", 0, false},
	}
	for _, tt := range tests {
		i, ok := m.match(tt.name)
		if i != tt.index || ok != tt.ok {
			t.Errorf("match(%q) = %d, %v; want %d, %v", tt.name, i, ok, tt.index, tt.ok)
		}
	}
	if want := []string{"a.example", "b.example"}; !reflect.DeepEqual(m.names, want) {
		t.Errorf("names = %v, want %v", m.names, want)
	}
}
