// Package installer installs banwatch as a native service: a systemd
// unit on Linux, a launchd daemon on macOS, a service with recovery
// actions on Windows. Service registration goes through
// github.com/kardianos/service, but on Linux the unit is written and
// enabled here, so that its directory is injectable and install works
// (writing the unit, not starting it) where systemd does not run.
//
// Every path is a field of Installer, so tests install into a temporary
// root without touching the system.
package installer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kardianos/service"

	"github.com/banwatch/banwatch/agent"
)

// Name is the service's name on every platform.
const Name = "banwatch"

// ErrNoServiceManager is returned where no service manager runs, e.g. in
// a container or on Linux when systemd is not PID 1.
var ErrNoServiceManager = errors.New("no service manager runs here")

// Installer installs, removes and controls the banwatch service. The
// zero value is not usable: start from Default.
type Installer struct {
	GOOS string // the platform, runtime.GOOS by default

	Source     string // binary to install; "" means os.Executable()
	BinPath    string // where the binary goes
	ConfigPath string // the agent's config, written if missing
	StateDir   string // the state directory for a new config
	UnitDir    string // systemd unit directory (Linux)

	// SystemdRunning tells whether systemd manages this machine; on
	// Linux, systemctl is run only when it does.
	SystemdRunning func() bool
	// Command runs an external command (systemctl, launchctl); tests
	// record it.
	Command func(name string, args ...string) error
	// Out receives one line per step; nil discards.
	Out io.Writer
}

// Default is the installer for goos with the platform's usual paths.
func Default(goos string) *Installer {
	in := &Installer{
		GOOS:           goos,
		ConfigPath:     agent.DefaultConfigPath(goos),
		StateDir:       agent.DefaultStateDir(goos),
		UnitDir:        "/etc/systemd/system",
		SystemdRunning: systemdRunning,
		Command:        runCommand,
	}
	switch goos {
	case "windows":
		dir := `C:\Program Files`
		if pf := os.Getenv("ProgramFiles"); pf != "" && runtime.GOOS == "windows" {
			dir = pf
		}
		in.BinPath = dir + `\banwatch\banwatch.exe`
	default: // linux, darwin and the other unixes
		in.BinPath = "/usr/local/bin/banwatch"
	}
	return in
}

// systemdRunning is sd_booted(3)'s test.
func systemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

func runCommand(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

func (in *Installer) say(format string, args ...any) {
	if in.Out != nil {
		fmt.Fprintf(in.Out, format+"\n", args...)
	}
}

// UnitPath is the systemd unit file.
func (in *Installer) UnitPath() string { return filepath.Join(in.UnitDir, UnitName) }

// wantsLink is what "systemctl enable" creates for WantedBy=multi-user.target.
func (in *Installer) wantsLink() string {
	return filepath.Join(in.UnitDir, "multi-user.target.wants", UnitName)
}

func (in *Installer) linux() bool { return in.GOOS == "linux" }

// serviceConfig is the kardianos configuration: banwatch run --config
// ConfigPath, with each platform's options.
func (in *Installer) serviceConfig(unit string) *service.Config {
	return &service.Config{
		Name:        Name,
		DisplayName: "banwatch agent",
		Description: "Finds banned security software (Kaspersky) on this machine and reports it.",
		Executable:  in.BinPath,
		Arguments:   []string{"run", "--config", in.ConfigPath},
		Option: service.KeyValue{
			// systemd: the unit, already rendered (see SystemdUnit).
			"SystemdScript": unit,
			// launchd: a daemon that starts at boot and is restarted;
			// launchd's stdout and stderr go to the state directory.
			"KeepAlive":    true,
			"RunAtLoad":    true,
			"LogDirectory": in.StateDir,
			// Windows: automatic, delayed start; one recovery action here,
			// the full three and non-crash failures in setRecovery.
			"StartType":              "automatic",
			"DelayedAutoStart":       true,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "10s",
			"OnFailureResetPeriod":   recoveryResetSeconds,
		},
	}
}

// recoveryResetSeconds is the Windows failure count's reset period: a day.
const recoveryResetSeconds = 24 * 60 * 60

type noopProgram struct{}

func (noopProgram) Start(service.Service) error { return nil }
func (noopProgram) Stop(service.Service) error  { return nil }

func (in *Installer) service(unit string) (service.Service, error) {
	return service.New(noopProgram{}, in.serviceConfig(unit))
}

// InstallOptions change what Install does.
type InstallOptions struct {
	NoStart bool // register the service but do not start it
}

// Install copies the binary, writes a default config if there is none,
// creates the state directory and registers and starts the service. On
// Linux without systemd it writes and enables the unit (as systemctl
// enable would) and says that nothing was started. Installing over an
// installed service is refused.
func (in *Installer) Install(opt InstallOptions) error {
	if in.linux() {
		if _, err := os.Stat(in.UnitPath()); err == nil {
			return fmt.Errorf("already installed: %s exists (run \"banwatch uninstall\" first; config and state are kept)", in.UnitPath())
		}
	} else if st, err := in.Status(); err == nil && st.State != NotInstalled {
		return fmt.Errorf("already installed (%s): run \"banwatch uninstall\" first; config and state are kept", st.State)
	}
	src := in.Source
	if src == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("the running binary: %w", err)
		}
		if src, err = filepath.EvalSymlinks(exe); err != nil {
			return fmt.Errorf("the running binary: %w", err)
		}
	}
	if err := copyBinary(src, in.BinPath); err != nil {
		return err
	}
	in.say("binary: %s", in.BinPath)
	cfg, err := in.ensureConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	in.say("state: %s", cfg.StateDir)
	unit := SystemdUnit(UnitParams{Binary: in.BinPath, ConfigPath: in.ConfigPath, WritablePaths: writablePaths(cfg.StateDir, cfg.Log.File)})
	if in.linux() {
		return in.installSystemd(unit, opt)
	}
	s, err := in.service(unit)
	if err != nil {
		return err
	}
	if err := s.Install(); err != nil {
		return fmt.Errorf("register the service: %w", err)
	}
	in.say("service: %s registered (%s)", Name, s.Platform())
	if in.GOOS == "windows" {
		if err := setRecovery(Name); err != nil {
			return fmt.Errorf("recovery actions: %w", err)
		}
		in.say("recovery: restart after 10 s, 30 s, 60 s, also on non-crash failures; delayed automatic start")
	}
	if opt.NoStart {
		return nil
	}
	if err := in.Start(); err != nil {
		return err
	}
	in.say("started")
	return nil
}

func (in *Installer) installSystemd(unit string, opt InstallOptions) error {
	if err := os.MkdirAll(in.UnitDir, 0o755); err != nil {
		return err
	}
	if err := agent.WriteFileAtomic(in.UnitPath(), []byte(unit), 0o644); err != nil {
		return fmt.Errorf("unit: %w", err)
	}
	in.say("unit: %s", in.UnitPath())
	if !in.SystemdRunning() {
		// What "systemctl enable" does for WantedBy=multi-user.target, so
		// the service starts on the first boot with systemd (an image).
		if err := os.MkdirAll(filepath.Dir(in.wantsLink()), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(in.UnitPath(), in.wantsLink()); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("enable: %w", err)
		}
		in.say("enabled (%s); not started: %s", in.wantsLink(), noManagerReason())
		return nil
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", UnitName}} {
		if err := in.Command("systemctl", args...); err != nil {
			return err
		}
	}
	in.say("enabled")
	if opt.NoStart {
		return nil
	}
	if err := in.Command("systemctl", "start", UnitName); err != nil {
		return err
	}
	in.say("started")
	return nil
}

// ensureConfig reads the config, writing the default one first if there
// is none. An invalid config stops the install.
func (in *Installer) ensureConfig() (*agent.Config, error) {
	if _, err := os.Stat(in.ConfigPath); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(in.ConfigPath), 0o755); err != nil {
			return nil, fmt.Errorf("config directory: %w", err)
		}
		// 0600: the config may later hold a fleet token.
		if err := agent.WriteFileAtomic(in.ConfigPath, []byte(DefaultConfigYAML(in.GOOS, in.StateDir)), 0o600); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		in.say("config: %s (default, written)", in.ConfigPath)
	} else {
		in.say("config: %s (kept)", in.ConfigPath)
	}
	data, err := os.ReadFile(in.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := agent.ParseConfig(data, in.ConfigPath, in.GOOS)
	if err != nil {
		return nil, fmt.Errorf("config %s is invalid (run \"banwatch config check %s\"): %w", in.ConfigPath, in.ConfigPath, err)
	}
	return cfg, nil
}

// UninstallOptions change what Uninstall does.
type UninstallOptions struct {
	Purge bool // also remove the config and the state directory
}

// Uninstall stops and removes the service and the binary. The config
// and the state directory (with the log) stay unless Purge.
func (in *Installer) Uninstall(opt UninstallOptions) error {
	var cfg *agent.Config
	if opt.Purge {
		if data, err := os.ReadFile(in.ConfigPath); err == nil {
			cfg, _ = agent.ParseConfig(data, in.ConfigPath, in.GOOS)
		}
	}
	if in.linux() {
		if err := in.uninstallSystemd(); err != nil {
			return err
		}
	} else {
		s, err := in.service("")
		if err != nil {
			return err
		}
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			in.say("service: not installed")
		default:
			if st == service.StatusRunning {
				if err := in.Stop(); err != nil {
					return err
				}
				in.say("stopped")
			}
			if err := s.Uninstall(); err != nil {
				return fmt.Errorf("remove the service: %w", err)
			}
			in.say("service: removed")
		}
	}
	if err := os.Remove(in.BinPath); err == nil {
		in.say("binary: removed %s", in.BinPath)
		if in.GOOS == "windows" {
			_ = os.Remove(filepath.Dir(in.BinPath)) // C:\Program Files\banwatch, when empty
		}
	} else if in.GOOS == "windows" && !errors.Is(err, fs.ErrNotExist) {
		// A running executable cannot be deleted on Windows: uninstall
		// run from the installed banwatch.exe itself.
		in.say("warning: %s stays (%v); delete it by hand", in.BinPath, err)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("binary: %w", err)
	}
	if !opt.Purge {
		in.say("kept: config %s and state %s (\"banwatch uninstall --purge\" removes them)", in.ConfigPath, in.StateDir)
		return nil
	}
	return in.purge(cfg)
}

func (in *Installer) uninstallSystemd() error {
	_, statErr := os.Stat(in.UnitPath())
	if in.SystemdRunning() && statErr == nil {
		// Stops it too; a unit that is not loaded is no reason to stop here.
		if err := in.Command("systemctl", "disable", "--now", UnitName); err != nil {
			in.say("warning: %v", err)
		} else {
			in.say("stopped and disabled")
		}
	}
	if err := os.Remove(in.wantsLink()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	switch err := os.Remove(in.UnitPath()); {
	case err == nil:
		in.say("unit: removed %s", in.UnitPath())
	case errors.Is(err, fs.ErrNotExist):
		in.say("unit: not installed")
	default:
		return err
	}
	if in.SystemdRunning() && statErr == nil {
		return in.Command("systemctl", "daemon-reload")
	}
	return nil
}

// purge removes the config (and its directory when empty), the state
// directory and a log file outside it.
func (in *Installer) purge(cfg *agent.Config) error {
	dirs := []string{in.StateDir}
	var logFile string
	if cfg != nil {
		dirs = append(dirs, cfg.StateDir)
		logFile = cfg.Log.File
	}
	if err := os.Remove(in.ConfigPath); err == nil {
		in.say("config: removed %s", in.ConfigPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_ = os.Remove(filepath.Dir(in.ConfigPath)) // only when empty
	for _, d := range dirs {
		if !safeToRemove(d) {
			in.say("warning: not removing %s: too close to the root", d)
			continue
		}
		if _, err := os.Stat(d); err != nil {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("state: %w", err)
		}
		in.say("state: removed %s", d)
	}
	if logFile != "" {
		if _, err := os.Stat(logFile); err == nil {
			// lumberjack's backups are name-<time>.ext beside it.
			ext := filepath.Ext(logFile)
			backups, _ := filepath.Glob(strings.TrimSuffix(logFile, ext) + "-*" + ext + "*")
			for _, f := range append(backups, logFile) {
				_ = os.Remove(f)
			}
			in.say("log: removed %s", logFile)
		}
	}
	return nil
}

// safeToRemove refuses "/", "C:\" and directories right under them.
func safeToRemove(dir string) bool {
	dir = filepath.Clean(dir)
	if !filepath.IsAbs(dir) {
		return false
	}
	vol := filepath.VolumeName(dir)
	rest := strings.Trim(dir[len(vol):], `/\`)
	return strings.ContainsAny(rest, `/\`)
}

// copyBinary copies src to dst (0755) through a temporary file and a
// rename, so a running old binary is replaced, not overwritten. A src
// that is dst already is left alone.
func copyBinary(src, dst string) error {
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	if err := agent.WriteFileAtomic(dst, data, 0o755); err != nil {
		return fmt.Errorf("binary: %w", err)
	}
	return nil
}
