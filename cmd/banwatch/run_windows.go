package main

import "sync"

// agentTrigger is the running agent's Trigger, for the service handler's
// scanControl (service_windows.go).
var agentTrigger struct {
	sync.Mutex
	f func()
}

// notifyTrigger: Windows has no SIGHUP. An on-demand scan is the service
// control scanControl, which "banwatch scan-now" sends to the running
// service, or the request file it writes when it cannot, which the agent
// polls for. notifyTrigger makes trigger the target of scanControl until
// stop is called.
func notifyTrigger(trigger func()) (stop func()) {
	agentTrigger.Lock()
	agentTrigger.f = trigger
	agentTrigger.Unlock()
	return func() {
		agentTrigger.Lock()
		agentTrigger.f = nil
		agentTrigger.Unlock()
	}
}

// triggerAgent asks the running agent for a scan. Before the agent runs
// (its config still loading) there is none, and the request is dropped:
// the agent scans at start anyway.
func triggerAgent() {
	agentTrigger.Lock()
	f := agentTrigger.f
	agentTrigger.Unlock()
	if f != nil {
		f()
	}
}
