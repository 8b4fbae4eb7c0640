package fleet

import (
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/agent/spool"
	"github.com/banwatch/banwatch/scan"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func delivery(key string, heartbeat bool) *agent.Delivery {
	typ := agent.EventNew
	if heartbeat {
		typ = agent.EventHeartbeat
	}
	return &agent.Delivery{
		Key:    key,
		Report: &scan.Report{Schema: scan.SchemaV1, Host: scan.Host{Hostname: "pc-1", OS: "linux"}},
		Events: []agent.Event{{Type: typ, At: t0}},
	}
}

// collector is a fleet collector: it checks each request as a receiver
// would and records the keys it accepted, in order.
type collector struct {
	token string
	// reply, when set, decides the status of a well-formed request
	// (0: 200); it may set headers.
	reply func(w http.ResponseWriter, d *agent.Delivery) int

	mu       sync.Mutex
	keys     []string // accepted, in order, repeats included
	attempts int
	bad      []string // malformed requests
	peers    []string // client certificate subjects
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.attempts++
	c.mu.Unlock()
	fail := func(code int, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		c.mu.Lock()
		c.bad = append(c.bad, msg)
		c.mu.Unlock()
		http.Error(w, msg, code)
	}
	if c.token != "" && r.Header.Get("Authorization") != "Bearer "+c.token {
		http.Error(w, "bad token "+r.Header.Get("Authorization"), http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Content-Encoding") != "gzip" {
		fail(http.StatusBadRequest, "method %s type %q encoding %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"))
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		fail(http.StatusBadRequest, "gzip: %v", err)
		return
	}
	var d agent.Delivery
	dec := json.NewDecoder(zr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		fail(http.StatusBadRequest, "json: %v", err)
		return
	}
	if _, err := zr.Read(make([]byte, 1)); err == nil {
		fail(http.StatusBadRequest, "trailing data")
		return
	}
	if k := r.Header.Get("Idempotency-Key"); k == "" || k != d.Key {
		fail(http.StatusBadRequest, "idempotency key %q, delivery %q", k, d.Key)
		return
	}
	if d.Report == nil || d.Report.Schema != scan.SchemaV1 || len(d.Events) == 0 {
		fail(http.StatusBadRequest, "delivery %s without a v1 report or events", d.Key)
		return
	}
	code := http.StatusOK
	if c.reply != nil {
		if rc := c.reply(w, &d); rc != 0 {
			code = rc
		}
	}
	if code >= 200 && code < 300 {
		c.mu.Lock()
		c.keys = append(c.keys, d.Key)
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			c.peers = append(c.peers, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		c.mu.Unlock()
	}
	w.WriteHeader(code)
}

func (c *collector) accepted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.keys...)
}

func (c *collector) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 {
		t.Errorf("malformed requests: %q", c.bad)
	}
}

// fakeClock is the sender's clock and sleeper: a sleep advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.sleeps = append(f.sleeps, d)
	f.mu.Unlock()
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

func openSpool(t *testing.T, max int64) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool.db"), max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// fakeOptions: a fake clock and a seeded jitter.
func fakeOptions(clk *fakeClock, seed uint64) Options {
	r := mrand.New(mrand.NewPCG(seed, 1))
	return Options{Now: clk.Now, Sleep: clk.Sleep, Rand: r.Float64}
}

// run runs s until the test ends.
func run(t *testing.T, s *Sender) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not stop")
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func send(t *testing.T, s *Sender, d *agent.Delivery) {
	t.Helper()
	if err := s.Send(context.Background(), d); err != nil {
		t.Fatalf("send %s: %v", d.Key, err)
	}
}

func keysN(prefix string, n int) []string {
	var k []string
	for i := range n {
		k = append(k, fmt.Sprintf("%s%04d", prefix, i))
	}
	return k
}

func TestDeliversInOrder(t *testing.T) {
	col := &collector{token: "s3cret-token"}
	srv := httptest.NewServer(col)
	defer srv.Close()
	clk := &fakeClock{now: t0}
	sp := openSpool(t, 0)
	s, err := New(Config{URL: srv.URL, Token: col.token}, sp, fakeOptions(clk, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := keysN("d", 30)
	for i, k := range want[:10] { // queued before the sender runs
		send(t, s, delivery(k, i%3 == 0))
	}
	if st := s.Status(); st.Depth != 10 || !st.LastDelivery.IsZero() {
		t.Fatalf("status before run %+v", st)
	}
	run(t, s)
	for i, k := range want[10:] { // and while it runs
		send(t, s, delivery(k, i%3 == 0))
	}
	send(t, s, delivery(want[5], false)) // a repeat: queued or sent once
	waitFor(t, "all delivered", func() bool { return len(col.accepted()) >= len(want) && s.Status().Depth == 0 })
	col.check(t)
	if got := col.accepted(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("accepted %v\nwant %v", got, want)
	}
	st := s.Status()
	if st.Depth != 0 || !st.LastDelivery.Equal(t0) || st.LastError != "" || st.Refused {
		t.Fatalf("status %+v", st)
	}
	if len(clk.Sleeps()) != 0 {
		t.Fatalf("slept %v without a failure", clk.Sleeps())
	}
}

func TestWrongTokenStaysQueued(t *testing.T) {
	col := &collector{token: "right-token"}
	srv := httptest.NewServer(col)
	defer srv.Close()
	core, logs := observer.New(zap.DebugLevel)
	clk := &fakeClock{now: t0}
	sp := openSpool(t, 0)
	o := fakeOptions(clk, 2)
	o.Logger = zap.New(core)
	const wrong = "wrong-token-value"
	cfg := Config{URL: srv.URL, Token: wrong}
	s, err := New(cfg, sp, o)
	if err != nil {
		t.Fatal(err)
	}
	send(t, s, delivery("a", false))
	send(t, s, delivery("b", false))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "three refusals", func() bool { return s.Status().Failures >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if !st.Refused || !strings.Contains(st.LastError, "401") || st.Depth != 2 || len(col.accepted()) != 0 {
		t.Fatalf("status %+v, accepted %v", st, col.accepted())
	}
	if st.NextAttempt.IsZero() {
		t.Fatalf("no next attempt in %+v", st)
	}
	// The collector echoed the token; it is in no error, log or string.
	if strings.Contains(st.LastError, wrong) {
		t.Fatalf("token in LastError %q", st.LastError)
	}
	if logs.Len() == 0 {
		t.Fatal("the refusal was not logged")
	}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		if strings.Contains(line, wrong) {
			t.Fatalf("token in log: %s", line)
		}
	}
	if strings.Contains(cfg.String(), wrong) || strings.Contains(fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), wrong) {
		t.Fatalf("token in %s", cfg)
	}
	// With the right token the same spool delivers both, in order.
	s2, err := New(Config{URL: srv.URL, Token: col.token}, sp, fakeOptions(clk, 3))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s2)
	waitFor(t, "delivered", func() bool { return s2.Status().Depth == 0 })
	if got := col.accepted(); strings.Join(got, " ") != "a b" {
		t.Fatalf("accepted %v", got)
	}
}

func TestRetryableStatuses(t *testing.T) {
	codes := []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
	var mu sync.Mutex
	var seen []bool // refused, after each failure
	col := &collector{}
	n := 0
	col.reply = func(w http.ResponseWriter, d *agent.Delivery) int {
		mu.Lock()
		defer mu.Unlock()
		if n < len(codes) {
			c := codes[n]
			n++
			if c == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "7")
			}
			return c
		}
		return http.StatusAccepted
	}
	srv := httptest.NewServer(col)
	defer srv.Close()
	clk := &fakeClock{now: t0}
	sp := openSpool(t, 0)
	o := fakeOptions(clk, 4)
	o.Rand = func() float64 { return 0.5 }
	s, err := New(Config{URL: srv.URL}, sp, o)
	if err != nil {
		t.Fatal(err)
	}
	sleep := s.sleep
	s.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		seen = append(seen, s.Status().Refused)
		mu.Unlock()
		return sleep(ctx, d)
	}
	send(t, s, delivery("x", false))
	run(t, s)
	waitFor(t, "delivered", func() bool { return s.Status().Depth == 0 })
	got := clk.Sleeps()
	// Half the ceiling each time (1s, 2s, 4s, …), but 7s after the 429.
	want := []time.Duration{500 * time.Millisecond, 7 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sleeps %v, want %v", got, want)
	}
	for i, r := range seen {
		if r {
			t.Fatalf("failure %d (HTTP %d) counted as refused", i, codes[i])
		}
	}
	if st := s.Status(); st.LastError != "" || st.Failures != 0 {
		t.Fatalf("status after success %+v", st)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	sp := openSpool(t, 0)
	r := 0.999999
	s, err := New(Config{URL: "http://127.0.0.1:1"}, sp, Options{Rand: func() float64 { return r }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for f := 1; f <= 12; f++ {
		got = append(got, s.backoff(f).Round(time.Second).String())
	}
	want := "[1s 2s 4s 8s 16s 32s 1m4s 2m8s 4m16s 5m0s 5m0s 5m0s]"
	if fmt.Sprint(got) != want {
		t.Fatalf("ceilings %v, want %s", got, want)
	}
	r = 0
	if d := s.backoff(9); d != 0 {
		t.Fatalf("full jitter starts at 0, got %v", d)
	}
	if d := s.backoff(1 << 20); d != 0 {
		t.Fatalf("huge failure count: %v", d)
	}
}

// The collector is down (503) for a simulated day, then back; the agent
// keeps queueing meanwhile. Everything arrives, in order, and the agent
// never waited longer than the maximum backoff.
func TestCollectorDownForADay(t *testing.T) {
	clk := &fakeClock{now: t0}
	back := t0.Add(24 * time.Hour)
	col := &collector{token: "tok"}
	col.reply = func(w http.ResponseWriter, d *agent.Delivery) int {
		if clk.Now().Before(back) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	srv := httptest.NewServer(col)
	defer srv.Close()
	sp := openSpool(t, 0)
	s, err := New(Config{URL: srv.URL, Token: col.token}, sp, fakeOptions(clk, 5))
	if err != nil {
		t.Fatal(err)
	}
	want := keysN("day", 48)
	for _, k := range want[:24] {
		send(t, s, delivery(k, false))
	}
	sleep := s.sleep
	next := 24
	s.sleep = func(ctx context.Context, d time.Duration) error {
		// The loop goes on scanning during the outage: one delivery an hour.
		if next < len(want) && clk.Now().After(t0.Add(time.Duration(next-24)*time.Hour)) {
			if err := s.Send(ctx, delivery(want[next], next%2 == 0)); err != nil {
				t.Errorf("send during the outage: %v", err)
			}
			next++
		}
		return sleep(ctx, d)
	}
	run(t, s)
	waitFor(t, "delivered", func() bool { return len(col.accepted()) == len(want) && s.Status().Depth == 0 })
	col.check(t)
	if got := col.accepted(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("accepted %v", got)
	}
	sleeps := clk.Sleeps()
	var longest time.Duration
	for _, d := range sleeps {
		longest = max(longest, d)
	}
	if longest > DefaultMaxBackoff || longest < DefaultMaxBackoff/2 {
		t.Fatalf("longest wait %v, want near but not over %v", longest, DefaultMaxBackoff)
	}
	if last := clk.Now(); last.Before(back) || last.After(back.Add(DefaultMaxBackoff)) {
		t.Fatalf("delivered at %v, the collector was back at %v", last, back)
	}
	if st := s.Status(); !st.LastDelivery.After(back) && !st.LastDelivery.Equal(back) {
		t.Fatalf("status %+v", st)
	}
	t.Logf("%d attempts over a simulated day", len(sleeps))
}

func TestSendFullSpool(t *testing.T) {
	sp := openSpool(t, 0)
	probe, err := New(Config{URL: "http://127.0.0.1:1"}, sp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	send(t, probe, delivery("probe", false))
	size := sp.Bytes()

	core, logs := observer.New(zap.DebugLevel)
	small := openSpool(t, 3*size)
	s, err := New(Config{URL: "http://127.0.0.1:1"}, small, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	send(t, s, delivery("f001", false))
	send(t, s, delivery("h001", true))
	send(t, s, delivery("f002", false))
	send(t, s, delivery("f003", false)) // drops h001
	if logs.FilterMessageSnippet("dropped 1 heartbeat").Len() != 1 {
		t.Fatalf("drop not logged: %v", logs.All())
	}
	err = s.Send(context.Background(), delivery("f004", false))
	if !errors.Is(err, spool.ErrFull) {
		t.Fatalf("a finding into a full spool: %v", err)
	}
	if small.Len() != 3 {
		t.Fatalf("len %d", small.Len())
	}
}

func TestConfigChecks(t *testing.T) {
	sp := openSpool(t, 0)
	for _, cfg := range []Config{
		{URL: ""},
		{URL: "ftp://x/"},
		{URL: "https://x/", ClientCert: "c.pem"},
		{URL: "https://x/", CAFile: filepath.Join(t.TempDir(), "missing.pem")},
	} {
		if _, err := New(cfg, sp, Options{}); err == nil {
			t.Errorf("%s accepted", cfg)
		}
	}
	if _, err := New(Config{URL: "https://x/"}, nil, Options{}); err == nil {
		t.Error("no spool accepted")
	}
}

// pki is a test CA with a server and a client certificate.
type pki struct {
	dir                   string
	caFile                string
	serverCert            tls.Certificate
	clientCert, clientKey string
	pool                  *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{dir: dir, pool: x509.NewCertPool()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	sDER, sKey := issue(2, "collector", x509.ExtKeyUsageServerAuth)
	p.serverCert = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey := issue(3, "agent-pc-1", x509.ExtKeyUsageClientAuth)
	p.clientCert = writePEM(t, dir, "client.pem", "CERTIFICATE", cDER)
	kDER, _ := x509.MarshalECPrivateKey(cKey)
	p.clientKey = writePEM(t, dir, "client.key", "EC PRIVATE KEY", kDER)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsCollector is a collector over TLS with p's server certificate that
// requires a client certificate from p's CA.
func tlsCollector(t *testing.T, p *pki, col *collector) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(col)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.pool,
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLS(t *testing.T) {
	p := newPKI(t, "fleet")
	other := newPKI(t, "other")
	col := &collector{token: "tls-token"}
	srv := tlsCollector(t, p, col)

	refusedCase := func(t *testing.T, cfg Config, wantErr string) {
		t.Helper()
		clk := &fakeClock{now: t0}
		s, err := New(cfg, openSpool(t, 0), fakeOptions(clk, 6))
		if err != nil {
			t.Fatal(err)
		}
		send(t, s, delivery("tls-1", false))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		waitFor(t, "refusals", func() bool { return s.Status().Failures >= 2 })
		cancel()
		<-done
		st := s.Status()
		if !st.Refused || !strings.Contains(st.LastError, wantErr) || st.Depth != 1 {
			t.Fatalf("status %+v, want refused with %q and the delivery queued", st, wantErr)
		}
	}
	t.Run("wrong CA", func(t *testing.T) {
		refusedCase(t, Config{URL: srv.URL, Token: col.token, CAFile: other.caFile, ClientCert: p.clientCert, ClientKey: p.clientKey},
			"certificate signed by unknown authority")
	})
	t.Run("no CA file", func(t *testing.T) { // the system roots alone do not know the test CA
		refusedCase(t, Config{URL: srv.URL, Token: col.token, ClientCert: p.clientCert, ClientKey: p.clientKey},
			"certificate")
	})
	t.Run("client certificate from another CA", func(t *testing.T) {
		refusedCase(t, Config{URL: srv.URL, Token: col.token, CAFile: p.caFile, ClientCert: other.clientCert, ClientKey: other.clientKey},
			"tls")
	})
	t.Run("no client certificate", func(t *testing.T) {
		refusedCase(t, Config{URL: srv.URL, Token: col.token, CAFile: p.caFile}, "tls")
	})
	t.Run("right CA, token and client certificate", func(t *testing.T) {
		clk := &fakeClock{now: t0}
		s, err := New(Config{URL: srv.URL, Token: col.token, CAFile: p.caFile, ClientCert: p.clientCert, ClientKey: p.clientKey, Timeout: 5 * time.Second},
			openSpool(t, 0), fakeOptions(clk, 7))
		if err != nil {
			t.Fatal(err)
		}
		send(t, s, delivery("tls-1", false))
		send(t, s, delivery("tls-2", true))
		run(t, s)
		waitFor(t, "delivered", func() bool { return s.Status().Depth == 0 })
		col.check(t)
		col.mu.Lock()
		defer col.mu.Unlock()
		if strings.Join(col.keys, " ") != "tls-1 tls-2" || strings.Join(col.peers, " ") != "agent-pc-1 agent-pc-1" {
			t.Fatalf("accepted %v from %v", col.keys, col.peers)
		}
	})
}
