package agent

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

// fakeClock hands every wait to the test, which decides when it ends.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan fakeWait
}

type fakeWait struct {
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), waits: make(chan fakeWait, 1000)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- fakeWait{d, ch}
	return ch
}

// next waits for the agent to start waiting: it has finished a cycle and
// written its status. The guard only keeps a broken loop from hanging
// the test; it asserts nothing about speed.
func (c *fakeClock) next(t *testing.T) fakeWait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(30 * time.Second):
		t.Fatal("the agent never waited")
		return fakeWait{}
	}
}

// fire lets a wait pass.
func (c *fakeClock) fire(w fakeWait) {
	c.mu.Lock()
	c.now = c.now.Add(w.d)
	now := c.now
	c.mu.Unlock()
	w.ch <- now
}

// script returns the scripted findings in turn, then the last again.
type script struct {
	mu    sync.Mutex
	scans [][]policy.Finding
	n     int
	clock *fakeClock
}

func (s *script) scan(ctx context.Context) (*scan.Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.scans[min(s.n, len(s.scans)-1)]
	s.n++
	r := &scan.Report{Schema: scan.SchemaV1, Host: scan.Host{Hostname: "h1"}, Findings: slices.Clone(f)}
	r.Scan.StartedAt = s.clock.Now()
	return r, nil
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

type recordSink struct {
	mu   sync.Mutex
	name string
	fail error
	got  []*Delivery
}

func (s *recordSink) Name() string { return s.name }
func (s *recordSink) Send(ctx context.Context, d *Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, d)
	return nil
}

func (s *recordSink) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *recordSink) deliveries() []*Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func finding(id string, sev policy.Severity, version string) policy.Finding {
	return policy.Finding{ID: id, Rule: "r-" + id, Kind: policy.KindProduct, Severity: sev, Vendor: "Kaspersky",
		Product: "KESL", Version: version, Summary: "KESL " + version + " is installed",
		Evidence: []policy.Evidence{{Detector: "dpkg", Type: "package", Name: "kesl", Version: version, State: "installed"}}}
}

// kinds renders a delivery's events as ["new:a", "heartbeat"].
func kinds(d *Delivery) []string {
	var out []string
	for _, e := range d.Events {
		s := string(e.Type)
		if e.Finding != nil {
			s += ":" + e.Finding.ID
		}
		out = append(out, s)
	}
	return out
}

func last(ds []*Delivery) []string {
	if len(ds) == 0 {
		return nil
	}
	return kinds(ds[len(ds)-1])
}

type running struct {
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

func start(t *testing.T, a *Agent) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels and asserts that Run returns (not how fast).
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func newTestAgent(dir string, c *fakeClock, s *script, sinks ...Sink) *Agent {
	return &Agent{Scan: s.scan, Sinks: sinks, StateDir: dir, Interval: time.Hour, Jitter: 0.1, Clock: c,
		Rand: rand.New(rand.NewPCG(1, 2)).Float64}
}

func TestLoopEventsAcrossScans(t *testing.T) {
	a1, a2, b, c := finding("a", policy.SeverityHigh, "12.1"), finding("a", policy.SeverityCritical, "12.1"),
		finding("b", policy.SeverityLow, "1"), finding("c", policy.SeverityHigh, "2")
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{{a1, b}, {a2, b}, {b}, {b, c}, {c, b}}}
	sink := &recordSink{name: "rec"}
	r := start(t, newTestAgent(t.TempDir(), clock, s, sink))
	for i, want := range [][]string{
		{"new:a", "new:b", "heartbeat"},
		{"changed:a"},
		{"resolved:a"},
		{"new:c"},
		nil, // the same findings in another order: nothing delivered
	} {
		wait := clock.next(t)
		got := sink.deliveries()
		if want == nil {
			if len(got) != i {
				t.Fatalf("scan %d: an unchanged scan was delivered: %v", i+1, last(got))
			}
		} else if len(got) != i+1 || !slices.Equal(kinds(got[i]), want) {
			t.Fatalf("scan %d: %d deliveries, last %v; want %v", i+1, len(got), last(got), want)
		}
		clock.fire(wait)
	}
	clock.next(t)
	r.stop(t)
	d := sink.deliveries()
	if ev := d[1].Events[0]; ev.Previous == nil || ev.Previous.Severity != policy.SeverityHigh || ev.Finding.Severity != policy.SeverityCritical {
		t.Errorf("changed event: previous and now wrong: %+v", ev)
	}
	if d[2].Events[0].Finding.Severity != policy.SeverityCritical {
		t.Errorf("a resolved event carries the finding as last seen, got %+v", d[2].Events[0].Finding)
	}
	if d[0].Key == d[1].Key || d[0].Key == "" {
		t.Errorf("delivery keys must differ per scan: %q %q", d[0].Key, d[1].Key)
	}
}

func TestLoopWaitsWithinJitter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
		jitter   float64
		rand     func() float64
	}{
		{"pcg 10%", time.Hour, 0.1, rand.New(rand.NewPCG(7, 8)).Float64},
		{"pcg 50%", time.Minute, 0.5, rand.New(rand.NewPCG(9, 10)).Float64},
		{"lowest", time.Hour, 0.1, func() float64 { return 0 }},
		{"highest", time.Hour, 0.1, func() float64 { return 0.9999999 }},
		{"no jitter", time.Second, 0, rand.New(rand.NewPCG(1, 1)).Float64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s := &script{clock: clock, scans: [][]policy.Finding{{}}}
			a := &Agent{Scan: s.scan, StateDir: t.TempDir(), Interval: tc.interval, Jitter: tc.jitter, Clock: clock, Rand: tc.rand}
			r := start(t, a)
			lo := time.Duration(float64(tc.interval) * (1 - tc.jitter))
			hi := time.Duration(float64(tc.interval) * (1 + tc.jitter))
			var seen []time.Duration
			for i := range 50 {
				w := clock.next(t)
				if w.d < lo || w.d > hi {
					t.Fatalf("wait %d: %s, outside [%s, %s]", i, w.d, lo, hi)
				}
				seen = append(seen, w.d)
				clock.fire(w)
			}
			clock.next(t)
			r.stop(t)
			if got := s.count(); got != 51 {
				t.Errorf("%d scans for 50 waits, want 51", got)
			}
			if slices.Min(seen) == slices.Max(seen) && tc.jitter > 0 && tc.name[:3] == "pcg" {
				t.Errorf("jitter %g gave the same wait every time: %s", tc.jitter, seen[0])
			}
		})
	}
}

func TestNextWait(t *testing.T) {
	for _, tc := range []struct {
		jitter, rand float64
		want         time.Duration
	}{
		{0.1, 0, 54 * time.Minute},
		{0.1, 0.5, time.Hour},
		{0.5, 0.75, 75 * time.Minute},
		{0, 0.3, time.Hour},
		{0.9, 0, 30 * time.Minute}, // clamped to MaxJitter
	} {
		a := &Agent{Interval: time.Hour, Jitter: tc.jitter, Rand: func() float64 { return tc.rand }}
		if got := a.NextWait(); got != tc.want {
			t.Errorf("jitter %g, rand %g: %s, want %s", tc.jitter, tc.rand, got, tc.want)
		}
	}
}

func TestLoopTrigger(t *testing.T) {
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{{}}}
	a := newTestAgent(t.TempDir(), clock, s)
	r := start(t, a)
	clock.next(t) // the first scan is done; its wait is never fired
	for i := 2; i <= 4; i++ {
		a.Trigger()
		clock.next(t)
		if got := s.count(); got != i {
			t.Fatalf("after trigger %d: %d scans, want %d", i-1, got, i)
		}
	}
	r.stop(t)
}

func TestLoopHeartbeatAfterADay(t *testing.T) {
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{{finding("a", policy.SeverityHigh, "1")}}}
	sink := &recordSink{name: "rec"}
	a := newTestAgent(t.TempDir(), clock, s, sink)
	a.Jitter = 0
	r := start(t, a)
	for i := range 24 { // the first scan, then 23 h of unchanged scans
		clock.fire(clock.next(t))
		if n := len(sink.deliveries()); i > 0 && n != 1 {
			t.Fatalf("after %d h: %d deliveries, want only the first", i, n)
		}
	}
	clock.next(t) // the scan at 24 h
	r.stop(t)
	got := sink.deliveries()
	if len(got) != 2 {
		t.Fatalf("%d deliveries in 24 h, want the first scan's and one heartbeat", len(got))
	}
	if !got[1].Heartbeat() || !slices.Equal(kinds(got[1]), []string{"heartbeat"}) {
		t.Errorf("second delivery: %v, want a heartbeat only", kinds(got[1]))
	}
	if d := got[1].Events[0].At.Sub(got[0].Events[0].At); d != 24*time.Hour {
		t.Errorf("heartbeat %s after the first, want 24h", d)
	}
}

func TestLoopStatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	fs := []policy.Finding{finding("a", policy.SeverityHigh, "1"), finding("b", policy.SeverityLow, "1")}
	sink := &recordSink{name: "rec"}
	r := start(t, newTestAgent(dir, clock, &script{clock: clock, scans: [][]policy.Finding{fs}}, sink))
	clock.next(t)
	r.stop(t)
	st1, err := LoadState(dir)
	if err != nil || len(st1.Findings) != 2 || st1.LastHeartbeat.IsZero() {
		t.Fatalf("state after the first run: %+v, %v", st1, err)
	}
	status, err := ReadStatus(dir)
	if err != nil || status.Running || status.Findings != 2 {
		t.Fatalf("status after stop: %+v, %v", status, err)
	}

	// The restarted agent remembers: the same findings are no news; one
	// that changed is.
	changed := []policy.Finding{fs[0], finding("b", policy.SeverityLow, "2")}
	r = start(t, newTestAgent(dir, clock, &script{clock: clock, scans: [][]policy.Finding{fs, changed}}, sink))
	clock.fire(clock.next(t))
	clock.next(t)
	r.stop(t)
	got := sink.deliveries()
	if len(got) != 2 || !slices.Equal(kinds(got[1]), []string{"changed:b"}) {
		t.Fatalf("after restart: %d deliveries, last %v; want a second with changed:b", len(got), last(got))
	}
	st2, _ := LoadState(dir)
	if st2.HostID != st1.HostID || st2.Findings["b"].Version != "2" {
		t.Errorf("state after restart: host id %q -> %q, b version %q", st1.HostID, st2.HostID, st2.Findings["b"].Version)
	}
}

func TestLoopFailingSinkDoesNotBlockOthers(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{{finding("a", policy.SeverityHigh, "1")}}}
	bad, good := &recordSink{name: "bad", fail: errors.New("collector down")}, &recordSink{name: "good"}
	r := start(t, newTestAgent(dir, clock, s, bad, good))
	w := clock.next(t)
	if got := good.deliveries(); len(got) != 1 {
		t.Fatalf("the good sink got %d deliveries, want 1", len(got))
	}
	st, err := ReadStatus(dir)
	if err != nil || st.LastError == "" || !st.LastDelivery.IsZero() {
		t.Fatalf("status after a failed sink: %+v, %v", st, err)
	}
	// Not accepted by all: the state stays, so the same events go out
	// again with the next scan.
	clock.fire(w)
	w = clock.next(t)
	if got := good.deliveries(); len(got) != 2 || !slices.Equal(kinds(got[1]), []string{"new:a", "heartbeat"}) {
		t.Fatalf("retry: %d deliveries, last %v", len(got), last(got))
	}
	bad.setFail(nil)
	clock.fire(w)
	w = clock.next(t)
	if got := bad.deliveries(); len(got) != 1 || !slices.Equal(kinds(got[0]), []string{"new:a", "heartbeat"}) {
		t.Fatalf("the recovered sink got %d deliveries, want 1", len(got))
	}
	st, _ = ReadStatus(dir)
	if st.LastError != "" || st.LastDelivery.IsZero() {
		t.Errorf("status after recovery: error %q, last delivery %v", st.LastError, st.LastDelivery)
	}
	clock.fire(w)
	clock.next(t)
	if got := good.deliveries(); len(got) != 3 {
		t.Errorf("after both accepted, the next unchanged scan was delivered again: %d deliveries", len(got))
	}
	r.stop(t)
}

func TestLoopScanErrorIsReported(t *testing.T) {
	clock := newFakeClock()
	sink := &recordSink{name: "rec"}
	a := &Agent{StateDir: t.TempDir(), Clock: clock, Sinks: []Sink{sink}, Scan: func(context.Context) (*scan.Report, error) {
		return nil, errors.New("root vanished")
	}}
	r := start(t, a)
	clock.next(t)
	r.stop(t)
	st, err := ReadStatus(a.StateDir)
	if err != nil || st.LastError != "scan: root vanished" || len(sink.deliveries()) != 0 {
		t.Errorf("status %+v, %v; %d deliveries", st, err, len(sink.deliveries()))
	}
}

func TestLoopStopsDuringScan(t *testing.T) {
	clock := newFakeClock()
	started := make(chan struct{})
	a := &Agent{StateDir: t.TempDir(), Clock: clock, Scan: func(ctx context.Context) (*scan.Report, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	r := start(t, a)
	<-started
	r.stop(t)
	st, err := ReadStatus(a.StateDir)
	if err != nil || st.Running || !st.LastScan.IsZero() {
		t.Errorf("status after a stop during the first scan: %+v, %v", st, err)
	}
}
