//go:build !windows

package main

import "errors"

// askService is Windows-only (scannow_windows.go): elsewhere the request
// file and SIGHUP ask the agent.
func askService() error { return errors.ErrUnsupported }
