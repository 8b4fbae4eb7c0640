package detectors

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/shirou/gopsutil/v3/host"
)

// This file is the only place that calls gopsutil's host package.

// gopsutilHost reads the live host through gopsutil/v3.
type gopsutilHost struct{}

// NewHostSource returns the live host source.
func NewHostSource() HostSource {
	// v3.24.5 re-reads /proc/stat and /proc/uptime on every boot-time
	// call unless the cache is on (shirou/gopsutil#1850).
	host.EnableBootTimeCache(true)
	return gopsutilHost{}
}

// LiveHost implements HostSource. It avoids host.Info, which also lists
// every process and reads the boot time.
func (gopsutilHost) LiveHost(ctx context.Context) (LiveHost, error) {
	var lh LiveHost
	var errs []error
	name, err := os.Hostname()
	if err != nil {
		errs = append(errs, fmt.Errorf("hostname: %w", err))
	}
	lh.Hostname = name
	platform, _, version, err := host.PlatformInformationWithContext(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("platform: %w", err))
	}
	lh.Platform, lh.PlatformVersion = platform, version
	arch, err := host.KernelArch()
	if err != nil {
		errs = append(errs, fmt.Errorf("kernel arch: %w", err))
	}
	lh.KernelArch = arch
	return lh, errors.Join(errs...)
}
