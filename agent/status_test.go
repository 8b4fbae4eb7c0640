package agent

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/policy"
)

func TestStatusCheck(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ok := Status{PID: 42, Running: true, Interval: "1h0m0s", UpdatedAt: now.Add(-30 * time.Minute), LastScan: now.Add(-31 * time.Minute)}
	for _, tc := range []struct {
		name string
		edit func(*Status)
		code int
		why  string
	}{
		{"clean", func(*Status) {}, StatusClean, "no findings"},
		{"findings", func(s *Status) {
			s.Findings, s.BySeverity = 2, map[policy.Severity]int{policy.SeverityCritical: 1, policy.SeverityHigh: 1}
		}, StatusFindings, "2 findings"},
		{"stopped", func(s *Status) { s.Running = false; s.Findings = 2 }, StatusStale, "not running"},
		{"stale", func(s *Status) { s.UpdatedAt = now.Add(-2*time.Hour - time.Second) }, StatusStale, "more than two intervals"},
		{"just under two intervals", func(s *Status) { s.UpdatedAt = now.Add(-2 * time.Hour) }, StatusClean, "no findings"},
		{"no scan yet", func(s *Status) { s.LastScan = time.Time{} }, StatusStale, "not completed a scan"},
		{"bad interval", func(s *Status) { s.Interval = "" }, StatusStale, "no valid interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			code, why := s.Check(now)
			if code != tc.code || !strings.Contains(why, tc.why) {
				t.Errorf("Check = %d %q, want %d %q", code, why, tc.code, tc.why)
			}
			var b bytes.Buffer
			if err := s.WriteText(&b, now); err != nil || !strings.Contains(b.String(), tc.why) {
				t.Errorf("text:\n%s", b.String())
			}
		})
	}
}

func TestStatusFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	n := 3
	s := &Status{PID: 1, Running: true, Interval: "1s", Findings: 1, BySeverity: map[policy.Severity]int{policy.SeverityHigh: 1}, SpoolDepth: &n}
	if err := s.write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadStatus(dir)
	if err != nil || back.Findings != 1 || back.SpoolDepth == nil || *back.SpoolDepth != 3 || back.BySeverity[policy.SeverityHigh] != 1 {
		t.Errorf("%+v, %v", back, err)
	}
	if _, err := ReadStatus(t.TempDir()); err == nil {
		t.Error("a missing status file must be an error")
	}
}
