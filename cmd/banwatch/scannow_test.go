package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
)

// TestScanNowNoAgent: with no agent to answer, scan-now gives up after
// --wait with exit 3, leaving its request for an agent that starts.
func TestScanNowNoAgent(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	code, stdout, stderr := runCLI("scan-now", "--state-dir", dir, "--wait", "1s")
	if code != exitNotRunning || !strings.Contains(stdout, "NOT RUNNING: no answer within 1s: no status file") {
		t.Errorf("exit %d, want 3\n%s%s", code, stdout, stderr)
	}
	if took := time.Since(began); took > 30*time.Second { // a guard against waiting the default 2 min, not a timing test
		t.Errorf("took %s", took)
	}
	if _, err := os.Stat(filepath.Join(dir, agent.RequestFile)); err != nil {
		t.Errorf("no request file: %v", err)
	}

	// A stopped agent's status: same answer, and no signal to its old pid.
	stopped := writeStatus(t, &agent.Status{PID: os.Getpid(), Running: false, Interval: "1h0m0s", UpdatedAt: time.Now()})
	if code, stdout, _ := runCLI("scan-now", "--state-dir", stopped, "--wait", "300ms"); code != exitNotRunning || !strings.Contains(stdout, "it stopped") {
		t.Errorf("stopped agent: exit %d\n%s", code, stdout)
	}
	// No state directory at all: at once.
	if code, stdout, _ := runCLI("scan-now", "--state-dir", filepath.Join(dir, "missing")); code != exitNotRunning || !strings.Contains(stdout, "no state directory") {
		t.Errorf("missing state dir: exit %d\n%s", code, stdout)
	}
	// --wait 0 asks and returns.
	if code, stdout, _ := runCLI("scan-now", "--state-dir", dir, "--wait", "0"); code != exitOK || !strings.Contains(stdout, "scan requested") {
		t.Errorf("--wait 0: exit %d\n%s", code, stdout)
	}
	if code, _, _ := runCLI("scan-now", "--wait", "-1s", "--state-dir", dir); code != exitUsage {
		t.Errorf("negative --wait: exit %d", code)
	}
	if code, _, _ := runCLI("scan-now", "extra"); code != exitUsage {
		t.Errorf("an argument: exit %d", code)
	}
}

func TestScanNowResult(t *testing.T) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		st   agent.Status
		code int
		want string
	}{
		{agent.Status{LastScan: at}, exitOK, "no findings"},
		{agent.Status{LastScan: at, Findings: 3, BySeverity: map[policy.Severity]int{policy.SeverityCritical: 1, policy.SeverityHigh: 2}},
			exitFindings, "3 findings (1 critical, 2 high)"},
		{agent.Status{LastScan: at, Findings: 1, LastError: "scan: root: gone"}, exitNotRunning, "failed: root: gone"},
	} {
		var b strings.Builder
		if code := scanNowResult(&tc.st, &b); code != tc.code || !strings.Contains(b.String(), tc.want) {
			t.Errorf("exit %d, %q; want %d, %q", code, b.String(), tc.code, tc.want)
		}
	}
}
