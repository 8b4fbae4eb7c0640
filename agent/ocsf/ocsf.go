// Package ocsf maps banwatch findings to OCSF Detection Findings (class
// 2004 in category 2, Findings; schema 1.4.0), for SIEMs and data lakes
// that take the Open Cybersecurity Schema Framework: `banwatch scan
// --format ocsf` and the agent's sinks.
//
// One banwatch finding is one Detection Finding. The finding id (stable
// across scans of a host) is finding_info.uid, so a consumer can follow a
// finding from Create through Update to Close. What OCSF has no attribute
// for (the rule, the jurisdiction and cut-off, the signatures, the update
// traffic, the scan and the policy) goes under unmapped.banwatch.
//
// The package does not import package agent, so that the agent's own
// sinks can use it; FromEvent takes the agent's event as an Event.
package ocsf

import (
	"encoding/json"
	"io"
	"net"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

// SchemaVersion is the OCSF schema version the findings follow.
const SchemaVersion = "1.4.0"

// Class, category and enumerations of the Detection Finding class.
const (
	ClassUID     = 2004
	ClassName    = "Detection Finding"
	CategoryUID  = 2
	CategoryName = "Findings"

	ActivityCreate = 1
	ActivityUpdate = 2
	ActivityClose  = 3

	SeverityInformational = 1
	SeverityLow           = 2
	SeverityMedium        = 3
	SeverityHigh          = 4
	SeverityCritical      = 5

	StatusNew      = 1
	StatusResolved = 4
)

// Vendor is metadata.product.vendor_name.
const Vendor = "banwatch"

// ProductVersion is metadata.product.version: the module version banwatch
// was built as, unless the program sets it (from its -ldflags version).
var ProductVersion = buildVersion()

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// DetectionFinding is an OCSF Detection Finding event.
type DetectionFinding struct {
	ActivityID   int    `json:"activity_id"`
	ActivityName string `json:"activity_name"`
	CategoryUID  int    `json:"category_uid"`
	CategoryName string `json:"category_name"`
	ClassUID     int    `json:"class_uid"`
	ClassName    string `json:"class_name"`
	TypeUID      int    `json:"type_uid"`
	TypeName     string `json:"type_name"`
	SeverityID   int    `json:"severity_id"`
	Severity     string `json:"severity"`
	StatusID     int    `json:"status_id"`
	Status       string `json:"status"`
	// Time is when the finding was observed (or closed), in milliseconds
	// since the epoch.
	Time        int64        `json:"time"`
	Message     string       `json:"message,omitempty"`
	IsAlert     bool         `json:"is_alert"`
	Metadata    Metadata     `json:"metadata"`
	FindingInfo FindingInfo  `json:"finding_info"`
	Device      *Device      `json:"device,omitempty"`
	Resources   []Resource   `json:"resources,omitempty"`
	Evidences   []Evidence   `json:"evidences,omitempty"`
	Remediation *Remediation `json:"remediation,omitempty"`
	Unmapped    *Unmapped    `json:"unmapped,omitempty"`
}

// Metadata is the OCSF metadata object.
type Metadata struct {
	Version string  `json:"version"`
	Product Product `json:"product"`
	// UID identifies this event: the finding id, the activity and the time.
	UID string `json:"uid,omitempty"`
}

// Product is the OCSF product object.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version,omitempty"`
}

// FindingInfo is the OCSF finding_info object.
type FindingInfo struct {
	// UID is banwatch's finding id.
	UID      string    `json:"uid"`
	Title    string    `json:"title"`
	Desc     string    `json:"desc,omitempty"`
	Types    []string  `json:"types,omitempty"`
	Analytic *Analytic `json:"analytic,omitempty"`
	// LastSeenTime is the scan that saw the finding (ms); not set on Close.
	LastSeenTime int64 `json:"last_seen_time,omitempty"`
	// ModifiedTime is when the finding changed or closed (ms).
	ModifiedTime int64 `json:"modified_time,omitempty"`
}

// Analytic is the OCSF analytic object: the policy rule that matched.
type Analytic struct {
	UID    string `json:"uid,omitempty"`
	Name   string `json:"name,omitempty"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

// Device is the OCSF device object: the scanned host.
type Device struct {
	Hostname string `json:"hostname,omitempty"`
	// TypeID is 0, Unknown: banwatch does not tell servers from desktops.
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
	OS     *OS    `json:"os,omitempty"`
}

// OS is the OCSF os object.
type OS struct {
	Name   string `json:"name"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

// Resource is an OCSF resource_details object: the product the finding is
// about.
type Resource struct {
	UID  string            `json:"uid,omitempty"`
	Name string            `json:"name"`
	Type string            `json:"type"`
	Data map[string]string `json:"data,omitempty"`
}

// Evidence is an OCSF evidences object: one inventory item behind the
// finding. Data always carries banwatch's evidence as it is; process,
// file and dst_endpoint are set where the item is one.
type Evidence struct {
	Name        string           `json:"name,omitempty"`
	Data        *policy.Evidence `json:"data"`
	Process     *Process         `json:"process,omitempty"`
	File        *File            `json:"file,omitempty"`
	DstEndpoint *Endpoint        `json:"dst_endpoint,omitempty"`
}

// Process is the OCSF process object.
type Process struct {
	Name string `json:"name,omitempty"`
	PID  int32  `json:"pid,omitempty"`
}

// File is the OCSF file object. Paths are as the report has them:
// relative to the scanned root for offline scans.
type File struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

// Endpoint is the OCSF network_endpoint object.
type Endpoint struct {
	Hostname string `json:"hostname,omitempty"`
	IP       string `json:"ip,omitempty"`
	Port     int    `json:"port,omitempty"`
}

// Remediation is the OCSF remediation object.
type Remediation struct {
	Desc string `json:"desc"`
}

// Unmapped holds what OCSF has no attribute for, under "banwatch".
type Unmapped struct {
	Banwatch Extras `json:"banwatch"`
}

// Extras are banwatch's own facts about a finding.
type Extras struct {
	Rule         string             `json:"rule"`
	Kind         policy.Kind        `json:"kind"`
	Severity     policy.Severity    `json:"severity"`
	Vendor       string             `json:"vendor,omitempty"`
	ProductID    string             `json:"product_id,omitempty"`
	Version      string             `json:"version,omitempty"`
	Jurisdiction string             `json:"jurisdiction,omitempty"`
	CutOff       string             `json:"cut_off,omitempty"`
	Signatures   *policy.Signatures `json:"signatures,omitempty"`
	Traffic      *policy.Traffic    `json:"traffic,omitempty"`
	Event        string             `json:"event,omitempty"`
	Previous     *Previous          `json:"previous,omitempty"`
	Scan         *ScanInfo          `json:"scan,omitempty"`
	Policy       *scan.PolicyInfo   `json:"policy,omitempty"`
}

// Previous is what a changed finding was.
type Previous struct {
	Severity policy.Severity `json:"severity"`
	Summary  string          `json:"summary"`
}

// ScanInfo is the scan a finding comes from.
type ScanInfo struct {
	Schema       string `json:"schema"`
	Mode         string `json:"mode"`
	Root         string `json:"root,omitempty"`
	AsOf         string `json:"as_of"`
	Jurisdiction string `json:"jurisdiction"`
	Platform     string `json:"platform,omitempty"`
}

// Event is the agent's event (agent.Event) as this package takes it:
// Type is "new", "changed" or "resolved"; other types map to nothing.
type Event struct {
	Type     string
	At       time.Time
	Finding  *policy.Finding
	Previous *policy.Finding
}

// FromReport maps every finding of a report to a Detection Finding with
// activity Create, timed at the scan's start. A report without findings
// gives an empty, non-nil slice.
func FromReport(r *scan.Report) []DetectionFinding {
	out := make([]DetectionFinding, 0, len(r.Findings))
	for i := range r.Findings {
		out = append(out, build(&r.Findings[i], nil, ActivityCreate, r.Scan.StartedAt, r))
	}
	return out
}

// FromEvent maps an agent event to a Detection Finding: new is Create,
// changed is Update, resolved is Close (status Resolved). r, when not nil,
// is the report of the scan that produced the event and gives the device
// and the scan. It returns false for events that are not about a finding
// (the heartbeat).
func FromEvent(e Event, r *scan.Report) (DetectionFinding, bool) {
	if e.Finding == nil {
		return DetectionFinding{}, false
	}
	var activity int
	switch e.Type {
	case "new":
		activity = ActivityCreate
	case "changed":
		activity = ActivityUpdate
	case "resolved":
		activity = ActivityClose
	default:
		return DetectionFinding{}, false
	}
	df := build(e.Finding, e.Previous, activity, e.At, r)
	df.Unmapped.Banwatch.Event = e.Type
	return df, true
}

// WriteJSON writes findings as an indented JSON array.
func WriteJSON(w io.Writer, findings []DetectionFinding) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(findings)
}

func build(f *policy.Finding, prev *policy.Finding, activity int, at time.Time, r *scan.Report) DetectionFinding {
	ms := at.UnixMilli()
	if at.IsZero() {
		ms = 0
	}
	sevID := SeverityID(f.Severity)
	df := DetectionFinding{
		ActivityID:   activity,
		ActivityName: activityNames[activity],
		CategoryUID:  CategoryUID,
		CategoryName: CategoryName,
		ClassUID:     ClassUID,
		ClassName:    ClassName,
		TypeUID:      ClassUID*100 + activity,
		TypeName:     ClassName + ": " + activityNames[activity],
		SeverityID:   sevID,
		Severity:     severityNames[sevID],
		StatusID:     StatusNew,
		Status:       "New",
		Time:         ms,
		Message:      f.Summary,
		IsAlert:      activity != ActivityClose,
		Metadata: Metadata{
			Version: SchemaVersion,
			Product: Product{Name: "banwatch", VendorName: Vendor, Version: ProductVersion},
			UID:     f.ID + "-" + strconv.Itoa(activity) + "-" + strconv.FormatInt(ms, 10),
		},
		FindingInfo: FindingInfo{
			UID:      f.ID,
			Title:    Title(f),
			Desc:     f.Summary,
			Types:    []string{string(f.Kind)},
			Analytic: &Analytic{UID: f.Rule, Name: f.Rule, TypeID: 1, Type: "Rule"},
		},
		Unmapped: &Unmapped{Banwatch: Extras{
			Rule: f.Rule, Kind: f.Kind, Severity: f.Severity, Vendor: f.Vendor,
			ProductID: f.ProductID, Version: f.Version,
			Jurisdiction: f.Jurisdiction, CutOff: f.CutOff,
			Signatures: f.Signatures, Traffic: f.Traffic,
		}},
	}
	if activity == ActivityClose {
		df.StatusID, df.Status = StatusResolved, "Resolved"
		df.FindingInfo.ModifiedTime = ms
	} else {
		df.FindingInfo.LastSeenTime = ms
	}
	if activity == ActivityUpdate {
		df.FindingInfo.ModifiedTime = ms
	}
	if prev != nil {
		df.Unmapped.Banwatch.Previous = &Previous{Severity: prev.Severity, Summary: prev.Summary}
	}
	if f.Remediation != "" {
		df.Remediation = &Remediation{Desc: f.Remediation}
	}
	if f.Product != "" {
		res := Resource{UID: f.ProductID, Name: f.Product, Type: "Software"}
		res.Data = map[string]string{}
		if f.Vendor != "" {
			res.Data["vendor"] = f.Vendor
		}
		if f.Version != "" {
			res.Data["version"] = f.Version
		}
		if len(res.Data) == 0 {
			res.Data = nil
		}
		df.Resources = []Resource{res}
	}
	for i := range f.Evidence {
		df.Evidences = append(df.Evidences, evidence(&f.Evidence[i]))
	}
	if r != nil {
		df.Device = device(r.Host)
		df.Unmapped.Banwatch.Scan = &ScanInfo{
			Schema: r.Schema, Mode: r.Scan.Mode, Root: r.Scan.Root, AsOf: r.Scan.AsOf,
			Jurisdiction: r.Scan.Jurisdiction, Platform: r.Host.Platform,
		}
		p := r.Policy
		df.Unmapped.Banwatch.Policy = &p
	}
	return df
}

var activityNames = map[int]string{ActivityCreate: "Create", ActivityUpdate: "Update", ActivityClose: "Close"}

var severityNames = map[int]string{
	0: "Unknown", SeverityInformational: "Informational", SeverityLow: "Low",
	SeverityMedium: "Medium", SeverityHigh: "High", SeverityCritical: "Critical",
}

// SeverityID maps a banwatch severity to OCSF's severity_id: low 2, medium
// 3, high 4, critical 5; anything else 0 (Unknown).
func SeverityID(s policy.Severity) int {
	switch s {
	case policy.SeverityLow:
		return SeverityLow
	case policy.SeverityMedium:
		return SeverityMedium
	case policy.SeverityHigh:
		return SeverityHigh
	case policy.SeverityCritical:
		return SeverityCritical
	}
	return 0
}

var kindTitles = map[policy.Kind]string{
	policy.KindProduct:            "Banned product installed",
	policy.KindRemnant:            "Leftovers of a banned product",
	policy.KindUpdatesCutOff:      "Product past its update cut-off",
	policy.KindStaleSignatures:    "Stale anti-virus signatures",
	policy.KindUpdatesAfterCutOff: "Updates received after the cut-off",
	policy.KindUpdateTraffic:      "Traffic to the vendor's update channel",
	policy.KindTool:               "Vendor tool on the machine",
}

// Title is finding_info.title: what kind of finding, and the product.
func Title(f *policy.Finding) string {
	t, ok := kindTitles[f.Kind]
	if !ok {
		t = "banwatch finding " + string(f.Kind)
	}
	if f.Product != "" {
		t += ": " + f.Product
	}
	return t
}

// OSTypeID maps a GOOS name to OCSF's os.type_id and its caption.
func OSTypeID(goos string) (int, string) {
	switch goos {
	case "windows":
		return 100, "Windows"
	case "linux":
		return 200, "Linux"
	case "darwin":
		return 300, "macOS"
	}
	return 0, "Unknown"
}

func device(h scan.Host) *Device {
	d := &Device{Hostname: h.Hostname, TypeID: 0, Type: "Unknown"}
	if h.OS != "" || h.Platform != "" {
		id, caption := OSTypeID(h.OS)
		name := h.Platform
		if name == "" {
			name = caption
		}
		d.OS = &OS{Name: name, TypeID: id, Type: caption}
	}
	return d
}

func evidence(e *policy.Evidence) Evidence {
	out := Evidence{Name: e.Type, Data: e}
	if e.Type == "process" || e.PID != 0 {
		p := &Process{PID: e.PID}
		if e.Type == "process" {
			p.Name = e.Name
		}
		out.Process = p
	}
	switch e.Type {
	case "connection":
		ep := &Endpoint{Hostname: e.Name, IP: e.Attrs["remote_ip"]}
		ep.Port, _ = strconv.Atoi(e.Attrs["remote_port"])
		if ep.IP == "" {
			if host, port, err := net.SplitHostPort(e.Attrs["remote"]); err == nil {
				if net.ParseIP(host) != nil {
					ep.IP = host
				} else if ep.Hostname == "" {
					ep.Hostname = host
				}
				if ep.Port == 0 {
					ep.Port, _ = strconv.Atoi(port)
				}
			}
		}
		if *ep != (Endpoint{}) {
			out.DstEndpoint = ep
		}
	case "registry-key":
		// a registry path is not a file
	default:
		if e.Path != "" {
			out.File = file(e.Type, e.Path)
		}
	}
	return out
}

func file(typ, p string) *File {
	f := &File{Path: p, Name: path.Base(strings.ReplaceAll(p, `\`, "/"))}
	switch typ {
	case "folder", "application":
		f.TypeID, f.Type = 2, "Folder"
	default:
		// for a package, the database the record was read from
		f.TypeID, f.Type = 1, "Regular File"
	}
	return f
}
