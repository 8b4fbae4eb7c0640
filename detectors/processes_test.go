package detectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStartKesl copies the system's sleep binary to
// <tmp>/opt/kaspersky/kesl/libexec/kesl, so that a real process runs from a
// product-like path, and starts it. argv0 replaces argv[0], the way
// daemons that take secrets on their command line show up in ps.
func procStartKesl(t *testing.T, argv0 string) (cmd *exec.Cmd, exe string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs a sleep binary to copy; Windows has none")
	}
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep binary on PATH to run as a process: %v", err)
	}
	exe = filepath.Join(t.TempDir(), "opt", "kaspersky", "kesl", "libexec", "kesl")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(exe, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(exe, "2999")
	if argv0 != "" {
		cmd.Args[0] = argv0
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, exe
}

func procCurrentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skipf("cannot tell the current user's name: %v", err)
	}
	return u.Username
}

func procFind(t *testing.T, procs []ProcessInfo, pid int) ProcessInfo {
	t.Helper()
	for _, p := range procs {
		if int(p.PID) == pid {
			return p
		}
	}
	t.Fatalf("pid %d is not in the snapshot of %d processes", pid, len(procs))
	return ProcessInfo{}
}

func TestProcessListerLive(t *testing.T) {
	cmd, exe := procStartKesl(t, "")
	username := procCurrentUser(t)

	procs, err := NewProcessLister().Processes(context.Background())
	if err != nil {
		t.Fatalf("Processes: %v", err)
	}
	p := procFind(t, procs, cmd.Process.Pid)
	if p.Exe != exe {
		t.Errorf("Exe = %q, want %q", p.Exe, exe)
	}
	if p.Name != "kesl" {
		t.Errorf("Name = %q, want kesl", p.Name)
	}
	if want := int32(os.Getpid()); p.PPID != want {
		t.Errorf("PPID = %d, want %d (this test)", p.PPID, want)
	}
	if p.User != username {
		t.Errorf("User = %q, want %q", p.User, username)
	}
	if p.Started.IsZero() {
		t.Error("Started is zero")
	}
	if want := exe + " 2999"; p.Cmdline != want {
		t.Errorf("Cmdline = %q, want %q", p.Cmdline, want)
	}
	// The snapshot also holds this test's own process.
	self := procFind(t, procs, os.Getpid())
	if self.Exe == "" || self.Started.IsZero() {
		t.Errorf("own process: %+v", self)
	}
}

// A package upgrade replaces the image of a running daemon: the kernel
// then shows the old path with " (deleted)" appended.
func TestProcessListerDeletedImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip(`the " (deleted)" mark is Linux's /proc/PID/exe`)
	}
	cmd, exe := procStartKesl(t, "")
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	raw, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if raw != exe+" (deleted)" {
		t.Fatalf("/proc/PID/exe = %q, want %q: the kernel does not mark deleted images as expected", raw, exe+" (deleted)")
	}
	procs, err := NewProcessLister().Processes(context.Background())
	if err != nil {
		t.Fatalf("Processes: %v", err)
	}
	if p := procFind(t, procs, cmd.Process.Pid); p.Exe != exe {
		t.Errorf("Exe = %q, want %q", p.Exe, exe)
	}
}

func TestDetectProcessesLive(t *testing.T) {
	const argv0 = "kesl --password=hunter2"
	cmd, exe := procStartKesl(t, argv0)
	username := procCurrentUser(t)

	items, err := detectProcesses(context.Background(), &Env{Processes: NewProcessLister(), Live: true})
	if err != nil {
		t.Fatalf("detectProcesses: %v", err)
	}
	var it *Item
	for i := range items {
		if items[i].Process != nil && int(items[i].Process.PID) == cmd.Process.Pid {
			it = &items[i]
		}
		if items[i].Kind != KindProcess || items[i].State != StateRunning || items[i].Process == nil {
			t.Errorf("malformed item %+v", items[i])
		}
	}
	if it == nil {
		t.Fatalf("pid %d not among %d items", cmd.Process.Pid, len(items))
	}
	if it.Kind != KindProcess || it.State != StateRunning || it.Name != "kesl" {
		t.Errorf("Kind, State, Name = %s, %s, %q; want process, running, kesl", it.Kind, it.State, it.Name)
	}
	if it.Exec != exe || it.Path != exe {
		t.Errorf("Exec, Path = %q, %q; want %q", it.Exec, it.Path, exe)
	}
	if it.ExecMissing {
		t.Error("ExecMissing is set for a running process")
	}
	p := it.Process
	if int(p.PID) != cmd.Process.Pid || int(p.PPID) != os.Getpid() || p.User != username || p.Started.IsZero() {
		t.Errorf("Process = %+v; want pid %d, ppid %d, user %s, a start time", p, cmd.Process.Pid, os.Getpid(), username)
	}
	// The command line stays in the item, for the policy...
	if want := argv0 + " 2999"; p.Cmdline != want {
		t.Errorf("Cmdline = %q, want %q", p.Cmdline, want)
	}
	// ...but the evidence does not show it: it can carry secrets.
	wantDetail := "pid " + strconv.Itoa(cmd.Process.Pid) + ", ppid " + strconv.Itoa(os.Getpid()) + ", user " + username + ", started "
	if !strings.HasPrefix(it.Detail, wantDetail) {
		t.Errorf("Detail = %q, want prefix %q", it.Detail, wantDetail)
	}
	if started := strings.TrimPrefix(it.Detail, wantDetail); started != p.Started.UTC().Format(time.RFC3339) {
		t.Errorf("Detail start %q, want %q", started, p.Started.UTC().Format(time.RFC3339))
	}
	for _, secret := range []string{"hunter2", "--password", "2999"} {
		if strings.Contains(it.Detail, secret) {
			t.Errorf("Detail %q shows the command line (%q)", it.Detail, secret)
		}
	}
}

func TestDetectProcessesNoSource(t *testing.T) {
	items, err := detectProcesses(context.Background(), &Env{Live: true})
	if err == nil || len(items) != 0 {
		t.Fatalf("detectProcesses without a lister = %v, %v; want an error", items, err)
	}
}

// procFailingLister stands in for an OS that lists some processes and then
// fails: no real process table can be made to fail half way on demand.
type procFailingLister struct{}

func (procFailingLister) Processes(context.Context) ([]ProcessInfo, error) {
	return []ProcessInfo{{PID: 812, PPID: 1, Name: "kesl", Exe: "/opt/kaspersky/kesl/libexec/kesl", User: "root"}},
		errors.New("list processes: interrupted")
}

// Items read before a failure are kept beside the error; unknown fields
// read as "unknown".
func TestDetectProcessesPartial(t *testing.T) {
	items, err := detectProcesses(context.Background(), &Env{Processes: procFailingLister{}})
	if err == nil || err.Error() != "list processes: interrupted" {
		t.Fatalf("err = %v", err)
	}
	compareItems(t, items, []Item{{
		Kind: KindProcess, Name: "kesl", Path: "/opt/kaspersky/kesl/libexec/kesl", Exec: "/opt/kaspersky/kesl/libexec/kesl",
		State: StateRunning, Detail: "pid 812, ppid 1, user root, started unknown",
		Process: &Process{PID: 812, PPID: 1, User: "root"},
	}})
}
