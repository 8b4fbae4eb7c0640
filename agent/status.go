package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/banwatch/banwatch/policy"
)

// Exit codes of "banwatch status", for RMM and Intune detection scripts.
const (
	StatusClean    = 0 // the agent runs and its last scan found nothing
	StatusFindings = 1 // the agent runs and its last scan found something
	StatusStale    = 3 // the agent is not running, has not scanned, or its status is older than two intervals
)

// Status is the agent's status file, state_dir/status.json, rewritten
// after every scan and when the agent stops.
type Status struct {
	PID       int       `json:"pid"`
	Running   bool      `json:"running"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Interval is the scan interval, as a Go duration ("1h0m0s").
	Interval string `json:"interval"`
	Host     string `json:"host,omitempty"`
	// LastScan is when the last scan started; zero before the first.
	LastScan           time.Time `json:"last_scan,omitzero"`
	LastScanDurationMS int64     `json:"last_scan_duration_ms"`
	NextScan           time.Time `json:"next_scan,omitzero"`
	// Findings and BySeverity count the last complete scan's findings.
	Findings   int                     `json:"findings"`
	BySeverity map[policy.Severity]int `json:"by_severity"`
	// ScanErrors counts what the last scan could not read.
	ScanErrors int `json:"scan_errors"`
	// LastError is what went wrong in the last scan and delivery; empty
	// when both went through.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// SpoolDepth is the number of deliveries waiting to be sent, when a
	// queueing sink is configured.
	SpoolDepth   *int      `json:"spool_depth,omitempty"`
	LastDelivery time.Time `json:"last_delivery,omitzero"`
}

// ReadStatus reads dir/status.json.
func ReadStatus(dir string) (*Status, error) {
	data, err := os.ReadFile(filepath.Join(dir, StatusFile))
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("status %s: %w", filepath.Join(dir, StatusFile), err)
	}
	return &s, nil
}

func (s *Status) write(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, StatusFile), append(data, '\n'), 0o644)
}

// Check turns the status into the exit code of "banwatch status" at now,
// and says why.
func (s *Status) Check(now time.Time) (code int, why string) {
	interval, err := time.ParseDuration(s.Interval)
	switch {
	case !s.Running:
		return StatusStale, fmt.Sprintf("the agent is not running (stopped %s)", s.UpdatedAt.Local().Format(time.DateTime))
	case err != nil || interval <= 0:
		return StatusStale, fmt.Sprintf("the status file has no valid interval (%q)", s.Interval)
	case now.Sub(s.UpdatedAt) > 2*interval:
		return StatusStale, fmt.Sprintf("the status is %s old, more than two intervals (%s): the agent is not running or is stuck",
			now.Sub(s.UpdatedAt).Round(time.Second), 2*interval)
	case s.LastScan.IsZero():
		return StatusStale, "the agent has not completed a scan yet"
	case s.Findings > 0:
		return StatusFindings, fmt.Sprintf("%d %s", s.Findings, plural(s.Findings, "finding", "findings"))
	}
	return StatusClean, "no findings"
}

// WriteText prints the status for people.
func (s *Status) WriteText(w io.Writer, now time.Time) error {
	code, why := s.Check(now)
	state := map[int]string{StatusClean: "OK", StatusFindings: "FINDINGS", StatusStale: "NOT RUNNING"}[code]
	var b strings.Builder
	fmt.Fprintf(&b, "banwatch agent: %s: %s\n", state, why)
	row := func(k, v string) { fmt.Fprintf(&b, "  %-14s %s\n", k+":", v) }
	when := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.DateTime), now.Sub(t).Round(time.Second))
	}
	if s.Host != "" {
		row("host", s.Host)
	}
	row("pid", fmt.Sprint(s.PID))
	row("interval", s.Interval)
	row("last scan", when(s.LastScan))
	if !s.LastScan.IsZero() {
		row("duration", (time.Duration(s.LastScanDurationMS) * time.Millisecond).String())
	}
	if s.Running && !s.NextScan.IsZero() {
		row("next scan", s.NextScan.Local().Format(time.DateTime))
	}
	findings := fmt.Sprint(s.Findings)
	if s.Findings > 0 {
		var parts []string
		for _, sev := range []policy.Severity{policy.SeverityCritical, policy.SeverityHigh, policy.SeverityMedium, policy.SeverityLow} {
			if n := s.BySeverity[sev]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		findings += " (" + strings.Join(parts, ", ") + ")"
	}
	row("findings", findings)
	if s.ScanErrors > 0 {
		row("scan errors", fmt.Sprint(s.ScanErrors))
	}
	row("last delivery", when(s.LastDelivery))
	if s.SpoolDepth != nil {
		row("spool", fmt.Sprintf("%d waiting", *s.SpoolDepth))
	}
	if s.LastError != "" {
		row("last error", s.LastError+" ("+when(s.LastErrorAt)+")")
	}
	row("updated", when(s.UpdatedAt))
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
