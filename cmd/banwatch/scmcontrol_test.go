package main

import (
	"strings"
	"testing"
	"time"
)

func TestSCMActionFor(t *testing.T) {
	for cmd, want := range map[uint32]scmAction{
		1: scmStop, 5: scmStop, 4: scmInterrogate, 128: scmScan,
		0: scmIgnore, 2: scmIgnore, 3: scmIgnore, 15: scmIgnore, 129: scmIgnore, 255: scmIgnore,
	} {
		if got := scmActionFor(cmd); got != want {
			t.Errorf("scmActionFor(%d) = %d, want %d", cmd, got, want)
		}
	}
}

// scmRecorder records what serveControls does through its hooks.
type scmRecorder struct {
	events   []string
	canceled chan struct{}
}

func (r *scmRecorder) hooks(stopWait time.Duration) scmHooks[uint32] {
	r.canceled = make(chan struct{})
	return scmHooks[uint32]{
		cmd:         func(c uint32) uint32 { return c },
		interrogate: func(uint32) { r.events = append(r.events, "interrogate") },
		stopPending: func() { r.events = append(r.events, "stop-pending") },
		trigger:     func() { r.events = append(r.events, "trigger") },
		cancel:      func() { r.events = append(r.events, "cancel"); close(r.canceled) },
		ignored:     func(c uint32) { r.events = append(r.events, "ignored") },
		stopWait:    stopWait,
	}
}

func TestServeControlsStop(t *testing.T) {
	for _, stop := range []uint32{ctlStop, ctlShutdown} {
		reqs, done := make(chan uint32), make(chan int, 1)
		var r scmRecorder
		h := r.hooks(5 * time.Second)
		go func() {
			reqs <- ctlInterrogate
			reqs <- ctlScan
			reqs <- 200
			reqs <- ctlScan
			reqs <- stop
			<-r.canceled
			done <- exitOK // the agent stops when cancelled
		}()
		code, own := serveControls(reqs, done, h)
		if code != exitOK || own {
			t.Errorf("control %d: serveControls = %d, %v; want 0, false", stop, code, own)
		}
		want := "interrogate trigger ignored trigger stop-pending cancel"
		if got := strings.Join(r.events, " "); got != want {
			t.Errorf("control %d: events %q, want %q", stop, got, want)
		}
	}
}

func TestServeControlsStopExitCode(t *testing.T) {
	reqs, done := make(chan uint32, 1), make(chan int, 1)
	var r scmRecorder
	h := r.hooks(5 * time.Second)
	reqs <- ctlStop
	go func() { <-r.canceled; done <- exitUsage }()
	if code, own := serveControls(reqs, done, h); code != exitUsage || own {
		t.Errorf("serveControls = %d, %v; want %d, false", code, own, exitUsage)
	}
}

// TestServeControlsStopTimeout: an agent that does not end after the
// cancel is a failure once stopWait has passed.
func TestServeControlsStopTimeout(t *testing.T) {
	reqs, done := make(chan uint32, 1), make(chan int)
	var r scmRecorder
	reqs <- ctlStop
	if code, own := serveControls(reqs, done, r.hooks(20*time.Millisecond)); code != exitServiceFailed || own {
		t.Errorf("serveControls = %d, %v; want %d, false", code, own, exitServiceFailed)
	}
}

// TestServeControlsAgentEnds: an agent that ends without a Stop is a
// failure, even with exit code 0, so the recovery actions restart it.
func TestServeControlsAgentEnds(t *testing.T) {
	for in, want := range map[int]int{exitOK: exitServiceFailed, exitUsage: exitUsage} {
		reqs, done := make(chan uint32), make(chan int, 1)
		var r scmRecorder
		done <- in
		if code, own := serveControls(reqs, done, r.hooks(time.Second)); code != want || !own {
			t.Errorf("agent exit %d: serveControls = %d, %v; want %d, true", in, code, own, want)
		}
		if len(r.events) != 0 {
			t.Errorf("agent exit %d: events %q, want none", in, r.events)
		}
	}
	// A closed control channel leaves the loop waiting for the agent.
	reqs, done := make(chan uint32), make(chan int, 1)
	close(reqs)
	go func() { time.Sleep(10 * time.Millisecond); done <- exitUsage }()
	var r scmRecorder
	if code, own := serveControls(reqs, done, r.hooks(time.Second)); code != exitUsage || !own {
		t.Errorf("closed controls: serveControls = %d, %v; want %d, true", code, own, exitUsage)
	}
}
