package scan

import (
	"time"

	"github.com/banwatch/banwatch/detectors"
	"github.com/banwatch/banwatch/policy"
)

// SchemaV1 names the report format. It changes only by extension.
const SchemaV1 = "banwatch.scan/v1"

// Report is a scan report, banwatch.scan/v1.
type Report struct {
	Schema   string           `json:"schema"`
	Host     Host             `json:"host"`
	Scan     Info             `json:"scan"`
	Policy   PolicyInfo       `json:"policy"`
	Findings []policy.Finding `json:"findings"`
	Errors   []Error          `json:"errors"`
}

// Host describes the scanned machine.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Platform string `json:"platform"`
	Arch     string `json:"arch,omitempty"`
}

// Info describes the scan itself.
type Info struct {
	Root         string        `json:"root"`
	Mode         string        `json:"mode"` // live or offline
	AsOf         string        `json:"as_of"`
	Jurisdiction string        `json:"jurisdiction"`
	StartedAt    time.Time     `json:"started_at"`
	DurationMS   int64         `json:"duration_ms"`
	Detectors    []DetectorRun `json:"detectors"`
}

// DetectorRun is one detector's part in the scan.
type DetectorRun struct {
	Name  string `json:"name"`
	Items int    `json:"items"`
	Error string `json:"error"`
	// Skipped says why the detector did not run (an extension of v1).
	Skipped    string `json:"skipped,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// PolicyInfo identifies the policy the findings come from.
type PolicyInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Source  string `json:"source"`
}

// Error is something the scan could not read.
type Error struct {
	Detector string `json:"detector"`
	Message  string `json:"message"`
}

func newReport(o Options, env *detectors.Env, started time.Time) *Report {
	mode := "offline"
	if env.Live {
		mode = "live"
	}
	p := o.Policy.Policy()
	return &Report{
		Schema: SchemaV1,
		Host:   Host{Hostname: env.Host.Hostname, OS: env.Host.OS, Platform: env.Host.Platform, Arch: env.Host.Arch},
		Scan: Info{
			Root: env.RootDir, Mode: mode, AsOf: o.AsOf.Format(time.DateOnly), Jurisdiction: o.Jurisdiction,
			StartedAt: started.UTC().Truncate(time.Millisecond), Detectors: []DetectorRun{},
		},
		Policy: PolicyInfo{Name: p.Name, Version: p.Version, SHA256: o.Policy.SHA256(), Source: o.Policy.Source()},
		Errors: []Error{},
	}
}

func (r *Report) addResult(res detectors.Result) {
	d := DetectorRun{Name: res.Name, Items: len(res.Items), Skipped: res.Skipped, DurationMS: res.Duration.Milliseconds()}
	if res.Err != nil {
		d.Error = res.Err.Error()
		r.Errors = append(r.Errors, Error{Detector: res.Name, Message: d.Error})
	}
	r.Scan.Detectors = append(r.Scan.Detectors, d)
}
