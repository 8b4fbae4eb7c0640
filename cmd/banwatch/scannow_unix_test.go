//go:build unix

package main

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent"
)

// TestScanNowRunningAgent runs the real binary as the agent with an
// interval of an hour, so only a request can cause a second scan:
// "banwatch scan-now" (another real process, SIGHUP and file) gets that
// scan's result, exit 1 for the fixture's findings; then a bare request
// file, the path Windows has, is picked up by the agent's poll.
func TestScanNowRunningAgent(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "banwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fixture, err := filepath.Abs(root("debian12-kesl"))
	if err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	logFile := filepath.Join(stateDir, "banwatch.log")
	config := writeFile(t, "banwatch.yaml", "interval: 1h\nroot: "+fixture+"\nstate_dir: "+stateDir+"\n")
	cmd := exec.Command(bin, "run", "--config", config)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	waitFor(t, "the first scan", func() bool {
		st, err := agent.ReadStatus(stateDir)
		return err == nil && st.Running && !st.LastScan.IsZero()
	})

	out, err := exec.Command(bin, "scan-now", "--state-dir", stateDir).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFindings || !strings.Contains(string(out), "4 findings") {
		t.Fatalf("scan-now: %v, want exit 1 with 4 findings\n%s\nagent:\n%s", err, out, stderr.String())
	}
	lines := logLines(t, logFile)
	if n := countMsg(lines, "scan done"); n != 2 {
		t.Errorf("%d scans in the log, want 2 (start, scan-now)", n)
	}
	if n := countMsg(lines, "scan requested"); n != 1 {
		t.Errorf("%d scan requests in the log, want 1: SIGHUP and file together are one", n)
	}

	// The file alone, as on Windows: the poll finds it within seconds.
	if err := agent.WriteScanRequest(stateDir, agent.ScanRequest{PID: 7, RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scan the request file asked for", func() bool { return countMsg(logLines(t, logFile), "scan done") == 3 })
	var by []string
	for _, l := range logLines(t, logFile) {
		if l["msg"] == "scan requested" {
			by = append(by, fmt.Sprint(l["by"]))
		}
	}
	if strings.Join(by, ",") != "trigger,request file" {
		t.Errorf("scans requested by %q, want the SIGHUP (trigger) then the request file", by)
	}
	time.Sleep(2 * agent.RequestPollInterval) // no further scan: the file was taken
	if n := countMsg(logLines(t, logFile), "scan done"); n != 3 {
		t.Errorf("%d scans, want 3", n)
	}
}
