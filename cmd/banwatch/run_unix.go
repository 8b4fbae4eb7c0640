//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyTrigger calls trigger on every SIGHUP until stop is called.
func notifyTrigger(trigger func()) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				trigger()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
