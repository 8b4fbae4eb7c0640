package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banwatch/banwatch/policy"
)

// TestLoopTakesRequestFile: between scans the agent looks for the
// request file once per RequestPoll through its clock, and a request
// starts a scan and is removed.
func TestLoopTakesRequestFile(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{{finding("a", policy.SeverityHigh, "12.1")}}}
	a := newTestAgent(dir, clock, s)
	a.RequestPoll = RequestPollInterval
	start(t, a)

	due := clock.next(t) // the first scan is done; the scheduled wait
	if due.d < 54*time.Minute {
		t.Fatalf("the first wait is %s, want the interval", due.d)
	}
	// Polls without a request change nothing; each is one wait of 2 s.
	for range 3 {
		poll := clock.next(t)
		if poll.d != RequestPollInterval {
			t.Fatalf("a poll waits %s, want %s", poll.d, RequestPollInterval)
		}
		clock.fire(poll)
	}
	if n := s.count(); n != 1 {
		t.Fatalf("%d scans before any request, want 1", n)
	}
	req := ScanRequest{PID: 4242, RequestedAt: clock.Now()}
	if err := WriteScanRequest(dir, req); err != nil {
		t.Fatal(err)
	}
	clock.fire(clock.next(t)) // the poll that finds it
	clock.next(t)             // the second scan is done and the agent waits again
	if n := s.count(); n != 2 {
		t.Fatalf("%d scans after the request, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(dir, RequestFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the request file is still there: %v", err)
	}
	st, err := ReadStatus(dir)
	if err != nil || !st.LastScan.After(req.RequestedAt) || st.Findings != 1 {
		t.Errorf("status after the requested scan: %+v, %v", st, err)
	}
}

// TestScanAnswersPendingRequest: a scan started by Trigger (SIGHUP) also
// takes a request file written before it, so scan-now's SIGHUP and its
// file give one scan, not two.
func TestScanAnswersPendingRequest(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{nil}}
	a := newTestAgent(dir, clock, s)
	a.RequestPoll = RequestPollInterval
	start(t, a)
	clock.next(t) // scheduled wait
	clock.next(t) // first poll, not fired yet
	if err := WriteScanRequest(dir, ScanRequest{PID: 1, RequestedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	a.Trigger()
	clock.next(t) // the triggered scan is done: scheduled wait
	poll := clock.next(t)
	if _, err := os.Stat(filepath.Join(dir, RequestFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the triggered scan left the request file: %v", err)
	}
	clock.fire(poll)
	clock.next(t) // the next poll: nothing started a third scan
	if n := s.count(); n != 2 {
		t.Errorf("%d scans, want 2 (start, then one for signal and file together)", n)
	}
}

// TestNoPollByDefault: without RequestPoll the agent never looks, and
// its only wait is the schedule.
func TestNoPollByDefault(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	s := &script{clock: clock, scans: [][]policy.Finding{nil}}
	if err := WriteScanRequest(dir, ScanRequest{PID: 1}); err != nil {
		t.Fatal(err)
	}
	start(t, newTestAgent(dir, clock, s))
	clock.next(t)
	select {
	case w := <-clock.waits:
		t.Errorf("a second wait of %s without RequestPoll", w.d)
	case <-time.After(100 * time.Millisecond): // absence of a wait: a short look suffices
	}
	if _, err := os.Stat(filepath.Join(dir, RequestFile)); err != nil {
		t.Errorf("the request file was taken without RequestPoll: %v", err)
	}
}
