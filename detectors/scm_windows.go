package detectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// scm reads service and driver states from the service control manager.
// It calls EnumServicesStatusEx itself because mgr.ListServices asks for
// SERVICE_WIN32 only and so leaves the kernel drivers out.
type scm struct{}

// NewServiceManager returns the live service control manager.
func NewServiceManager() ServiceManager { return scm{} }

// States takes one snapshot of every service and driver, in any state.
func (scm) States(ctx context.Context) (map[string]ServiceStatus, error) {
	// Enumerating needs no more rights than an unprivileged user has.
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_ENUMERATE_SERVICE|windows.SC_MANAGER_CONNECT)
	if err != nil {
		return nil, fmt.Errorf("open service control manager: %w", err)
	}
	defer windows.CloseServiceHandle(h)
	states := map[string]ServiceStatus{}
	buf := make([]byte, 64<<10)
	var resume uint32
	for {
		if err := ctx.Err(); err != nil {
			return states, err
		}
		var needed, n uint32
		err := windows.EnumServicesStatusEx(h, windows.SC_ENUM_PROCESS_INFO,
			windows.SERVICE_DRIVER|windows.SERVICE_WIN32, windows.SERVICE_STATE_ALL,
			&buf[0], uint32(len(buf)), &needed, &n, &resume, nil)
		if err != nil && !errors.Is(err, windows.ERROR_MORE_DATA) {
			return states, fmt.Errorf("enumerate services: %w", err)
		}
		addServices(states, buf, n)
		if err == nil {
			return states, nil
		}
		// ERROR_MORE_DATA: the entries that fit are in buf and resume
		// points past them; grow buf if even the next one did not fit.
		if n == 0 && int(needed) <= len(buf) {
			return states, fmt.Errorf("enumerate services: no progress with a %d-byte buffer", len(buf))
		}
		if int(needed) > len(buf) {
			buf = make([]byte, needed)
		}
	}
}

// addServices copies n ENUM_SERVICE_STATUS_PROCESS entries out of buf.
// Their name pointers point into buf, so the strings are copied before
// buf is reused.
func addServices(states map[string]ServiceStatus, buf []byte, n uint32) {
	if n == 0 {
		return
	}
	entries := unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), n)
	for _, e := range entries {
		st := e.ServiceStatusProcess
		states[strings.ToLower(windows.UTF16PtrToString(e.ServiceName))] = ServiceStatus{
			// Paused and pending services have a process too.
			Running: st.CurrentState != windows.SERVICE_STOPPED,
			PID:     st.ProcessId,
			Type:    st.ServiceType,
		}
	}
}
