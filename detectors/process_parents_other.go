//go:build !windows

package detectors

import "context"

// parentPIDs returns nil: elsewhere gopsutil reads the parent cheaply per
// process (one /proc/PID/stat read on Linux, one sysctl on macOS).
func parentPIDs(context.Context) (map[int32]int32, error) { return nil, nil }
