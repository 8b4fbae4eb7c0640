package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/installer"
)

// tempRoot points the service commands at a temporary root without
// systemd.
func tempRoot(t *testing.T) *installer.Installer {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "banwatch-build")
	if err := os.WriteFile(src, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := &installer.Installer{
		GOOS: "linux", Source: src,
		BinPath:        filepath.Join(root, "usr/local/bin/banwatch"),
		ConfigPath:     filepath.Join(root, "etc/banwatch/banwatch.yaml"),
		StateDir:       filepath.Join(root, "var/lib/banwatch"),
		UnitDir:        filepath.Join(root, "etc/systemd/system"),
		SystemdRunning: func() bool { return false },
		Command:        func(string, ...string) error { t.Error("ran a command without systemd"); return nil },
	}
	oldNew, oldPriv := newInstaller, needPrivileges
	newInstaller = func() *installer.Installer { c := *in; return &c }
	needPrivileges = func() error { return nil }
	t.Cleanup(func() { newInstaller, needPrivileges = oldNew, oldPriv })
	return in
}

func TestInstallServiceStatusUninstallCLI(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the temp root holds a systemd layout")
	}
	in := tempRoot(t)
	code, out, errs := runCLI("install")
	if code != exitOK {
		t.Fatalf("install: %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"binary: " + in.BinPath, "config: " + in.ConfigPath + " (default, written)", "unit: ", "not started: systemd is not running", "installed;"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	if _, err := agent.LoadConfigFile(in.ConfigPath); err != nil {
		t.Errorf("config: %v", err)
	}
	code, out, _ = runCLI("service-status")
	if code != exitNotRunning || !strings.Contains(out, "no service manager: systemd is not running") || !strings.Contains(out, "is installed") {
		t.Errorf("service-status: %d %q", code, out)
	}
	code, _, errs = runCLI("start")
	if code != exitServiceFailed || !strings.Contains(errs, "no service manager runs here") {
		t.Errorf("start: %d %q", code, errs)
	}
	if code, out, errs = runCLI("uninstall", "--purge"); code != exitOK {
		t.Fatalf("uninstall: %d\n%s%s", code, out, errs)
	}
	for _, p := range []string{in.BinPath, in.UnitPath(), in.ConfigPath, in.StateDir} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("uninstall --purge left %s", p)
		}
	}
}

func TestServiceCommandUsage(t *testing.T) {
	tempRoot(t)
	for _, args := range [][]string{{"install", "extra"}, {"uninstall", "--bogus"}, {"stop", "now"}, {"service-status", "x"}} {
		if code, _, errs := runCLI(args...); code != exitUsage || !strings.HasPrefix(errs, "banwatch "+args[0]+": ") {
			t.Errorf("%q: %d %q", args, code, errs)
		}
	}
	for _, cmd := range []string{"install", "uninstall", "restart", "service-status"} {
		if code, out, _ := runCLI(cmd, "-h"); code != exitOK || !strings.HasPrefix(out, "Usage: banwatch "+cmd) {
			t.Errorf("%s -h: %d %q", cmd, code, out)
		}
	}
}

func TestInstallNeedsPrivileges(t *testing.T) {
	tempRoot(t)
	needPrivileges = func() error { return errTestNoRoot }
	if code, _, errs := runCLI("install"); code != exitUsage || !strings.Contains(errs, "needs root") {
		t.Errorf("install without root: %d %q", code, errs)
	}
}

var errTestNoRoot = errors.New("needs root (run it with sudo)")

// On this machine, with the real paths: read only.
func TestServiceStatusWithoutServiceManager(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here")
	}
	code, out, errs := runCLI("service-status")
	if code != exitNotRunning || !strings.HasPrefix(out, "banwatch service: no service manager: systemd is not running (PID 1 is ") {
		t.Errorf("service-status: %d %q %q", code, out, errs)
	}
}

func TestStatusSaysWhenNoServiceManagerRuns(t *testing.T) {
	tempRoot(t)
	code, out, _ := runCLI("status", "--state-dir", t.TempDir())
	if code != exitNotRunning || !strings.Contains(out, "NOT RUNNING") || !strings.Contains(out, "\nno service manager runs here: systemd is not running") {
		t.Errorf("status: %d %q", code, out)
	}
}
