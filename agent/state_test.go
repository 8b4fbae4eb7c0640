package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/banwatch/banwatch/policy"
)

func TestFingerprintIgnoresVolatileFields(t *testing.T) {
	age := func(n int) *int { return &n }
	base := func() policy.Finding {
		f := finding("a", policy.SeverityHigh, "12.1")
		f.Evidence = append(f.Evidence, policy.Evidence{Detector: "processes", Type: "process", Name: "kesl", PID: 100, Detail: "running"})
		f.Signatures = &policy.Signatures{LastUpdate: "2024-09-28", LastUpdateAt: "2024-09-28T10:00:00Z", AgeDays: age(700), Source: "bases"}
		f.Traffic = &policy.Traffic{Process: "kesl", PID: 100, Remote: "1.2.3.4:443", Blocked: true, Channel: "vendor", Reason: "timeout"}
		return f
	}
	for _, tc := range []struct {
		name    string
		edit    func(*policy.Finding)
		changed bool
	}{
		{"identical", func(*policy.Finding) {}, false},
		{"summary with a new pid and age", func(f *policy.Finding) { f.Summary = "KESL (pid 200), 701 days old" }, false},
		{"process restarted", func(f *policy.Finding) { f.Evidence[1].PID = 200; f.Traffic.PID = 200 }, false},
		{"evidence detail", func(f *policy.Finding) { f.Evidence[0].Detail = "modified 2026-11-26" }, false},
		{"evidence order", func(f *policy.Finding) { slices.Reverse(f.Evidence) }, false},
		{"signatures a day older", func(f *policy.Finding) { f.Signatures.AgeDays = age(701) }, false},
		{"another update host address", func(f *policy.Finding) { f.Traffic.Remote = "5.6.7.8:443"; f.Traffic.Reason = "refused" }, false},
		{"severity", func(f *policy.Finding) { f.Severity = policy.SeverityCritical }, true},
		{"version", func(f *policy.Finding) { f.Version = "12.2" }, true},
		{"evidence added", func(f *policy.Finding) {
			f.Evidence = append(f.Evidence, policy.Evidence{Type: "service", Name: "kesl.service"})
		}, true},
		{"evidence state", func(f *policy.Finding) { f.Evidence[0].State = "config-files" }, true},
		{"new signatures", func(f *policy.Finding) { f.Signatures.LastUpdate = "2026-11-01" }, true},
		{"traffic unblocked", func(f *policy.Finding) { f.Traffic.Blocked = false }, true},
		{"cut-off", func(f *policy.Finding) { f.CutOff = "2024-09-29" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.edit(&b)
			if got := Fingerprint(a) != Fingerprint(b); got != tc.changed {
				t.Errorf("changed = %v, want %v", got, tc.changed)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	at := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	a, b, c := finding("a", policy.SeverityHigh, "1"), finding("b", policy.SeverityHigh, "1"), finding("c", policy.SeverityLow, "1")
	b2 := finding("b", policy.SeverityHigh, "2")
	for _, tc := range []struct {
		name      string
		prev, now []policy.Finding
		want      []string
	}{
		{"first scan", nil, []policy.Finding{b, a}, []string{"new:a", "new:b"}},
		{"nothing", []policy.Finding{a}, []policy.Finding{a}, nil},
		{"all kinds", []policy.Finding{a, b}, []policy.Finding{c, b2}, []string{"new:c", "changed:b", "resolved:a"}},
		{"all resolved", []policy.Finding{a, b}, []policy.Finding{}, []string{"resolved:a", "resolved:b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := Diff(tc.prev, tc.now, at)
			got := kinds(&Delivery{Events: ev})
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, e := range ev {
				if !e.At.Equal(at) || (e.Type == EventChanged) != (e.Previous != nil) {
					t.Errorf("event %+v", e)
				}
			}
		})
	}
}

func TestHeartbeatDue(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		last, now time.Time
		want      bool
	}{
		{time.Time{}, t0, true},
		{t0, t0.Add(23 * time.Hour), false},
		{t0, t0.Add(24 * time.Hour), true},
		{t0, t0.Add(72 * time.Hour), true},
	} {
		if got := HeartbeatDue(tc.last, tc.now); got != tc.want {
			t.Errorf("HeartbeatDue(%v, %v) = %v", tc.last, tc.now, got)
		}
	}
}

func TestStateRoundTripAndDamage(t *testing.T) {
	dir := t.TempDir()
	st, err := LoadState(dir)
	if err != nil || st.HostID == "" || len(st.Findings) != 0 {
		t.Fatalf("fresh state: %+v, %v", st, err)
	}
	st.Findings["a"] = finding("a", policy.SeverityHigh, "1")
	st.LastHeartbeat = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	if err := st.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadState(dir)
	if err != nil || back.HostID != st.HostID || !back.LastHeartbeat.Equal(st.LastHeartbeat) || back.Findings["a"].Version != "1" {
		t.Errorf("reloaded: %+v, %v", back, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte("{trunc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := LoadState(dir); err == nil || st == nil || len(st.Findings) != 0 {
		t.Errorf("a damaged state must be an error with a fresh state, got %+v, %v", st, err)
	}
}
