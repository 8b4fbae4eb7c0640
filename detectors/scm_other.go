//go:build !windows

package detectors

// NewServiceManager returns nil: only Windows has a service control
// manager; elsewhere the init-system detectors read the service states.
func NewServiceManager() ServiceManager { return nil }
