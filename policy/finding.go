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
	// KindStaleSignatures: the install's signatures are older than the
	// policy's maximum age, in any jurisdiction.
	KindStaleSignatures Kind = "stale-signatures"
	// KindUpdatesAfterCutOff: in a jurisdiction past its cut-off, the
	// install has signatures newer than the cut-off, so updates still
	// reach it from somewhere.
	KindUpdatesAfterCutOff Kind = "updates-after-cut-off"
	// KindUpdateTraffic: the install talks to the vendor's update hosts
	// or to a management server, blocked or not.
	KindUpdateTraffic Kind = "update-traffic"
	// KindTool: an on-demand tool of the vendor (a removal or rescue
	// utility) is on the machine. It is not protection and takes no
	// updates, so it is only a note.
	KindTool Kind = "tool"
)

// kinds lists the kinds a policy may set severity and remediation for,
// with the defaults.
var kinds = map[Kind]Severity{
	KindProduct:            SeverityHigh,
	KindRemnant:            SeverityLow,
	KindUpdatesCutOff:      SeverityCritical,
	KindTool:               SeverityLow,
	KindStaleSignatures:    SeverityHigh,
	KindUpdatesAfterCutOff: SeverityHigh,
	KindUpdateTraffic:      SeverityHigh,
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
	Jurisdiction string `json:"jurisdiction,omitempty"`
	CutOff       string `json:"cut_off,omitempty"`
	// Signatures is what is known of the install's signature date.
	Signatures *Signatures `json:"signatures,omitempty"`
	// Traffic is set on update-traffic findings: the connection that
	// matters most (one that gets through before a blocked one).
	Traffic     *Traffic   `json:"traffic,omitempty"`
	Evidence    []Evidence `json:"evidence"`
	Remediation string     `json:"remediation,omitempty"`
}

// Signatures is the date of an install's signatures (anti-virus
// databases), or why it is not known.
type Signatures struct {
	// LastUpdate is the day (YYYY-MM-DD, UTC) of the signatures.
	LastUpdate string `json:"last_update,omitempty"`
	// LastUpdateAt is the same instant in RFC 3339, when the source gives
	// a time of day.
	LastUpdateAt string `json:"last_update_at,omitempty"`
	// AgeDays is the number of days from LastUpdate to the as-of day.
	AgeDays *int `json:"age_days,omitempty"`
	// Source says where the date was read; Confidence how sure it is:
	// high (the product's own record of its bases' release), medium (the
	// time of the last successful update), low (file times).
	Source     string `json:"source,omitempty"`
	Confidence string `json:"confidence,omitempty"`
	// UpdateSource is where the install takes updates from, when known.
	UpdateSource string `json:"update_source,omitempty"`
	// Unknown says why there is no date.
	Unknown string `json:"unknown,omitempty"`
}

// Traffic is one connection of an install to an update channel.
type Traffic struct {
	Process string `json:"process,omitempty"`
	PID     int32  `json:"pid,omitempty"`
	Remote  string `json:"remote"`
	Blocked bool   `json:"blocked"`
	Reason  string `json:"reason,omitempty"`
	// Channel is "vendor" (the vendor's update hosts) or "managed" (a
	// management server such as Kaspersky Security Center).
	Channel string `json:"channel,omitempty"`
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
