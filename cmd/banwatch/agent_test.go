package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
)

func TestConfigCheck(t *testing.T) {
	valid := writeFile(t, "ok.yaml", "interval: 30m\nstate_dir: st\n")
	invalid := writeFile(t, "bad.yaml", "interval: 1h\nintervall: 2h\nfleet:\n  token: s3cr3t-token\nsyslog:\n  address: udp://host\n")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"valid", []string{"config", "check", valid}, exitOK, []string{valid + ": valid: scan every 30m0s"}},
		{"invalid", []string{"config", "check", invalid}, exitFindings, []string{
			invalid + ":2: intervall: unknown key\n",
			invalid + ":4: fleet.token: is set but fleet.url is not\n",
			invalid + ":6: syslog.address: must be udp://host:port",
			invalid + ": invalid, 3 problems\n"}},
		{"unreadable", []string{"config", "check", filepath.Join(t.TempDir(), "missing.yaml")}, exitUsage, nil},
		{"show redacts", []string{"config", "show", writeFile(t, "f.yaml", "fleet:\n  url: https://f.example/\n  token: s3cr3t-token\n")},
			exitOK, []string{"token: '[redacted]'"}},
		{"no subcommand", []string{"config"}, exitUsage, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout+stderr, "s3cr3t-token") {
				t.Errorf("the token is printed:\n%s%s", stdout, stderr)
			}
		})
	}
}

func writeStatus(t *testing.T, s *agent.Status) string {
	t.Helper()
	dir := t.TempDir()
	if s == nil {
		return dir
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, agent.StatusFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStatusExitCodes(t *testing.T) {
	now := time.Now()
	fresh := func(findings int) *agent.Status {
		return &agent.Status{PID: 1, Running: true, Interval: "1h0m0s", UpdatedAt: now.Add(-time.Minute), LastScan: now.Add(-time.Minute),
			Findings: findings, BySeverity: map[policy.Severity]int{policy.SeverityCritical: findings}}
	}
	stale, stopped := fresh(0), fresh(2)
	stale.UpdatedAt = now.Add(-3 * time.Hour)
	stopped.Running = false
	for _, tc := range []struct {
		name   string
		status *agent.Status
		code   int
		text   string
	}{
		{"clean", fresh(0), 0, "OK: no findings"},
		{"findings", fresh(2), 1, "FINDINGS: 2 findings"},
		{"stale", stale, 3, "more than two intervals"},
		{"stopped", stopped, 3, "not running"},
		{"missing", nil, 3, "no status file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeStatus(t, tc.status)
			code, stdout, stderr := runCLI("status", "--state-dir", dir)
			if code != tc.code || !strings.Contains(stdout, tc.text) {
				t.Errorf("text: exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout, stderr)
			}
			code, stdout, _ = runCLI("status", "--json", "--state-dir", dir)
			var got struct {
				Code     int    `json:"code"`
				Reason   string `json:"reason"`
				Findings int    `json:"findings"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != tc.code || got.Code != tc.code || !strings.Contains(got.Reason, strings.TrimSpace(tc.text[strings.Index(tc.text, ":")+1:])) {
				t.Errorf("json: exit %d, %+v, %v\n%s", code, got, err, stdout)
			}
		})
	}
	if code, _, _ := runCLI("status", "--config", writeFile(t, "bad.yaml", "nope: 1\n")); code != exitUsage {
		t.Errorf("an invalid config: exit %d, want %d", code, exitUsage)
	}
}
