package detectors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

func init() {
	register(Spec{Name: "update-traffic", Live: true, Detector: updateTraffic{}})
}

const (
	lookupTimeout   = 2 * time.Second
	resolveTimeout  = 10 * time.Second
	lookupsInFlight = 8
	probeTimeout    = 5 * time.Second
	maxProbes       = 5
	preferredProbe  = "downloads.upd.kaspersky.com" // the products' own reachability check
	statusSynSent   = "SYN_SENT"
)

// updateTraffic reports live connections to the vendors' update hosts and
// to management-server ports, and whether they are blocked. The zero
// value uses the system's network and trust store; the fields are seams
// for tests.
type updateTraffic struct {
	// dial opens a probe's TCP connection; nil means a net.Dialer.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// roots verifies a probe's certificate chain; nil means the system
	// roots.
	roots *x509.CertPool
}

// Detect resolves the update hosts, takes one connection snapshot before
// any probe (so the probes' own sockets are not reported), probes if
// allowed, and matches the snapshot.
func (d updateTraffic) Detect(ctx context.Context, env *Env) ([]Item, error) {
	if env.Connections == nil {
		return nil, errors.New("no connection lister")
	}
	hosts := newHostMatcher(env.UpdateHosts)
	files, herr := readHostsFiles(ctx, env.Root)
	if herr != nil {
		logDebug(env, "update-traffic: hosts file", herr)
	}
	answers := resolveHosts(ctx, env.Resolver, hosts.names)
	m := newTrafficMatch(hosts, answers, files, env.ManagedPorts)
	conns, err := env.Connections.Connections(ctx)
	if err != nil {
		err = fmt.Errorf("connection snapshot: %w", err)
		if len(conns) == 0 {
			return nil, err
		}
	}
	var probes []Item
	if env.ProbeUpdates {
		probes = d.probeAll(ctx, probeHosts(hosts.names), m.blocks)
	}
	matches := m.find(conns)
	var execs map[int32]string
	if len(matches) > 0 {
		execs = processExecs(ctx, env)
	}
	return append(m.items(matches, execs), probes...), err
}

func logDebug(env *Env, msg string, err error) {
	if env.Log != nil {
		env.Log.Debug(msg, zap.Error(err))
	}
}

// trafficMatch is what a connection is matched against: one map look-up
// by remote address and one by remote port, whatever the number of hosts.
type trafficMatch struct {
	byIP map[netip.Addr]string // resolved address → update host
	// bySinkhole holds the sinkhole answers (127.0.0.1, 0.0.0.0, ::1):
	// a connection to one may be the vendor's product reaching a local
	// proxy or mirror, or any local traffic at all, so such connections
	// are marked and the policy counts them only for a vendor's process.
	bySinkhole map[netip.Addr]string
	ports      map[uint32]bool // management-server ports
	// blocks says why an update host cannot be reached: a hosts-file or
	// DNS sinkhole, a failed probe.
	blocks map[string]string
}

// hostAnswer is what the resolver said about one update host.
type hostAnswer struct {
	name  string
	addrs []netip.Addr
}

// newTrafficMatch builds the match tables. Sinkhole addresses never go
// into byIP: a DNS or hosts-file sinkhole answering 127.0.0.1 would
// otherwise make every loopback connection on the machine look like
// update traffic. They mark the name as blocked, and go into bySinkhole.
func newTrafficMatch(hosts hostMatcher, answers []hostAnswer, files []hostsFile, ports []int) *trafficMatch {
	m := &trafficMatch{byIP: map[netip.Addr]string{}, bySinkhole: map[netip.Addr]string{},
		ports: map[uint32]bool{}, blocks: map[string]string{}}
	for _, p := range ports {
		if p > 0 && p <= 65535 {
			m.ports[uint32(p)] = true
		}
	}
	for _, f := range files {
		for _, e := range f.Entries {
			if _, ok := hosts.match(e.Name); ok && isSinkhole(e.Address) && m.blocks[e.Name] == "" {
				m.blocks[e.Name] = fmt.Sprintf("hosts file maps %s to %s", e.Name, e.Address)
			}
		}
	}
	for _, a := range answers { // in policy order, so the first name wins an address
		for _, ip := range a.addrs {
			m.add(a.name, ip, "DNS answers %s for %s")
		}
	}
	for _, f := range files { // a hosts-file redirect (a LAN mirror) is an answer too
		for _, e := range f.Entries {
			if _, ok := hosts.match(e.Name); ok {
				m.add(e.Name, e.Address, "hosts file maps %s to %s")
			}
		}
	}
	return m
}

// add records one answer for name: a sinkhole blocks the name, any other
// address identifies it unless an earlier name has it.
func (m *trafficMatch) add(name string, ip netip.Addr, sinkholeReason string) {
	ip = ip.Unmap().WithZone("")
	if isSinkhole(ip) {
		if m.blocks[name] == "" {
			m.blocks[name] = fmt.Sprintf(sinkholeReason, ip, name)
		}
		if _, taken := m.bySinkhole[ip]; !taken && !ip.IsUnspecified() {
			m.bySinkhole[ip] = name
		}
		return
	}
	if _, taken := m.byIP[ip]; !taken {
		m.byIP[ip] = name
	}
}

// connMatch is a connection that concerns updates.
type connMatch struct {
	conn    Connection
	ip      netip.Addr
	channel string // "vendor" or "managed"
	name    string // the update host; "" on the managed channel
	// sinkhole: the address is a sinkhole answer for name (a loopback
	// address), which only a vendor's process makes update traffic.
	sinkhole bool
}

// find returns the connections to an update host or a management port,
// each socket once. Listening sockets and sockets without a peer are
// skipped.
func (m *trafficMatch) find(conns []Connection) []connMatch {
	var out []connMatch
	for _, c := range conns {
		if c.Status == "LISTEN" || c.RemotePort == 0 {
			continue
		}
		ip, err := netip.ParseAddr(c.RemoteIP)
		if err != nil || ip.IsUnspecified() {
			continue
		}
		ip = ip.Unmap().WithZone("")
		if name, ok := m.byIP[ip]; ok {
			out = append(out, connMatch{conn: c, ip: ip, channel: "vendor", name: name})
		} else if name, ok := m.bySinkhole[ip]; ok {
			out = append(out, connMatch{conn: c, ip: ip, channel: "vendor", name: name, sinkhole: true})
		} else if m.ports[c.RemotePort] {
			out = append(out, connMatch{conn: c, ip: ip, channel: "managed"})
		}
	}
	return out
}

// items turns matches into items; execs maps a pid to its image. Sockets
// that differ only in their local port (parallel downloads) give one item.
func (m *trafficMatch) items(matches []connMatch, execs map[int32]string) []Item {
	type key struct {
		pid    int32
		ip     netip.Addr
		port   uint32
		status string
	}
	seen := make(map[key]bool, len(matches))
	items := make([]Item, 0, len(matches))
	for _, cm := range matches {
		k := key{cm.conn.PID, cm.ip, cm.conn.RemotePort, cm.conn.Status}
		if seen[k] {
			continue
		}
		seen[k] = true
		items = append(items, m.item(cm, execs[cm.conn.PID]))
	}
	return items
}

func (m *trafficMatch) item(cm connMatch, exe string) Item {
	port := strconv.FormatUint(uint64(cm.conn.RemotePort), 10)
	ip := cm.ip.String()
	remote := net.JoinHostPort(ip, port)
	if cm.name != "" {
		remote = net.JoinHostPort(cm.name, port)
	}
	blocked, reason := m.blocked(cm)
	detail := fmt.Sprintf("%s %s", cm.conn.Status, remote)
	if cm.name != "" {
		detail += " (" + ip + ")"
	}
	if cm.conn.PID > 0 {
		detail += fmt.Sprintf(" from pid %d", cm.conn.PID)
	}
	it := Item{
		Kind: KindConnection, Name: cm.name, Exec: exe, State: StatePresent, Detail: detail,
		Attrs: map[string]string{
			"remote": remote, "remote_ip": ip, "remote_port": port,
			"status": cm.conn.Status, "channel": cm.channel,
			"blocked": strconv.FormatBool(blocked), "reason": reason,
		},
	}
	if cm.sinkhole {
		it.Attrs["sinkhole"] = "true"
	}
	if cm.conn.PID > 0 { // 0: the OS did not say (another user's socket, TIME_WAIT)
		it.Process = &Process{PID: cm.conn.PID}
	}
	return it
}

// blocked says whether a connection cannot carry updates. A SYN that is
// not answered is blocked by definition. A host the hosts file, DNS or a
// probe says is unreachable is blocked too, unless the connection's state
// shows the peer answered (ESTABLISHED, or closing after it was): then
// the block is being bypassed (a cached or hard-coded address, the
// products' public-DNS fallback), which is worth saying, not hiding.
func (m *trafficMatch) blocked(cm connMatch) (bool, string) {
	if cm.conn.Status == statusSynSent {
		return true, "connection attempt not answered (SYN_SENT)"
	}
	why := m.blocks[cm.name]
	if cm.name == "" || why == "" {
		return false, ""
	}
	if answered(cm.conn.Status) {
		return false, "connected although " + why
	}
	return true, why
}

// answered reports whether a TCP state is reached only after the peer
// answered, as Linux, Windows and lsof name the states.
func answered(status string) bool {
	switch status {
	case "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "FIN_WAIT_1", "FIN_WAIT_2",
		"CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT":
		return true
	}
	return false
}

// processExecs maps pids to images from one process snapshot; a process
// whose image the OS would not give is named by its name.
func processExecs(ctx context.Context, env *Env) map[int32]string {
	if env.Processes == nil {
		return nil
	}
	procs, err := env.Processes.Processes(ctx)
	if err != nil {
		logDebug(env, "update-traffic: process snapshot", err)
	}
	execs := make(map[int32]string, len(procs))
	for _, p := range procs {
		if p.PID == 0 {
			continue
		}
		if p.Exe != "" {
			execs[p.PID] = p.Exe
		} else if p.Name != "" {
			execs[p.PID] = p.Name
		}
	}
	return execs
}

// resolveHosts looks up each name once, lookupsInFlight at a time, each
// within lookupTimeout and all within resolveTimeout. A name that does
// not resolve has no addresses: an air-gapped machine is not an error.
// The answers come back in the order of names.
func resolveHosts(ctx context.Context, r Resolver, names []string) []hostAnswer {
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	out := make([]hostAnswer, len(names))
	for i, name := range names {
		out[i].name = name
	}
	sem := make(chan struct{}, lookupsInFlight)
	var wg sync.WaitGroup
	for i, name := range names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return out
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i].addrs = lookup(ctx, r, name)
		}()
	}
	wg.Wait()
	return out
}

func lookup(ctx context.Context, r Resolver, name string) []netip.Addr {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	answers, err := r.LookupHost(ctx, name)
	if err != nil {
		return nil
	}
	addrs := make([]netip.Addr, 0, len(answers))
	for _, a := range answers {
		if ip, err := netip.ParseAddr(a); err == nil {
			addrs = append(addrs, ip)
		}
	}
	return addrs
}

// probeHosts picks the hosts to probe: the products' own reachability
// check first when the policy lists it, then the first others.
func probeHosts(names []string) []string {
	out := make([]string, 0, maxProbes)
	for _, n := range names {
		if n == preferredProbe {
			out = append(out, n)
		}
	}
	for _, n := range names {
		if len(out) == maxProbes {
			break
		}
		if n != preferredProbe {
			out = append(out, n)
		}
	}
	return out
}

// probeAll probes hosts in parallel and records a failed probe in blocks,
// unless the host is already known blocked.
func (d updateTraffic) probeAll(ctx context.Context, hosts []string, blocks map[string]string) []Item {
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.probe(ctx, h)
		}()
	}
	wg.Wait()
	items := make([]Item, len(hosts))
	for i, h := range hosts {
		items[i] = probeItem(h, errs[i])
		if errs[i] != nil && blocks[h] == "" {
			blocks[h] = fmt.Sprintf("probe to %s:443 failed: %v", h, errs[i])
		}
	}
	return items
}

func probeItem(host string, err error) Item {
	it := Item{Kind: KindProbe, Name: host, State: StatePresent, Detail: "reachable",
		Attrs: map[string]string{"reachable": "true", "error": ""}}
	if err != nil {
		it.Detail = "unreachable: " + err.Error()
		it.Attrs["reachable"], it.Attrs["error"] = "false", err.Error()
	}
	return it
}

// probe connects to host:443 and completes a TLS handshake, verifying
// the certificate for host. Nothing is sent after the handshake, not even
// a close_notify: the TCP connection is closed under the TLS one.
func (d updateTraffic) probe(ctx context.Context, host string) error {
	dial := d.dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	addr := net.JoinHostPort(host, "443")
	dctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	raw, err := dial(dctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer raw.Close()
	hctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn := tls.Client(raw, &tls.Config{ServerName: host, RootCAs: d.roots, MinVersion: tls.VersionTLS12})
	if err := conn.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	return nil
}
