package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/windows/svc"

	"github.com/banwatch/banwatch/installer"
)

// scanControl is banwatch's user-defined service control (128-255 are the
// service's own): sent to the running service ("banwatch scan-now", or
// "sc control banwatch 128" from an elevated prompt), it makes the agent
// start a scan, as SIGHUP does on Unix. Sending it takes
// SERVICE_USER_DEFINED_CONTROL on the service, which the default service
// DACL grants to Administrators.
const scanControl = svc.Cmd(128)

// The portable control codes of scmcontrol.go are svc's: a difference
// is a constant index out of range (or a constant overflow) here.
var _ = [1]struct{}{}[uint32(scanControl)-ctlScan]
var _ = [1]struct{}{}[uint32(svc.Stop)-ctlStop]
var _ = [1]struct{}{}[uint32(svc.Interrogate)-ctlInterrogate]
var _ = [1]struct{}{}[uint32(svc.Shutdown)-ctlShutdown]

// runSCM runs "run" started by the Windows service control manager,
// through golang.org/x/sys/windows/svc rather than kardianos/service's
// Run, which hands a program only Start and Stop: the handler also takes
// scanControl. kardianos/service still gives the Event Log logger (and
// installs, starts and stops the service).
func runSCM(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	svcLog := serviceLogger(nil, stderr)
	h := &scmHandler{
		run:    func() int { return cmdRun(ctx, args, stdout, stderr, svcLog) },
		cancel: cancel,
		stderr: stderr,
	}
	if err := svc.Run(installer.Name, h); err != nil {
		return usageError(stderr, "run", "service: %v", err)
	}
	return h.code
}

// scmHandler is the svc.Handler of the agent's service.
type scmHandler struct {
	run    func() int // the agent, until its context is cancelled
	cancel context.CancelFunc
	stderr io.Writer
	code   int // the process's exit code, set when Execute returns
}

// Execute reports StartPending, starts the agent, reports Running and
// answers controls (serveControls) until a Stop or Shutdown, reported
// StopPending; svc.Run then reports Stopped. When the agent ends on its
// own, the service stops with its exit code as a service-specific error
// and the process exits with it: the recovery actions (also on non-crash
// failures, set at install) restart it.
func (h *scmHandler) Execute(_ []string, r <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	const accepts = svc.AcceptStop | svc.AcceptShutdown
	changes <- svc.Status{State: svc.StartPending}
	done := make(chan int, 1)
	go func() { done <- h.run() }()
	changes <- svc.Status{State: svc.Running, Accepts: accepts}
	code, own := serveControls(r, done, scmHooks[svc.ChangeRequest]{
		cmd:         func(c svc.ChangeRequest) uint32 { return uint32(c.Cmd) },
		interrogate: func(c svc.ChangeRequest) { changes <- c.CurrentStatus },
		stopPending: func() {
			changes <- svc.Status{State: svc.StopPending, WaitHint: uint32((scmStopWait + 5*time.Second).Milliseconds())}
		},
		trigger:  triggerAgent,
		cancel:   h.cancel,
		ignored:  func(c uint32) { fmt.Fprintf(h.stderr, "banwatch run: service control %d ignored\n", c) },
		stopWait: scmStopWait,
	})
	if own {
		fmt.Fprintf(h.stderr, "banwatch run: the agent ended on its own (exit %d)\n", code)
	}
	h.code = code
	if code != exitOK {
		return true, uint32(code)
	}
	return false, 0
}
