//go:build !windows

package winreg

import (
	"errors"
	"io/fs"
	"runtime"
)

// Live fails: the running machine's registry is read through the Windows
// API. An offline image's registry is read with OpenImage on any OS.
func Live(root fs.FS) (Machine, error) {
	return nil, errors.New("the live registry exists only on Windows; this is " + runtime.GOOS + " (use OpenImage for an offline Windows image)")
}
