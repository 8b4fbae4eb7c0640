//go:build !windows

package installer

import "errors"

// setRecovery is Windows only.
func setRecovery(string) error { return errors.New("recovery actions are for Windows services") }
