package detectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The SYN_SENT test needs a connection attempt that nobody answers and
// nobody refuses, without touching the host's network: the helper
// process runs in a network namespace of its own (CLONE_NEWNET, so it
// goes away with the process), routes TEST-NET-1 through a veth pair and
// pins the peer's MAC address, so its SYNs leave on the wire and are
// silently dropped, the way a firewall's DROP rule drops them. gopsutil
// reads /proc/net/tcp, which is the reader's own namespace: the helper
// runs the detector itself and hands the items back as JSON.

const (
	synHelperEnv = "BANWATCH_TEST_SYN_SENT"
	synTarget    = "192.0.2.1:443" // TEST-NET-1, inside the namespace only
	synHost      = "dnl-07.geo.kaspersky.com"
	synSkipCode  = 3 // the helper's exit code for "cannot set up here"
)

func TestUpdateTrafficSynSent(t *testing.T) {
	ipCmd := synPrerequisites(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSynSentProcess$")
	cmd.Env = append(os.Environ(), synHelperEnv+"="+ipCmd)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == synSkipCode:
		t.Skipf("cannot set up the namespace: %s", strings.TrimSpace(stderr.String()))
	case err != nil && cmd.Process == nil:
		t.Skipf("cannot start a process in a new network namespace (CLONE_NEWNET needs root or CAP_SYS_ADMIN): %v", err)
	case err != nil:
		t.Fatalf("helper: %v\n%s", err, stderr.String())
	}
	var items []Item
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		t.Fatal(err)
	}
	it := findConnection(t, items, int32(cmd.Process.Pid), "443")
	t.Logf("%s: %v", it.Detail, it.Attrs)
	checkConnection(t, it, synHost, exe, map[string]string{
		"remote": synHost + ":443", "remote_ip": "192.0.2.1", "status": "SYN_SENT",
		"channel": "vendor", "blocked": "true", "reason": "connection attempt not answered (SYN_SENT)",
	})
}

// synPrerequisites skips the test, saying what is missing, unless it can
// create a network namespace with veth devices; it returns the ip
// command (Debian package iproute2).
func synPrerequisites(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and a veth pair")
	}
	for _, p := range []string{"ip", "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("needs the ip command (Debian package iproute2)")
	return ""
}

// TestHelperSynSentProcess is not a test: started by
// TestUpdateTrafficSynSent in a new network namespace, it sets the
// namespace up, starts a connection that stays in SYN_SENT, runs the
// detector and prints its items as JSON.
func TestHelperSynSentProcess(t *testing.T) {
	ipCmd := os.Getenv(synHelperEnv)
	if ipCmd == "" {
		return
	}
	if err := setUpBlackHole(ipCmd); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(synSkipCode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = (&net.Dialer{}).DialContext(ctx, "tcp", synTarget) }()
	items, err := synDetect(ctx)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(items)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// setUpBlackHole makes 192.0.2.0/24 reachable through a veth pair whose
// far end has no address and drops what it gets.
func setUpBlackHole(ipCmd string) error {
	steps := [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "bwsyn0", "type", "veth", "peer", "name", "bwsyn1"},
		{"addr", "add", "192.0.2.10/24", "dev", "bwsyn0"},
		{"link", "set", "bwsyn0", "up"},
		{"link", "set", "bwsyn1", "up"},
		// No ARP: the SYN goes out at once, to a MAC nobody has.
		{"neigh", "replace", "192.0.2.1", "lladdr", "02:00:00:00:00:01", "dev", "bwsyn0", "nud", "permanent"},
	}
	for _, s := range steps {
		if out, err := exec.Command(ipCmd, s...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s (a kernel without veth support?)", strings.Join(s, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// synDetect waits until the connection attempt shows in a snapshot, then
// runs the detector.
func synDetect(ctx context.Context) ([]Item, error) {
	lister := NewConnectionLister()
	for attempt := 0; ; attempt++ {
		conns, err := lister.Connections(ctx)
		if err != nil {
			return nil, err
		}
		if hasSynSent(conns) {
			break
		}
		if attempt == 200 {
			return nil, fmt.Errorf("no SYN_SENT socket to %s after %d snapshots: %+v", synTarget, attempt, conns)
		}
		time.Sleep(10 * time.Millisecond)
	}
	env := &Env{
		Live: true, UpdateHosts: []string{synHost},
		Resolver:    &fakeResolver{answers: map[string][]string{synHost: {"192.0.2.1"}}},
		Connections: lister, Processes: NewProcessLister(),
	}
	return updateTraffic{}.Detect(ctx, env)
}

func hasSynSent(conns []Connection) bool {
	for _, c := range conns {
		if c.Status == "SYN_SENT" && net.JoinHostPort(c.RemoteIP, fmt.Sprint(c.RemotePort)) == synTarget && c.PID == int32(os.Getpid()) {
			return true
		}
	}
	return false
}

// BenchmarkUpdateTrafficMatch measures, over 5,000 loopback sockets
// (2,500 connected pairs), the connection snapshot and the match step
// alone: the worst case, where every socket matches, and the usual one,
// where none does.
func BenchmarkUpdateTrafficMatch(b *testing.B) {
	const pairs = 2500
	raiseOpenFiles(b, 2*pairs+256)
	ln := listen(b, "127.0.0.1:0")
	for i := 0; i < pairs; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		b.Cleanup(func() { c.Close() })
	}
	ctx := context.Background()
	lister := NewConnectionLister()
	conns := waitForSockets(b, lister, 2*pairs)
	b.Run("snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := lister.Connections(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	m := benchMatch()
	execs := map[int32]string{int32(os.Getpid()): "/opt/kaspersky/kesl/libexec/kesl"}
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if items := m.items(m.find(conns), execs); len(items) < pairs {
				b.Fatalf("%d items", len(items))
			}
		}
	})
	delete(m.byIP, netip.MustParseAddr("127.0.0.1"))
	b.Run("match-none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if items := m.items(m.find(conns), execs); len(items) != 0 {
				b.Fatalf("%d items", len(items))
			}
		}
	})
}

// benchMatch is a policy's worth of resolved hosts (60 names, two
// addresses each) plus the loopback address the benchmark's sockets use.
func benchMatch() *trafficMatch {
	m := &trafficMatch{byIP: map[netip.Addr]string{}, ports: map[uint32]bool{13000: true, 14000: true}, blocks: map[string]string{}}
	for i := range 60 {
		name := fmt.Sprintf("dnl-%02d.geo.kaspersky.com", i)
		m.byIP[netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})] = name
		m.byIP[netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i))] = name
	}
	m.byIP[netip.MustParseAddr("127.0.0.1")] = "dnl-07.geo.kaspersky.com"
	return m
}

// waitForSockets takes snapshots until the accepting goroutine has caught
// up and at least n sockets with a peer show.
func waitForSockets(b *testing.B, l ConnectionLister, n int) []Connection {
	for attempt := 0; ; attempt++ {
		conns, err := l.Connections(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		peers := 0
		for _, c := range conns {
			if c.RemotePort != 0 && c.PID == int32(os.Getpid()) {
				peers++
			}
		}
		if peers >= n {
			return conns
		}
		if attempt == 100 {
			b.Fatalf("%d sockets with a peer, want %d", peers, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// raiseOpenFiles raises the soft limit on open files to n if it is lower.
func raiseOpenFiles(b *testing.B, n uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		b.Skipf("needs %d open files, the hard limit is %d (ulimit -Hn)", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("cannot raise the open-file limit to %d: %v", n, err)
	}
}
