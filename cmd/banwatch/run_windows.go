package main

// notifyTrigger: Windows has no SIGHUP. An on-demand scan is the request
// file "banwatch scan-now" writes, which the agent polls for; a custom
// SCM control cannot reach the agent through kardianos/service, whose
// programs get only Start and Stop.
func notifyTrigger(trigger func()) (stop func()) { return func() {} }
