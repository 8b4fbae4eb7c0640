//go:build !windows

package detectors

import (
	"context"
	"errors"
)

// queryAntiVirusProducts fails: the Security Center exists only on
// Windows. The detector's OS filter keeps it from running elsewhere.
func queryAntiVirusProducts(context.Context) ([]wscProduct, error) {
	return nil, errors.New("the Windows Security Center exists only on Windows")
}
