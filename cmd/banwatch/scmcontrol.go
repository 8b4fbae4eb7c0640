package main

import "time"

// The Windows service controls the agent's handler acts on. They are the
// values of golang.org/x/sys/windows/svc's Cmd (SERVICE_CONTROL_*),
// repeated here so that the mapping and the control loop build and are
// tested on every OS; service_windows.go checks at compile time that they
// are svc's.
const (
	ctlStop        uint32 = 1 // SERVICE_CONTROL_STOP
	ctlInterrogate uint32 = 4 // SERVICE_CONTROL_INTERROGATE
	ctlShutdown    uint32 = 5 // SERVICE_CONTROL_SHUTDOWN
	// ctlScan is banwatch's own control (128-255 are user-defined): the
	// agent starts a scan, as on SIGHUP on Unix. "banwatch scan-now"
	// sends it, and so does "sc control banwatch 128".
	ctlScan uint32 = 128
)

// scmStopWait is how long a Stop or Shutdown waits for the agent to end
// before the service reports it stopped with a failure.
const scmStopWait = 10 * time.Second

// scmAction is what the service handler does with a control.
type scmAction int

const (
	scmIgnore      scmAction = iota // not one of ours: ignored
	scmInterrogate                  // answer with the current status
	scmStop                         // stop the agent
	scmScan                         // ask the agent for a scan
)

// scmActionFor maps a service control code to its action.
func scmActionFor(cmd uint32) scmAction {
	switch cmd {
	case ctlInterrogate:
		return scmInterrogate
	case ctlStop, ctlShutdown:
		return scmStop
	case ctlScan:
		return scmScan
	}
	return scmIgnore
}

// scmHooks connect serveControls to the service manager (through requests
// of type R, svc.ChangeRequest on Windows) and to the agent.
type scmHooks[R any] struct {
	cmd         func(R) uint32 // the control code of a request
	interrogate func(R)        // report the current status again
	stopPending func()         // report StopPending
	trigger     func()         // the agent's Trigger
	cancel      func()         // cancel the agent's context
	ignored     func(uint32)   // a control with no action
	stopWait    time.Duration  // scmStopWait; tests shorten it
}

// serveControls is the service handler's loop once the agent runs: it
// answers the controls in reqs until a Stop or Shutdown, after which it
// cancels the agent and waits up to h.stopWait for its exit code from
// agentDone, or until the agent ends on its own. It returns the exit
// code, and own when the agent ended on its own: always a failure (an
// exit code 0 becomes exitServiceFailed), so the SCM's recovery actions
// restart it.
func serveControls[R any](reqs <-chan R, agentDone <-chan int, h scmHooks[R]) (code int, own bool) {
	for {
		select {
		case r, ok := <-reqs:
			if !ok {
				reqs = nil // no more controls; wait for the agent
				continue
			}
			c := h.cmd(r)
			switch scmActionFor(c) {
			case scmInterrogate:
				h.interrogate(r)
			case scmScan:
				h.trigger()
			case scmStop:
				h.stopPending()
				h.cancel()
				t := time.NewTimer(h.stopWait)
				defer t.Stop()
				select {
				case code = <-agentDone:
					return code, false
				case <-t.C:
					return exitServiceFailed, false
				}
			default:
				h.ignored(c)
			}
		case code = <-agentDone:
			if code == exitOK {
				code = exitServiceFailed
			}
			return code, true
		}
	}
}
