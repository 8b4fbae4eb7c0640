//go:build windows

// Command fakesvc is a Windows service that does nothing until it is
// stopped. wine_test.sh installs it in a Wine prefix under a Kaspersky
// product's file name (avp.exe) and service name, so that the live scan
// sees a running service, with its process id, and a running process
// from a Kaspersky folder. It serves tests under Wine only.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows/svc"
)

type service struct{}

func (service) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for c := range req {
		switch c.Cmd {
		case svc.Interrogate:
			status <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending}
			return false, 0
		}
	}
	return false, 0
}

func main() {
	// No svc.IsWindowsService check: it wants a parent in session 0,
	// which Wine's services.exe is not. svc.Run fails by itself when no
	// service manager started the program. The name is ignored for a
	// SERVICE_WIN32_OWN_PROCESS service.
	if err := svc.Run("", service{}); err != nil {
		fmt.Fprintln(os.Stderr, "fakesvc:", err)
		os.Exit(1)
	}
}
