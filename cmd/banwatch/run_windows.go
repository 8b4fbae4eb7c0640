package main

// notifyTrigger: Windows has no SIGHUP; an on-demand scan will come
// through the service control manager.
func notifyTrigger(trigger func()) (stop func()) { return func() {} }
