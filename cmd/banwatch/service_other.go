//go:build !windows

package main

import (
	"context"
	"io"
)

// runSCM is Windows-only (service_windows.go); cmdRunService does not
// call it elsewhere, where a service manager stops the agent with SIGTERM.
func runSCM(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cmdRun(ctx, args, stdout, stderr, serviceLogger(nil, stderr))
}
