package installer

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/banwatch/banwatch/agent"
)

func TestDefaultConfigYAMLParsesToTheDefaults(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			text := DefaultConfigYAML(goos, agent.DefaultStateDir(goos))
			got, err := agent.ParseConfig([]byte(text), "", goos)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			want := agent.DefaultConfig(goos)
			if got.String() != want.String() {
				t.Errorf("parsed:\n%s\nwant the defaults:\n%s", got, want)
			}
			if !strings.Contains(text, "# fleet:") || !strings.Contains(text, "# syslog:") {
				t.Errorf("the optional sinks are not shown:\n%s", text)
			}
		})
	}
}

func TestDefaultConfigYAMLQuotesPaths(t *testing.T) {
	dir := `C:\Program Data\it's banwatch`
	c, err := agent.ParseConfig([]byte(DefaultConfigYAML("windows", dir)), "", "windows")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != dir {
		t.Errorf("state_dir = %q, want %q", c.StateDir, dir)
	}
}

func testUnit(bin string) string {
	return SystemdUnit(UnitParams{Binary: bin, ConfigPath: "/etc/banwatch/banwatch.yaml",
		WritablePaths: []string{"/var/lib/banwatch", "/var/log/banwatch"}})
}

func TestSystemdUnitLines(t *testing.T) {
	unit := testUnit("/usr/local/bin/banwatch")
	for _, line := range []string{
		"ExecStart=/usr/local/bin/banwatch run --config /etc/banwatch/banwatch.yaml",
		"Restart=always", "RestartSec=5",
		"ProtectSystem=strict", "ProtectHome=read-only",
		"ReadWritePaths=/var/lib/banwatch", "ReadWritePaths=-/var/log/banwatch",
		"NoNewPrivileges=yes", "PrivateTmp=yes",
		"WantedBy=multi-user.target",
	} {
		if !hasLine(unit, line) {
			t.Errorf("unit has no line %q:\n%s", line, unit)
		}
	}
	// What would keep a root scanner from reading the system.
	for _, bad := range []string{"ProtectHome=yes", "ProtectHome=tmpfs", "ProtectKernelModules=", "RestartSec=120", "{{"} {
		if strings.Contains(unit, bad) {
			t.Errorf("unit has %q", bad)
		}
	}
}

func TestSystemdUnitQuotesPaths(t *testing.T) {
	unit := SystemdUnit(UnitParams{Binary: "/opt/ban watch/banwatch", ConfigPath: "/etc/b w/c.yaml", WritablePaths: []string{"/var/lib/banwatch"}})
	if !hasLine(unit, `ExecStart="/opt/ban watch/banwatch" run --config "/etc/b w/c.yaml"`) {
		t.Errorf("paths with spaces are not quoted:\n%s", unit)
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// buildBanwatch builds the real binary into dir.
func buildBanwatch(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build banwatch with")
	}
	bin := filepath.Join(dir, "banwatch")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/banwatch/banwatch/cmd/banwatch")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is missing (Debian package systemd)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("systemd is Linux only")
	}
	dir := t.TempDir()
	bin := buildBanwatch(t, dir)
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, UnitName)
	text := SystemdUnit(UnitParams{Binary: bin, ConfigPath: filepath.Join(dir, "banwatch.yaml"), WritablePaths: []string{state, filepath.Join(dir, "log")}})
	if err := os.WriteFile(unit, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, text)
	}
}

type recorder struct{ calls []string }

func (r *recorder) run(name string, args ...string) error {
	r.calls = append(r.calls, name+" "+strings.Join(args, " "))
	return nil
}

// tempInstaller installs into a temporary root; systemd "runs" as told.
func tempInstaller(t *testing.T, systemd bool) (*Installer, *recorder, []byte) {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "src-banwatch")
	bin := []byte("#!/bin/sh\necho banwatch\n")
	if err := os.WriteFile(src, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	in := &Installer{
		GOOS:           "linux",
		Source:         src,
		BinPath:        filepath.Join(root, "usr/local/bin/banwatch"),
		ConfigPath:     filepath.Join(root, "etc/banwatch/banwatch.yaml"),
		StateDir:       filepath.Join(root, "var/lib/banwatch"),
		UnitDir:        filepath.Join(root, "etc/systemd/system"),
		SystemdRunning: func() bool { return systemd },
		Command:        rec.run,
	}
	return in, rec, bin
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

func TestInstallUninstallIntoATempRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	in, rec, bin := tempInstaller(t, false)
	var out bytes.Buffer
	in.Out = &out
	if err := in.Install(InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(in.BinPath)
	if err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("binary: %v, %q", err, got)
	}
	if fi, _ := os.Stat(in.BinPath); fi.Mode().Perm() != 0o755 {
		t.Errorf("binary mode %v, want 0755", fi.Mode().Perm())
	}
	fi, err := os.Stat(in.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(in.ConfigPath)
	cfg, err := agent.ParseConfig(data, in.ConfigPath, "linux")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, data)
	}
	if cfg.StateDir != in.StateDir {
		t.Errorf("config state_dir %s, want %s", cfg.StateDir, in.StateDir)
	}
	if fi, err := os.Stat(in.StateDir); err != nil || !fi.IsDir() {
		t.Errorf("state directory: %v", err)
	}
	unit, err := os.ReadFile(in.UnitPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"ExecStart=" + in.BinPath + " run --config " + in.ConfigPath, "ReadWritePaths=" + in.StateDir} {
		if !hasLine(string(unit), line) {
			t.Errorf("unit has no line %q:\n%s", line, unit)
		}
	}
	if target, err := os.Readlink(in.wantsLink()); err != nil || target != in.UnitPath() {
		t.Errorf("not enabled: %s -> %q, %v", in.wantsLink(), target, err)
	}
	if len(rec.calls) > 0 {
		t.Errorf("ran %q without systemd", rec.calls)
	}
	if !strings.Contains(out.String(), "not started: systemd is not running") {
		t.Errorf("install does not say that nothing was started:\n%s", out.String())
	}
	if err := in.Install(InstallOptions{}); err == nil || !strings.Contains(err.Error(), "already installed") {
		t.Errorf("a second install: %v, want already installed", err)
	}

	// A file in the state directory, as the agent would leave.
	status := filepath.Join(in.StateDir, agent.StatusFile)
	if err := os.WriteFile(status, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := in.Uninstall(UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{in.UnitPath(), in.wantsLink(), in.BinPath} {
		if exists(gone) {
			t.Errorf("uninstall left %s", gone)
		}
	}
	for _, kept := range []string{in.ConfigPath, status} {
		if !exists(kept) {
			t.Errorf("uninstall removed %s", kept)
		}
	}

	// Installed again, the config is kept; --purge removes it all.
	data = append(data, "# edited by hand\n"...)
	if err := os.WriteFile(in.ConfigPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := in.Install(InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(in.ConfigPath); !bytes.Equal(again, data) {
		t.Errorf("install rewrote an existing config")
	}
	if err := in.Uninstall(UninstallOptions{Purge: true}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{in.UnitPath(), in.BinPath, in.ConfigPath, filepath.Dir(in.ConfigPath), in.StateDir} {
		if exists(gone) {
			t.Errorf("uninstall --purge left %s", gone)
		}
	}
}

func TestInstallRunsSystemctlWhenSystemdRuns(t *testing.T) {
	in, rec, _ := tempInstaller(t, true)
	if err := in.Install(InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemctl daemon-reload", "systemctl enable " + UnitName, "systemctl start " + UnitName}
	if strings.Join(rec.calls, "; ") != strings.Join(want, "; ") {
		t.Errorf("install ran %q, want %q", rec.calls, want)
	}
	if exists(in.wantsLink()) {
		t.Errorf("install linked %s itself; systemctl enable does that", in.wantsLink())
	}
	rec.calls = nil
	if err := in.Uninstall(UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	want = []string{"systemctl disable --now " + UnitName, "systemctl daemon-reload"}
	if strings.Join(rec.calls, "; ") != strings.Join(want, "; ") {
		t.Errorf("uninstall ran %q, want %q", rec.calls, want)
	}

	rec.calls = nil
	if err := in.Install(InstallOptions{NoStart: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.calls {
		if strings.Contains(c, "start") {
			t.Errorf("--no-start ran %q", c)
		}
	}
}

func TestInstallUsesTheExistingConfigsDirectories(t *testing.T) {
	in, _, _ := tempInstaller(t, false)
	root := filepath.Dir(in.Source)
	state, logDir := filepath.Join(root, "srv/banwatch"), filepath.Join(root, "var/log/banwatch")
	cfg := "state_dir: " + state + "\nlog:\n  file: " + logDir + "/agent.log\n"
	if err := os.MkdirAll(filepath.Dir(in.ConfigPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.ConfigPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := in.Install(InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	unit, _ := os.ReadFile(in.UnitPath())
	for _, line := range []string{"ReadWritePaths=" + state, "ReadWritePaths=-" + logDir} {
		if !hasLine(string(unit), line) {
			t.Errorf("unit has no line %q:\n%s", line, unit)
		}
	}
	if !exists(state) {
		t.Errorf("the config's state directory %s was not created", state)
	}
	if got, _ := os.ReadFile(in.ConfigPath); string(got) != cfg {
		t.Errorf("config rewritten")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "agent.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := in.Uninstall(UninstallOptions{Purge: true}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{state, filepath.Join(logDir, "agent.log"), in.ConfigPath} {
		if exists(gone) {
			t.Errorf("uninstall --purge left %s", gone)
		}
	}
}

func TestInstallRefusesAnInvalidConfig(t *testing.T) {
	in, _, _ := tempInstaller(t, false)
	if err := os.MkdirAll(filepath.Dir(in.ConfigPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.ConfigPath, []byte("interval: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := in.Install(InstallOptions{})
	if err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("install with an invalid config: %v", err)
	}
	if exists(in.UnitPath()) {
		t.Errorf("a unit was written for an invalid config")
	}
}

func TestWithoutSystemdStatusSaysSoPlainly(t *testing.T) {
	in, _, _ := tempInstaller(t, false)
	st, err := in.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.State != NoManager || !strings.Contains(st.Detail, "systemd is not running (PID 1 is") {
		t.Errorf("status %+v", st)
	}
	if err := in.Start(); !errors.Is(err, ErrNoServiceManager) {
		t.Errorf("start: %v, want ErrNoServiceManager", err)
	}
}

// The real defaults on this machine, read only.
func TestStatusOnThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" || systemdRunning() {
		t.Skip("for a Linux machine without systemd (a container)")
	}
	st, err := Default("linux").Status()
	if err != nil || st.State != NoManager {
		t.Fatalf("status %+v, %v; want no service manager", st, err)
	}
}

func TestSafeToRemove(t *testing.T) {
	for dir, want := range map[string]bool{"/": false, "/var": false, "var/lib/x": false, "/var/lib/banwatch": true, "/var/lib/": true} {
		if got := safeToRemove(dir); got != want {
			t.Errorf("safeToRemove(%q) = %t", dir, got)
		}
	}
}
