package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/kardianos/service"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/installer"
)

// Exit codes of install, uninstall, start, stop and restart: 0 done,
// exitServiceFailed when the service manager or the file system refused,
// exitUsage for a usage error. service-status: 0 running, exitNotRunning
// (3) stopped, failed, not installed or no service manager, exitUsage
// when the service manager cannot be asked.
const exitServiceFailed = 1

// newInstaller is the installer the commands use; tests point its paths
// into a temporary root.
var newInstaller = func() *installer.Installer { return installer.Default(runtime.GOOS) }

// needPrivileges says whether installing needs root that this process
// does not have. Windows asks the SCM, which refuses with "Access is
// denied" outside an elevated prompt.
var needPrivileges = func() error {
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		return errors.New("needs root (run it with sudo)")
	}
	return nil
}

// cmdInstall runs "install [--config FILE] [--no-start]".
func cmdInstall(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("banwatch install", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := newInstaller()
	configFile := fs.String("config", in.ConfigPath, "agent config `FILE`, written with the defaults if missing")
	noStart := fs.Bool("no-start", false, "register the service but do not start it")
	if code, ok := parseServiceFlags(fs, args, "install [--config FILE] [--no-start]", stdout, stderr); !ok {
		return code
	}
	in.ConfigPath, in.Out = *configFile, stdout
	if err := needPrivileges(); err != nil {
		return usageError(stderr, "install", "%v", err)
	}
	if err := in.Install(installer.InstallOptions{NoStart: *noStart}); err != nil {
		fmt.Fprintf(stderr, "banwatch install: %v\n", err)
		return exitServiceFailed
	}
	fmt.Fprintln(stdout, `installed; "banwatch service-status" asks the service manager, "banwatch status" the agent`)
	return exitOK
}

// cmdUninstall runs "uninstall [--config FILE] [--purge]".
func cmdUninstall(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("banwatch uninstall", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in := newInstaller()
	configFile := fs.String("config", in.ConfigPath, "the agent config `FILE` (removed with --purge)")
	purge := fs.Bool("purge", false, "also remove the config and the state directory (status, log, spool)")
	if code, ok := parseServiceFlags(fs, args, "uninstall [--config FILE] [--purge]", stdout, stderr); !ok {
		return code
	}
	in.ConfigPath, in.Out = *configFile, stdout
	if err := needPrivileges(); err != nil {
		return usageError(stderr, "uninstall", "%v", err)
	}
	if err := in.Uninstall(installer.UninstallOptions{Purge: *purge}); err != nil {
		fmt.Fprintf(stderr, "banwatch uninstall: %v\n", err)
		return exitServiceFailed
	}
	fmt.Fprintln(stdout, "uninstalled")
	return exitOK
}

// cmdControl runs "start", "stop" and "restart" through the service
// manager.
func cmdControl(action string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("banwatch "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if code, ok := parseServiceFlags(fs, args, action, stdout, stderr); !ok {
		return code
	}
	in := newInstaller()
	var err error
	switch action {
	case "start":
		err = in.Start()
	case "stop":
		err = in.Stop()
	default:
		err = in.Restart()
	}
	if errors.Is(err, installer.ErrNoServiceManager) {
		fmt.Fprintf(stderr, "banwatch %s: %v; run \"banwatch run\" in the foreground instead\n", action, err)
		return exitServiceFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "banwatch %s: %v\n", action, err)
		return exitServiceFailed
	}
	fmt.Fprintf(stdout, "banwatch: %s done\n", action)
	return exitOK
}

// cmdServiceStatus runs "service-status": what the service manager says
// about the service, and plainly when there is none.
func cmdServiceStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("banwatch service-status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if code, ok := parseServiceFlags(fs, args, "service-status", stdout, stderr); !ok {
		return code
	}
	st, err := newInstaller().Status()
	if err != nil {
		fmt.Fprintf(stderr, "banwatch service-status: %v\n", err)
		return exitUsage
	}
	line := "banwatch service: " + string(st.State)
	if st.Manager != "" {
		line += " (" + st.Manager + ")"
	}
	if st.Detail != "" {
		line += ": " + st.Detail
	}
	fmt.Fprintln(stdout, line)
	if st.State == installer.Running {
		return exitOK
	}
	return exitNotRunning
}

// noServiceManagerNote is a line for "banwatch status" where no service
// manager runs (a container), or "".
func noServiceManagerNote() string {
	in := newInstaller()
	if in.GOOS != "linux" { // elsewhere a service manager always runs
		return ""
	}
	st, err := in.Status()
	if err != nil || st.State != installer.NoManager {
		return ""
	}
	return "no service manager runs here: " + st.Detail
}

// parseServiceFlags parses args; ok is false when the command is done
// (help printed, or a usage error) and code is its exit code.
func parseServiceFlags(fs *flag.FlagSet, args []string, synopsis string, stdout, stderr io.Writer) (code int, ok bool) {
	cmd := fs.Name()[len("banwatch "):]
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "Usage: banwatch "+synopsis)
			fs.PrintDefaults()
			return exitOK, false
		}
		return usageError(stderr, cmd, "%v (run \"banwatch %s -h\")", err, cmd), false
	}
	if fs.NArg() > 0 {
		return usageError(stderr, cmd, "unexpected argument %q", fs.Arg(0)), false
	}
	return 0, true
}

// cmdRunService runs "run". Started by the Windows service control
// manager, the agent has to answer its controls, or the SCM kills it
// after 30 s ("the service did not respond"): runSCM (service_windows.go)
// does that with golang.org/x/sys/windows/svc; its Stop cancels the agent
// and its user-defined control scanControl (128) asks for a scan.
// Everywhere else, and from a console, it is cmdRun; systemd and launchd
// stop it with SIGTERM.
//
// Under a service manager (not interactive) the agent's errors and alerts
// also go to kardianos/service's logger: the Windows Event Log (its
// source is registered at install), syslog elsewhere. Where that logger
// cannot be had (no syslog socket), the agent runs without it and says
// so on stderr.
func cmdRunService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if service.Interactive() {
		return cmdRun(ctx, args, stdout, stderr, nil)
	}
	if runtime.GOOS != "windows" {
		return cmdRun(ctx, args, stdout, stderr, serviceLogger(nil, stderr))
	}
	return runSCM(ctx, args, stdout, stderr)
}

// serviceLogger is the service manager's logger of s (of a service named
// banwatch when s is nil), or nil when there is none.
func serviceLogger(s service.Service, stderr io.Writer) agent.ServiceLogger {
	if s == nil {
		var err error
		if s, err = service.New(&scmProgram{}, &service.Config{Name: installer.Name}); err != nil {
			fmt.Fprintf(stderr, "banwatch run: no service logger: %v\n", err)
			return nil
		}
	}
	l, err := s.Logger(nil)
	if err != nil {
		fmt.Fprintf(stderr, "banwatch run: no service logger: %v\n", err)
		return nil
	}
	return l
}

// scmProgram is the program of the kardianos/service object made for its
// logger; the agent does not run through kardianos/service's Run.
type scmProgram struct{}

func (*scmProgram) Start(service.Service) error { return nil }
func (*scmProgram) Stop(service.Service) error  { return nil }
