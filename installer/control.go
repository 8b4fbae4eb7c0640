package installer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kardianos/service"
)

// State is the service's state as the service manager tells it.
type State string

// The states Status reports.
const (
	Running      State = "running"
	Stopped      State = "stopped"
	Failed       State = "failed"
	NotInstalled State = "not installed"
	NoManager    State = "no service manager"
)

// ServiceStatus is what Status found.
type ServiceStatus struct {
	State   State
	Manager string // systemd, launchd, windows-service, or "" for none
	// Detail says more in a sentence: why there is no service manager,
	// whether a unit is written nonetheless.
	Detail string
}

// Status asks the service manager about the service. Where none runs
// the state is NoManager and Detail says why.
func (in *Installer) Status() (ServiceStatus, error) {
	if in.linux() && !in.SystemdRunning() {
		st := ServiceStatus{State: NoManager, Detail: noManagerReason() + `; run "banwatch run" in the foreground (as a container's command) instead`}
		if _, err := os.Stat(in.UnitPath()); err == nil {
			st.Detail += fmt.Sprintf("; the unit %s is installed and starts when the machine boots with systemd", in.UnitPath())
		}
		return st, nil
	}
	s, err := in.service("")
	if errors.Is(err, service.ErrNoServiceSystemDetected) {
		return ServiceStatus{State: NoManager, Detail: "kardianos/service detects no service manager on this system"}, nil
	}
	if err != nil {
		return ServiceStatus{}, err
	}
	st := ServiceStatus{Manager: managerName(s.Platform())}
	code, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		st.State = NotInstalled
	case err != nil && strings.Contains(err.Error(), "failed state"):
		st.State, st.Detail = Failed, `systemd marks it failed; see "journalctl -u banwatch"`
	case err != nil:
		return st, err
	case code == service.StatusRunning:
		st.State = Running
	case code == service.StatusStopped:
		st.State = Stopped
	default:
		return st, fmt.Errorf("%s reports an unknown state", st.Manager)
	}
	return st, nil
}

func managerName(platform string) string {
	switch {
	case strings.Contains(platform, "systemd"):
		return "systemd"
	case strings.HasPrefix(platform, "darwin"):
		return "launchd"
	case strings.HasPrefix(platform, "windows"):
		return "windows-service"
	}
	return platform
}

// Start starts the installed service.
func (in *Installer) Start() error { return in.control("start") }

// Stop stops the service.
func (in *Installer) Stop() error { return in.control("stop") }

// Restart stops and starts the service.
func (in *Installer) Restart() error { return in.control("restart") }

func (in *Installer) control(action string) error {
	if in.linux() && !in.SystemdRunning() {
		return fmt.Errorf("%w: %s", ErrNoServiceManager, noManagerReason())
	}
	s, err := in.service("")
	if errors.Is(err, service.ErrNoServiceSystemDetected) {
		return ErrNoServiceManager
	}
	if err != nil {
		return err
	}
	err = service.Control(s, action)
	if err != nil && in.GOOS == "darwin" {
		err = in.launchctlFallback(action, err)
	}
	return err
}

// launchdPlist is where kardianos/service writes the daemon's plist.
const launchdPlist = "/Library/LaunchDaemons/" + Name + ".plist"

// launchctlFallback retries with launchctl's current subcommands where
// kardianos' legacy load/unload fail (macOS 13 and later, "Load failed:
// 5: Input/output error").
func (in *Installer) launchctlFallback(action string, first error) error {
	var err error
	switch action {
	case "start":
		err = in.Command("launchctl", "bootstrap", "system", launchdPlist)
	case "stop":
		err = in.Command("launchctl", "bootout", "system/"+Name)
	case "restart":
		err = in.Command("launchctl", "kickstart", "-k", "system/"+Name)
	default:
		return first
	}
	if err != nil {
		return fmt.Errorf("%v; then %v", first, err)
	}
	return nil
}

// noManagerReason says why there is no systemd: what PID 1 is, and
// whether this is a container.
func noManagerReason() string {
	pid1 := "unknown"
	if b, err := os.ReadFile("/proc/1/comm"); err == nil {
		pid1 = strings.TrimSpace(string(b))
	}
	msg := fmt.Sprintf("systemd is not running (PID 1 is %s)", pid1)
	if inContainer() {
		msg += ", this looks like a container"
	}
	return msg
}

func inContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	if b, err := os.ReadFile("/proc/1/environ"); err == nil && strings.Contains(string(b), "container=") {
		return true
	}
	return false
}
