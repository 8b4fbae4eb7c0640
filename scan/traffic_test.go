package scan

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/banwatch/banwatch/policy"
)

// fakeResolver answers for the names it knows and fails for the others,
// at once, as an offline resolver would.
type fakeResolver map[string]string

func (r fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if ip, ok := r[host]; ok {
		return []string{ip}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// serverIP is an address of this machine other than loopback, to stand
// for an update server: the scan ignores loopback answers, which are
// sinkholes.
func serverIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Skip("needs a network interface with an IPv4 address other than loopback, to stand for an update server")
	return ""
}

// TestLiveUpdateTraffic runs a live scan while this process holds a real
// connection to a server that the resolver says is dnl-07: the report has
// an update-traffic finding naming this process and the host, not
// blocked, through the whole path (snapshot, matching, evaluation).
func TestLiveUpdateTraffic(t *testing.T) {
	ip := serverIP(t)
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	r, err := Run(context.Background(), Options{
		AsOf: asOf, Detectors: []string{"update-traffic", "processes"},
		Resolver: fakeResolver{"dnl-07.geo.kaspersky.com": ip},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Scan.Mode != "live" {
		t.Fatalf("mode %q", r.Scan.Mode)
	}
	want := fmt.Sprintf("dnl-07.geo.kaspersky.com:%d", port)
	// Other test binaries may hold connections to the same address at the
	// same time: look for this process's among the finding's evidence.
	for _, f := range r.Findings {
		if f.Kind != policy.KindUpdateTraffic {
			continue
		}
		if f.Traffic == nil || f.Traffic.Channel != "vendor" || !strings.Contains(f.Summary, "dnl-07.geo.kaspersky.com:") {
			t.Errorf("traffic %+v, summary %q", f.Traffic, f.Summary)
		}
		for _, e := range f.Evidence {
			if e.Type == "connection" && e.PID == int32(os.Getpid()) && e.Attrs["remote"] == want {
				if e.Attrs["blocked"] != "false" || e.Attrs["status"] != "ESTABLISHED" {
					t.Errorf("connection %+v, want established and not blocked", e)
				}
				return
			}
		}
		t.Fatalf("update-traffic evidence lacks this process's connection to %s: %+v", want, f.Evidence)
	}
	t.Fatalf("no update-traffic finding: %+v, errors %v", r.Findings, r.Errors)
}
