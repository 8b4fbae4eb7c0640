package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

// StopGrace is how long Run waits, once its context is cancelled, for a
// scan or delivery in progress to notice and return. Run returns after
// it either way, so the agent stops within 5 s.
const StopGrace = 4 * time.Second

// Clock is the agent's time: the real one, or a fake in tests.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the system clock.
func RealClock() Clock { return realClock{} }

// ScanFunc runs one scan. It must return promptly once ctx is cancelled.
type ScanFunc func(ctx context.Context) (*scan.Report, error)

// Agent scans at start, then every Interval ± Jitter and on Trigger,
// compares each scan with the state, and hands the events to its sinks.
// Set the fields, then call Run once.
type Agent struct {
	Scan  ScanFunc
	Sinks []Sink
	// StateDir holds state.json and status.json; it is created if needed.
	StateDir string
	Interval time.Duration
	// Jitter is the fraction (0 to 0.5) each wait may differ from Interval.
	Jitter float64
	// Clock defaults to RealClock; Rand (uniform in [0, 1)) to math/rand/v2.
	Clock Clock
	Rand  func() float64
	Log   *zap.Logger
	// SpoolDepth, if set, reports how many deliveries a queueing sink
	// holds; it goes into the status file.
	SpoolDepth func() int
	// RequestPoll, if set, is how often the agent looks between scans for
	// a scan-now request file in StateDir (RequestPollInterval in
	// "banwatch run"): one os.Stat through Clock, no busy loop. Zero
	// never looks.
	RequestPoll time.Duration

	once         sync.Once
	trigger      chan struct{}
	requestStuck bool // the request file could not be removed; logged once

	mu     sync.Mutex // guards status
	status Status
}

func (a *Agent) init() {
	a.once.Do(func() {
		a.trigger = make(chan struct{}, 1)
		if a.Clock == nil {
			a.Clock = RealClock()
		}
		if a.Rand == nil {
			a.Rand = rand.Float64
		}
		if a.Log == nil {
			a.Log = zap.NewNop()
		}
		if a.Interval <= 0 {
			a.Interval = DefaultInterval
		}
		a.Jitter = min(max(a.Jitter, 0), MaxJitter)
	})
}

// Trigger asks for a scan now. A scan already asked for and not yet
// started absorbs the request; a scan in progress is followed by another.
func (a *Agent) Trigger() {
	a.init()
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// NextWait is the wait before the next scheduled scan: Interval scaled
// by a uniform factor in [1-Jitter, 1+Jitter).
func (a *Agent) NextWait() time.Duration {
	a.init()
	f := 1 + a.Jitter*(2*a.Rand()-1)
	return time.Duration(float64(a.Interval) * f)
}

// Run runs the agent until ctx is cancelled, then writes a final status
// and returns nil. It returns an error only if it cannot start: the
// state directory cannot be made.
func (a *Agent) Run(ctx context.Context) error {
	a.init()
	if err := os.MkdirAll(a.StateDir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	st, err := LoadState(a.StateDir)
	if err != nil {
		a.Log.Error("state unreadable; starting afresh, so every finding is reported as new", zap.Error(err))
	}
	a.mu.Lock()
	a.status = Status{PID: os.Getpid(), Running: true, StartedAt: a.Clock.Now(), Interval: a.Interval.String(),
		BySeverity: map[policy.Severity]int{}, LastDelivery: st.LastDelivery}
	a.mu.Unlock()
	defer a.stopped()
	a.Log.Info("agent started", zap.Duration("interval", a.Interval), zap.Float64("jitter", a.Jitter),
		zap.String("state_dir", a.StateDir), zap.Int("sinks", len(a.Sinks)))
	for {
		if a.RequestPoll > 0 {
			// This scan answers a request made before it starts, whether
			// a SIGHUP or the poll brought it here.
			a.takeRequest()
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.cycle(ctx, st)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			select {
			case <-done:
			case <-time.After(StopGrace): // real time: the grace for a scan that ignores ctx
				a.Log.Warn("scan did not stop in time; stopping without it")
			}
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := a.NextWait()
		a.writeStatus(func(s *Status) { s.NextScan = a.Clock.Now().Add(wait) })
		if !a.wait(ctx, wait) {
			return nil
		}
	}
}

// wait waits for the next scan: wait passing, a Trigger, or (with
// RequestPoll) a request file. It returns false when ctx is cancelled.
func (a *Agent) wait(ctx context.Context, wait time.Duration) bool {
	due := a.Clock.After(wait)
	for {
		var poll <-chan time.Time
		if a.RequestPoll > 0 {
			poll = a.Clock.After(a.RequestPoll)
		}
		select {
		case <-ctx.Done():
			return false
		case <-due:
			return true
		case <-a.trigger:
			a.Log.Info("scan requested", zap.String("by", "trigger"))
			return true
		case <-poll:
			if r, ok := a.takeRequest(); ok {
				a.Log.Info("scan requested", zap.String("by", "request file"), zap.Int("requester_pid", r.PID))
				return true
			}
		}
	}
}

// stopped writes the final status.
func (a *Agent) stopped() {
	a.writeStatus(func(s *Status) { s.Running, s.NextScan = false, time.Time{} })
	a.Log.Info("agent stopped")
}

// writeStatus updates the status under the lock and writes it.
func (a *Agent) writeStatus(update func(*Status)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	update(&a.status)
	a.status.UpdatedAt = a.Clock.Now()
	if a.SpoolDepth != nil {
		n := a.SpoolDepth()
		a.status.SpoolDepth = &n
	}
	if err := a.status.write(a.StateDir); err != nil {
		a.Log.Error("cannot write the status file", zap.Error(err))
	}
}

func (a *Agent) setStatus(update func(*Status)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	update(&a.status)
}

// DeliveryKey identifies the delivery of one scan: the agent's host id
// and the scan's start. Sending it again gives the same key.
func DeliveryKey(hostID string, startedAt time.Time) string {
	return hostID + "/" + startedAt.UTC().Format(time.RFC3339Nano)
}

// cycle scans once, delivers the events, and advances the state if every
// sink accepted them. Otherwise the state stays, so the next scan gives
// the same events again (at least once, never lost).
func (a *Agent) cycle(ctx context.Context, st *State) {
	start := a.Clock.Now()
	rep, err := a.Scan(ctx)
	end := a.Clock.Now()
	if ctx.Err() != nil {
		return // stopping: a partial scan is not compared
	}
	if err == nil && rep == nil {
		err = errors.New("the scan returned no report")
	}
	if err != nil {
		a.Log.Error("scan failed", zap.Error(err))
		a.setStatus(func(s *Status) {
			s.LastScan, s.LastScanDurationMS = start, end.Sub(start).Milliseconds()
			s.LastError, s.LastErrorAt = "scan: "+err.Error(), end
		})
		return
	}
	events := Diff(st.list(), rep.Findings, end)
	heartbeat := HeartbeatDue(st.LastHeartbeat, end)
	if heartbeat {
		events = append(events, Event{Type: EventHeartbeat, At: end})
	}
	a.Log.Info("scan done", zap.Int("findings", len(rep.Findings)), zap.Int("events", len(events)),
		zap.Int64("duration_ms", end.Sub(start).Milliseconds()))
	var errs []error
	if len(events) > 0 {
		startedAt := rep.Scan.StartedAt
		if startedAt.IsZero() {
			startedAt = start
		}
		d := &Delivery{Key: DeliveryKey(st.HostID, startedAt), Report: rep, Events: events}
		for _, s := range a.Sinks {
			if err := s.Send(ctx, d); err != nil {
				a.Log.Error("sink did not accept the delivery", zap.String("sink", s.Name()), zap.String("key", d.Key), zap.Error(err))
				errs = append(errs, fmt.Errorf("sink %s: %w", s.Name(), err))
			}
		}
		if ctx.Err() != nil {
			return
		}
		if len(errs) == 0 {
			st.LastDelivery = end
			if heartbeat {
				st.LastHeartbeat = end
			}
		}
	}
	if len(errs) == 0 {
		st.Findings = make(map[string]policy.Finding, len(rep.Findings))
		for _, f := range rep.Findings {
			st.Findings[f.ID] = f
		}
		if err := st.Save(a.StateDir); err != nil {
			a.Log.Error("cannot write the state file", zap.Error(err))
			errs = append(errs, fmt.Errorf("state: %w", err))
		}
	}
	bySeverity := map[policy.Severity]int{}
	for _, f := range rep.Findings {
		bySeverity[f.Severity]++
	}
	a.setStatus(func(s *Status) {
		s.Host = rep.Host.Hostname
		s.LastScan, s.LastScanDurationMS = start, end.Sub(start).Milliseconds()
		s.Findings, s.BySeverity, s.ScanErrors = len(rep.Findings), bySeverity, len(rep.Errors)
		s.LastDelivery = st.LastDelivery
		s.LastError, s.LastErrorAt = "", time.Time{}
		if err := errors.Join(errs...); err != nil {
			s.LastError, s.LastErrorAt = err.Error(), end
		}
	})
}
