package policy

import "fmt"

// Kind is the kind of a finding.
type Kind string

// Finding kinds. The report schema banwatch.scan/v1 reserves
// "stale-signatures" and "update-traffic" for the update-status checks.
const (
	// KindProduct: a product of a listed vendor is installed or running.
	KindProduct Kind = "product"
	// KindRemnant: only leftovers of a product remain.
	KindRemnant Kind = "remnant"
	// KindUpdatesCutOff: the jurisdiction's update cut-off has passed, so
	// the install can no longer receive updates.
	KindUpdatesCutOff Kind = "updates-cut-off"
	// KindTool: an on-demand tool of the vendor (a removal or rescue
	// utility) is on the machine. It is not protection and takes no
	// updates, so it is only a note.
	KindTool Kind = "tool"
)

// kinds lists the kinds a policy may set severity and remediation for,
// with the defaults.
var kinds = map[Kind]Severity{
	KindProduct:       SeverityHigh,
	KindRemnant:       SeverityLow,
	KindUpdatesCutOff: SeverityCritical,
	KindTool:          SeverityLow,
}

// Severity grades a finding.
type Severity string

// Severities, lowest first.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: low 1 ... critical 4; anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// ParseSeverity checks a severity name.
func ParseSeverity(s string) (Severity, error) {
	if Severity(s).Rank() == 0 {
		return "", fmt.Errorf("unknown severity %q (want low, medium, high or critical)", s)
	}
	return Severity(s), nil
}

// Finding is one finding of banwatch.scan/v1. Fields that do not apply are
// omitted from JSON.
type Finding struct {
	// ID is stable across scans of the same host: a hash of the rule, the
	// product and the host.
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Vendor   string   `json:"vendor"`
	Product  string   `json:"product"`
	// ProductID is the policy's id of the product ("kesl").
	ProductID string `json:"product_id,omitempty"`
	Version   string `json:"version,omitempty"`
	Summary   string `json:"summary"`
	// Jurisdiction and CutOff are set on updates-cut-off findings.
	Jurisdiction string     `json:"jurisdiction,omitempty"`
	CutOff       string     `json:"cut_off,omitempty"`
	Evidence     []Evidence `json:"evidence"`
	Remediation  string     `json:"remediation,omitempty"`
}

// Evidence is one inventory item behind a finding.
type Evidence struct {
	Detector string `json:"detector"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Path     string `json:"path,omitempty"`
	State    string `json:"state,omitempty"`
	PID      int32  `json:"pid,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// BundleID is a macOS identifier (com.kaspersky.kav).
	BundleID string `json:"bundle_id,omitempty"`
	// Attrs are further facts from the source: a registry key's values,
	// a program's install location and scope, a driver's image path.
	Attrs map[string]string `json:"attrs,omitempty"`
}
