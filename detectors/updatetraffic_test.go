package detectors

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// fakeResolver answers from a table and counts look-ups; a name not in
// the table does not exist.
type fakeResolver struct {
	answers map[string][]string
	mu      sync.Mutex
	calls   map[string]int
}

func (r *fakeResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[host]++
	r.mu.Unlock()
	if a, ok := r.answers[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// Environment of the helper process that holds connections open for the
// tests: a comma-separated list of addresses to connect to.
const trafficHelperEnv = "BANWATCH_TEST_TRAFFIC_CONNECT"

// TestHelperTrafficProcess is not a test: run with trafficHelperEnv set
// (by startConnector), it connects to each address, prints "connected",
// and holds the connections until its stdin closes.
func TestHelperTrafficProcess(t *testing.T) {
	addrs := os.Getenv(trafficHelperEnv)
	if addrs == "" {
		return
	}
	var conns []net.Conn
	for _, a := range strings.Split(addrs, ",") {
		c, err := net.Dial("tcp", a)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		conns = append(conns, c)
	}
	fmt.Println("connected")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	os.Exit(0)
}

// startConnector starts the test binary as a helper process connected to
// addrs and returns its pid and image once the connections are up.
func startConnector(t *testing.T, addrs ...string) (pid int32, exe string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTrafficProcess$")
	cmd.Env = append(os.Environ(), trafficHelperEnv+"="+strings.Join(addrs, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "connected\n" {
		t.Fatalf("helper process: %q, %v", line, err)
	}
	exe, err = os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		t.Fatal(err)
	}
	return int32(cmd.Process.Pid), exe
}

// listen starts a TCP listener that accepts and holds connections until
// the test ends.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var accepted []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted = append(accepted, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range accepted {
			c.Close()
		}
	})
	return ln
}

// localUnicastIPv4 returns an address of this machine that is not
// loopback: the tests pretend it is an update server's, and a loopback
// address would be a sinkhole, never matched.
func localUnicastIPv4(t *testing.T) string {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	t.Skip("needs a network interface with an IPv4 address other than loopback, to stand for an update server")
	return ""
}

// TestUpdateTrafficLiveSockets runs the detector over real sockets: a
// helper process connected to a listener that stands for an update host
// (through the fake resolver) or a management server (by its port).
func TestUpdateTrafficLiveSockets(t *testing.T) {
	vendorLn := listen(t, net.JoinHostPort(localUnicastIPv4(t), "0"))
	managedLn := listen(t, "127.0.0.1:0")
	// A local proxy the update host resolves to (a loopback answer).
	loopLn := listen(t, "127.0.0.1:0")
	pid, exe := startConnector(t, vendorLn.Addr().String(), managedLn.Addr().String(), loopLn.Addr().String())
	_, loopPort := splitAddr(t, loopLn.Addr())
	vendorIP, vendorPort := splitAddr(t, vendorLn.Addr())
	_, managedPort := splitAddr(t, managedLn.Addr())
	const host = "dnl-07.geo.kaspersky.com"
	tests := []struct {
		name     string
		answers  []string
		hosts    string // the root's etc/hosts
		port     string // the listener connected to
		channel  string
		itemName string
		remote   string
		reason   string
		sinkhole string
	}{
		{name: "vendor", answers: []string{vendorIP}, port: vendorPort, channel: "vendor", itemName: host,
			remote: net.JoinHostPort(host, vendorPort)},
		{name: "managed port", port: managedPort, channel: "managed",
			remote: net.JoinHostPort("127.0.0.1", managedPort)},
		{name: "DNS sinkhole bypassed", answers: []string{"0.0.0.0", vendorIP}, port: vendorPort, channel: "vendor", itemName: host,
			remote: net.JoinHostPort(host, vendorPort), reason: "connected although DNS answers 0.0.0.0 for " + host},
		{name: "hosts file sinkhole bypassed", answers: []string{vendorIP}, hosts: "0.0.0.0 " + host + "\n", port: vendorPort,
			channel: "vendor", itemName: host, remote: net.JoinHostPort(host, vendorPort),
			reason: "connected although hosts file maps " + host + " to 0.0.0.0"},
		{name: "resolves to loopback", answers: []string{"127.0.0.1"}, port: loopPort, channel: "vendor", itemName: host,
			remote: net.JoinHostPort(host, loopPort), reason: "connected although DNS answers 127.0.0.1 for " + host, sinkhole: "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &Env{
				Live: true, Root: fstest.MapFS{"etc/hosts": {Data: []byte(tt.hosts)}},
				UpdateHosts: []string{host}, ManagedPorts: []int{mustAtoi(t, managedPort)},
				Resolver:    &fakeResolver{answers: map[string][]string{host: tt.answers}},
				Connections: NewConnectionLister(), Processes: NewProcessLister(),
			}
			items, err := updateTraffic{}.Detect(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			it := findConnection(t, items, pid, tt.port)
			want := map[string]string{"remote": tt.remote, "remote_port": tt.port, "status": "ESTABLISHED",
				"channel": tt.channel, "blocked": "false", "reason": tt.reason, "sinkhole": tt.sinkhole}
			checkConnection(t, it, tt.itemName, exe, want)
		})
	}
}

func splitAddr(t testing.TB, a net.Addr) (ip, port string) {
	t.Helper()
	ip, port, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ip, port
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// findConnection returns the item of pid's connection to port.
func findConnection(t *testing.T, items []Item, pid int32, port string) Item {
	t.Helper()
	for _, it := range items {
		if it.Process != nil && it.Process.PID == pid && it.Attrs["remote_port"] == port {
			return it
		}
	}
	t.Fatalf("no connection item of pid %d to port %s in %+v", pid, port, items)
	return Item{}
}

func checkConnection(t *testing.T, it Item, name, exe string, want map[string]string) {
	t.Helper()
	if it.Kind != KindConnection || it.Name != name || it.State != StatePresent {
		t.Errorf("item %+v: want kind %s, name %q, state %s", it, KindConnection, name, StatePresent)
	}
	if it.Exec != exe {
		t.Errorf("Exec = %q, want %q", it.Exec, exe)
	}
	for k, v := range want {
		if it.Attrs[k] != v {
			t.Errorf("Attrs[%s] = %q, want %q", k, it.Attrs[k], v)
		}
	}
}

// TestUpdateTrafficRules matches a fixed snapshot: which sockets count,
// on which channel, under which name, and whether they are blocked.
func TestUpdateTrafficRules(t *testing.T) {
	hosts := newHostMatcher([]string{"dnl-01.geo.kaspersky.com", "dnl-07.geo.kaspersky.com", "s00.upd.kaspersky.com", "downloads.upd.kaspersky.com"})
	answers := []hostAnswer{
		{name: "dnl-01.geo.kaspersky.com", addrs: addrs("203.0.113.1", "2001:db8::1")},
		{name: "dnl-07.geo.kaspersky.com", addrs: addrs("203.0.113.1", "203.0.113.7", "127.0.0.1")},
		{name: "s00.upd.kaspersky.com", addrs: addrs("::", "203.0.113.50")},
		{name: "downloads.upd.kaspersky.com", addrs: addrs("203.0.113.9")},
	}
	files := []hostsFile{{Path: "etc/hosts", Entries: parseHosts([]byte("0.0.0.0 dnl-07.geo.kaspersky.com\n10.0.0.5 dnl-01.geo.kaspersky.com\n"))}}
	m := newTrafficMatch(hosts, answers, files, []int{13000, 0, 70000})
	m.blocks["downloads.upd.kaspersky.com"] = "probe to downloads.upd.kaspersky.com:443 failed: connect: refused"
	type want struct{ name, remote, channel, blocked, reason string }
	tests := []struct {
		name string
		conn Connection
		want *want // nil: not reported
	}{
		{"vendor established", conn(10, "ESTABLISHED", "203.0.113.1", 443), &want{"dnl-01.geo.kaspersky.com", "dnl-01.geo.kaspersky.com:443", "vendor", "false", ""}},
		{"IPv6", conn(10, "ESTABLISHED", "2001:db8::1", 443), &want{"dnl-01.geo.kaspersky.com", "dnl-01.geo.kaspersky.com:443", "vendor", "false", ""}},
		{"IPv4-mapped", conn(10, "ESTABLISHED", "::ffff:203.0.113.1", 80), &want{"dnl-01.geo.kaspersky.com", "dnl-01.geo.kaspersky.com:80", "vendor", "false", ""}},
		{"hosts-file mirror", conn(10, "ESTABLISHED", "10.0.0.5", 80), &want{"dnl-01.geo.kaspersky.com", "dnl-01.geo.kaspersky.com:80", "vendor", "false", ""}},
		{"SYN_SENT", conn(10, "SYN_SENT", "203.0.113.1", 443), &want{"dnl-01.geo.kaspersky.com", "dnl-01.geo.kaspersky.com:443", "vendor", "true", "connection attempt not answered (SYN_SENT)"}},
		{"hosts sinkhole, not answered", conn(10, "CLOSE", "203.0.113.7", 443), &want{"dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", "true", "hosts file maps dnl-07.geo.kaspersky.com to 0.0.0.0"}},
		{"hosts sinkhole, bypassed", conn(10, "ESTABLISHED", "203.0.113.7", 443), &want{"dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", "false", "connected although hosts file maps dnl-07.geo.kaspersky.com to 0.0.0.0"}},
		{"hosts sinkhole, bypassed, closing", conn(10, "TIME_WAIT", "203.0.113.7", 443), &want{"dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", "false", "connected although hosts file maps dnl-07.geo.kaspersky.com to 0.0.0.0"}},
		{"DNS sinkhole, not answered", conn(10, "CLOSE", "203.0.113.50", 443), &want{"s00.upd.kaspersky.com", "s00.upd.kaspersky.com:443", "vendor", "true", "DNS answers :: for s00.upd.kaspersky.com"}},
		{"failed probe, not answered", conn(10, "", "203.0.113.9", 443), &want{"downloads.upd.kaspersky.com", "downloads.upd.kaspersky.com:443", "vendor", "true", "probe to downloads.upd.kaspersky.com:443 failed: connect: refused"}},
		{"failed probe, SYN_SENT", conn(10, "SYN_SENT", "203.0.113.9", 443), &want{"downloads.upd.kaspersky.com", "downloads.upd.kaspersky.com:443", "vendor", "true", "connection attempt not answered (SYN_SENT)"}},
		{"managed", conn(11, "ESTABLISHED", "10.1.2.3", 13000), &want{"", "10.1.2.3:13000", "managed", "false", ""}},
		{"managed IPv6", conn(11, "SYN_SENT", "fd00::7", 13000), &want{"", "[fd00::7]:13000", "managed", "true", "connection attempt not answered (SYN_SENT)"}},
		// A sinkhole answer matches, marked as such: the policy counts it
		// only for a vendor's process (a product reaching a local proxy).
		{"sinkhole answer", conn(12, "ESTABLISHED", "127.0.0.1", 443), &want{"dnl-07.geo.kaspersky.com", "dnl-07.geo.kaspersky.com:443", "vendor", "false", "connected although hosts file maps dnl-07.geo.kaspersky.com to 0.0.0.0"}},
		{"other host", conn(12, "ESTABLISHED", "198.51.100.1", 443), nil},
		{"listening", conn(12, "LISTEN", "203.0.113.1", 0), nil},
		{"listening on the port", Connection{PID: 12, Status: "LISTEN", LocalIP: "0.0.0.0", LocalPort: 13000, RemoteIP: "0.0.0.0"}, nil},
		{"no remote", conn(12, "CLOSE", "", 0), nil},
		{"unspecified remote", conn(12, "ESTABLISHED", "0.0.0.0", 13000), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := m.items(m.find([]Connection{tt.conn}), map[int32]string{10: "/opt/kaspersky/kesl/libexec/kesl"})
			if tt.want == nil {
				if len(items) != 0 {
					t.Fatalf("reported %+v", items)
				}
				return
			}
			if len(items) != 1 {
				t.Fatalf("got %d items, want 1", len(items))
			}
			a := items[0].Attrs
			got := want{items[0].Name, a["remote"], a["channel"], a["blocked"], a["reason"]}
			if got != *tt.want {
				t.Errorf("got %+v\nwant %+v", got, *tt.want)
			}
			if (a["sinkhole"] == "true") != (tt.name == "sinkhole answer") {
				t.Errorf("sinkhole mark %q", a["sinkhole"])
			}
			if a["status"] != tt.conn.Status || a["remote_ip"] == "" || a["remote_port"] != strconv.Itoa(int(tt.conn.RemotePort)) {
				t.Errorf("attrs %v do not describe %+v", a, tt.conn)
			}
			if tt.conn.PID == 10 && items[0].Exec != "/opt/kaspersky/kesl/libexec/kesl" {
				t.Errorf("Exec = %q", items[0].Exec)
			}
		})
	}
}

func conn(pid int32, status, ip string, port uint32) Connection {
	return Connection{PID: pid, Status: status, LocalIP: "192.0.2.10", LocalPort: 50000, RemoteIP: ip, RemotePort: port}
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

// TestUpdateTrafficItemShape: the socket pid 0 (owner unknown) has no
// process, and sockets that differ only in their local port are one item.
func TestUpdateTrafficItemShape(t *testing.T) {
	m := newTrafficMatch(newHostMatcher(nil), nil, nil, []int{13000})
	a := conn(0, "TIME_WAIT", "10.1.2.3", 13000)
	b := a
	b.LocalPort++
	items := m.items(m.find([]Connection{a, b}), map[int32]string{})
	if len(items) != 1 {
		t.Fatalf("got %d items, want 1: %+v", len(items), items)
	}
	it := items[0]
	if it.Process != nil || it.Exec != "" || it.Detail != "TIME_WAIT 10.1.2.3:13000" {
		t.Errorf("item %+v", it)
	}
}

func TestResolveHosts(t *testing.T) {
	r := &fakeResolver{answers: map[string][]string{
		"a.example": {"203.0.113.1", "not an address", "2001:db8::1"},
		"b.example": {"0.0.0.0"},
	}}
	hosts := newHostMatcher([]string{"a.example", "A.example", "ksn-*.example", "b.example", "c.example"})
	got := resolveHosts(context.Background(), r, hosts.names)
	want := []hostAnswer{
		{name: "a.example", addrs: addrs("203.0.113.1", "2001:db8::1")},
		{name: "b.example", addrs: addrs("0.0.0.0")},
		{name: "c.example"}, // not found
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if wantCalls := map[string]int{"a.example": 1, "b.example": 1, "c.example": 1}; !reflect.DeepEqual(r.calls, wantCalls) {
		t.Errorf("look-ups %v, want %v (each exact name once, no pattern)", r.calls, wantCalls)
	}
	m := newTrafficMatch(hosts, got, nil, nil)
	if m.blocks["b.example"] != "DNS answers 0.0.0.0 for b.example" || len(m.byIP) != 2 {
		t.Errorf("blocks %v, byIP %v", m.blocks, m.byIP)
	}
}

// barrierResolver holds each look-up until `want` are in flight at once,
// and records the most it saw.
type barrierResolver struct {
	want     int
	mu       sync.Mutex
	inFlight int
	max      int
	full     chan struct{}
	opened   bool
}

func (r *barrierResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	r.mu.Lock()
	r.inFlight++
	r.max = max(r.max, r.inFlight)
	if r.inFlight == r.want && !r.opened {
		close(r.full)
		r.opened = true
	}
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.inFlight--; r.mu.Unlock() }()
	select {
	case <-r.full:
		return []string{"203.0.113.1"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestResolveHostsInFlight: look-ups run lookupsInFlight at a time, no
// more (the barrier would not open with fewer, the maximum shows more).
func TestResolveHostsInFlight(t *testing.T) {
	r := &barrierResolver{want: lookupsInFlight, full: make(chan struct{})}
	var names []string
	for i := range 30 {
		names = append(names, fmt.Sprintf("dnl-%02d.geo.kaspersky.com", i))
	}
	for _, a := range resolveHosts(context.Background(), r, names) {
		if len(a.addrs) != 1 {
			t.Fatalf("%s not resolved: the look-ups did not reach %d in flight", a.name, lookupsInFlight)
		}
	}
	if r.max != lookupsInFlight {
		t.Errorf("at most %d look-ups in flight, want %d", r.max, lookupsInFlight)
	}
}

func TestProbeHosts(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, []string{}},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"a", "b", "c", "d", "e", "f", "downloads.upd.kaspersky.com"}, []string{"downloads.upd.kaspersky.com", "a", "b", "c", "d"}},
		{[]string{"a", "b", "c", "d", "e", "f"}, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		if got := probeHosts(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("probeHosts(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestUpdateTrafficProbe probes a local TLS server through the injected
// dialer: trusted, a closed port, and a certificate nobody vouches for.
func TestUpdateTrafficProbe(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	srv.StartTLS()
	defer srv.Close()
	trusted := x509.NewCertPool()
	trusted.AddCert(srv.Certificate())
	closed := listen(t, "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	const host = "example.com" // a name in httptest's certificate
	tests := []struct {
		name      string
		target    string
		roots     *x509.CertPool
		reachable string
		errHas    string
	}{
		{"reachable", srv.Listener.Addr().String(), trusted, "true", ""},
		{"closed port", closedAddr, trusted, "false", "connect: "},
		{"untrusted certificate", srv.Listener.Addr().String(), x509.NewCertPool(), "false", "TLS handshake: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dialed []string
			d := updateTraffic{roots: tt.roots, dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dialed = append(dialed, addr)
				return (&net.Dialer{}).DialContext(ctx, network, tt.target)
			}}
			env := &Env{Live: true, UpdateHosts: []string{host}, ProbeUpdates: true,
				Resolver: &fakeResolver{}, Connections: NewConnectionLister()}
			items, err := d.Detect(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			it := findProbe(t, items, host)
			checkProbe(t, it, tt.reachable, tt.errHas)
			if !reflect.DeepEqual(dialed, []string{"example.com:443"}) {
				t.Errorf("dialed %v, want [example.com:443]", dialed)
			}
		})
	}
}

func findProbe(t *testing.T, items []Item, host string) Item {
	t.Helper()
	for _, it := range items {
		if it.Kind == KindProbe && it.Name == host {
			return it
		}
	}
	t.Fatalf("no probe item for %s in %+v", host, items)
	return Item{}
}

func checkProbe(t *testing.T, it Item, reachable, errHas string) {
	t.Helper()
	e := it.Attrs["error"]
	if it.Attrs["reachable"] != reachable || !strings.Contains(e, errHas) || (errHas == "") != (e == "") {
		t.Errorf("attrs %v, want reachable %s and an error with %q", it.Attrs, reachable, errHas)
	}
	want := "reachable"
	if e != "" {
		want = "unreachable: " + e
	}
	if it.Detail != want || it.State != StatePresent || it.Path != "" {
		t.Errorf("item %+v", it)
	}
}

// TestProbeFailureBlocks: a failed probe marks its host blocked, unless a
// sinkhole already says why.
func TestProbeFailureBlocks(t *testing.T) {
	d := updateTraffic{dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, errors.New("refused")
	}}
	blocks := map[string]string{"b.example": "hosts file maps b.example to 0.0.0.0"}
	d.probeAll(context.Background(), []string{"a.example", "b.example"}, blocks)
	want := map[string]string{
		"a.example": "probe to a.example:443 failed: connect: refused",
		"b.example": "hosts file maps b.example to 0.0.0.0",
	}
	if !reflect.DeepEqual(blocks, want) {
		t.Errorf("blocks %v, want %v", blocks, want)
	}
}

func TestUpdateTrafficNoLister(t *testing.T) {
	_, err := updateTraffic{}.Detect(context.Background(), &Env{Live: true})
	if err == nil || err.Error() != "no connection lister" {
		t.Errorf("err = %v", err)
	}
}
