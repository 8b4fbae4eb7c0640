package spool

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func finding(key string) *agent.Delivery {
	return &agent.Delivery{Key: key, Events: []agent.Event{{Type: agent.EventNew, At: at}}}
}

func heartbeat(key string) *agent.Delivery {
	return &agent.Delivery{Key: key, Events: []agent.Event{{Type: agent.EventHeartbeat, At: at}}}
}

func open(t *testing.T, path string, max int64) *Spool {
	t.Helper()
	s, err := Open(path, max)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *Spool, d *agent.Delivery) Dropped {
	t.Helper()
	dr, err := s.Put(d)
	if err != nil {
		t.Fatalf("put %s: %v", d.Key, err)
	}
	return dr
}

// drain pops everything and returns the keys in order.
func drain(t *testing.T, s *Spool) []string {
	t.Helper()
	var keys []string
	for {
		seq, d, ok, err := s.Peek()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return keys
		}
		keys = append(keys, d.Key)
		if err := s.Ack(seq); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFIFOAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	s, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		put(t, s, finding(fmt.Sprintf("k%d", i)))
	}
	seq, d, ok, err := s.Peek()
	if err != nil || !ok || d.Key != "k0" {
		t.Fatalf("peek = %d %v %v %v", seq, d, ok, err)
	}
	if err := s.Ack(seq); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 4 || s.Bytes() <= 0 {
		t.Fatalf("len %d bytes %d", s.Len(), s.Bytes())
	}
	bytesBefore := s.Bytes()
	s.Close()

	s = open(t, path, 0)
	if s.Len() != 4 || s.Bytes() != bytesBefore {
		t.Fatalf("after reopen: len %d bytes %d, want 4 %d", s.Len(), s.Bytes(), bytesBefore)
	}
	got := drain(t, s)
	if fmt.Sprint(got) != "[k1 k2 k3 k4]" {
		t.Fatalf("order %v", got)
	}
	if s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("empty spool: len %d bytes %d", s.Len(), s.Bytes())
	}
	// Acking again, or a sequence never queued, does nothing.
	if err := s.Ack(seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(999); err != nil {
		t.Fatal(err)
	}
}

func TestSameKeyStoredOnce(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "spool.db"), 0)
	put(t, s, finding("a"))
	put(t, s, finding("a"))
	put(t, s, finding("b"))
	if s.Len() != 2 {
		t.Fatalf("len %d, want 2", s.Len())
	}
	// Sent and acknowledged, then Put again (the agent crashed before it
	// saved its state): not sent a second time.
	if got := drain(t, s); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("got %v", got)
	}
	put(t, s, finding("a"))
	if s.Len() != 0 {
		t.Fatalf("a repeated Put of an acknowledged key was queued again")
	}
	put(t, s, finding("c"))
	if got := drain(t, s); fmt.Sprint(got) != "[c]" {
		t.Fatalf("got %v", got)
	}
}

func TestRememberAckedIsBounded(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "spool.db"), 0)
	for i := range RememberAcked + 10 {
		put(t, s, heartbeat(fmt.Sprintf("h%05d", i)))
		drain(t, s)
	}
	// The oldest keys are forgotten: a Put of h00000 is queued again, a
	// Put of the newest is not.
	put(t, s, heartbeat("h00000"))
	put(t, s, heartbeat(fmt.Sprintf("h%05d", RememberAcked+9)))
	if got := drain(t, s); fmt.Sprint(got) != "[h00000]" {
		t.Fatalf("got %v", got)
	}
}

func TestBoundDropsHeartbeatsFirstAndRefusesFindings(t *testing.T) {
	probe := open(t, filepath.Join(t.TempDir(), "probe.db"), 0)
	put(t, probe, heartbeat("h0"))
	hb := probe.Bytes() // every heartbeat below has this size
	put(t, probe, finding("f0"))
	fb := probe.Bytes() - hb // and every finding this
	if hb < fb {
		t.Fatalf("the test assumes a heartbeat record (%d) is not smaller than a finding's (%d)", hb, fb)
	}

	s := open(t, filepath.Join(t.TempDir(), "spool.db"), 2*hb+2*fb)
	put(t, s, heartbeat("h0"))
	put(t, s, finding("f0"))
	put(t, s, heartbeat("h1"))
	put(t, s, finding("f1"))
	// Full: a finding drops the oldest heartbeat.
	dr := put(t, s, finding("f2"))
	if fmt.Sprint(dr.Keys) != "[h0]" || dr.Bytes != hb || dr.String() == "" {
		t.Fatalf("dropped %+v", dr)
	}
	// A heartbeat drops an older heartbeat too.
	dr = put(t, s, heartbeat("h2"))
	if fmt.Sprint(dr.Keys) != "[h1]" {
		t.Fatalf("dropped %+v", dr)
	}
	dr = put(t, s, finding("f3"))
	if fmt.Sprint(dr.Keys) != "[h2]" {
		t.Fatalf("dropped %+v", dr)
	}
	// Only findings left: refused, nothing dropped.
	if dr, err := s.Put(finding("f4")); !errors.Is(err, ErrFull) || len(dr.Keys) != 0 {
		t.Fatalf("put into a spool of findings: %+v, %v", dr, err)
	}
	if dr, err := s.Put(heartbeat("h3")); !errors.Is(err, ErrFull) || len(dr.Keys) != 0 {
		t.Fatalf("heartbeat into a spool of findings: %+v, %v", dr, err)
	}
	if s.Len() != 4 || s.Bytes() != 4*fb {
		t.Fatalf("len %d bytes %d", s.Len(), s.Bytes())
	}
	if got := drain(t, s); fmt.Sprint(got) != "[f0 f1 f2 f3]" {
		t.Fatalf("queue %v", got)
	}
	// A dropped heartbeat's key is forgotten; a refused finding can be put
	// again once there is room.
	put(t, s, finding("f4"))
	put(t, s, heartbeat("h0"))
	if got := drain(t, s); fmt.Sprint(got) != "[f4 h0]" {
		t.Fatalf("queue %v", got)
	}
}

func TestBoundTooLargeAlone(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "spool.db"), 10)
	put := func(d *agent.Delivery) error { _, err := s.Put(d); return err }
	if err := put(heartbeat("h")); !errors.Is(err, ErrFull) {
		t.Fatalf("err %v", err)
	}
}

func TestSecondOpenTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.db")
	open(t, path, 0)
	start := time.Now()
	_, err := Open(path, 0)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second open took %v", d)
	}
}
