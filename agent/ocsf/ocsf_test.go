package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

var started = time.Date(2026, 11, 25, 3, 57, 14, 293e6, time.UTC)

func report(findings ...policy.Finding) *scan.Report {
	return &scan.Report{
		Schema:   scan.SchemaV1,
		Host:     scan.Host{Hostname: "deb-kesl-01", OS: "linux", Platform: "debian 12"},
		Scan:     scan.Info{Root: "/", Mode: "live", AsOf: "2026-11-25", Jurisdiction: "US", StartedAt: started},
		Policy:   scan.PolicyInfo{Name: "builtin", Version: "2026.1", SHA256: "abc"},
		Findings: findings,
	}
}

func finding(kind policy.Kind, sev policy.Severity) policy.Finding {
	return policy.Finding{
		ID: "id-" + string(kind), Rule: "kaspersky." + string(kind), Kind: kind, Severity: sev,
		Vendor: "Kaspersky", Product: "Kaspersky Endpoint Security for Linux", ProductID: "kesl", Version: "12.1",
		Summary:     `KESL "12" is installed ] \ и всё`,
		Evidence:    []policy.Evidence{{Detector: "dpkg", Type: "package", Name: "kesl", Path: "var/lib/dpkg/status"}},
		Remediation: "Uninstall it.",
	}
}

func TestFromReportKindsAndSeverities(t *testing.T) {
	sevs := []struct {
		sev  policy.Severity
		id   int
		name string
	}{
		{policy.SeverityLow, 2, "Low"},
		{policy.SeverityMedium, 3, "Medium"},
		{policy.SeverityHigh, 4, "High"},
		{policy.SeverityCritical, 5, "Critical"},
	}
	kinds := []struct {
		kind  policy.Kind
		title string
	}{
		{policy.KindProduct, "Banned product installed: Kaspersky Endpoint Security for Linux"},
		{policy.KindRemnant, "Leftovers of a banned product: Kaspersky Endpoint Security for Linux"},
		{policy.KindUpdatesCutOff, "Product past its update cut-off: Kaspersky Endpoint Security for Linux"},
		{policy.KindStaleSignatures, "Stale anti-virus signatures: Kaspersky Endpoint Security for Linux"},
		{policy.KindUpdatesAfterCutOff, "Updates received after the cut-off: Kaspersky Endpoint Security for Linux"},
		{policy.KindUpdateTraffic, "Traffic to the vendor's update channel: Kaspersky Endpoint Security for Linux"},
		{policy.KindTool, "Vendor tool on the machine: Kaspersky Endpoint Security for Linux"},
		{"future-kind", "banwatch finding future-kind: Kaspersky Endpoint Security for Linux"},
	}
	for _, k := range kinds {
		for _, s := range sevs {
			t.Run(fmt.Sprintf("%s/%s", k.kind, s.sev), func(t *testing.T) {
				f := finding(k.kind, s.sev)
				out := FromReport(report(f))
				if len(out) != 1 {
					t.Fatalf("%d findings, want 1", len(out))
				}
				df := out[0]
				if df.SeverityID != s.id || df.Severity != s.name {
					t.Errorf("severity %d %q, want %d %q", df.SeverityID, df.Severity, s.id, s.name)
				}
				if df.FindingInfo.Title != k.title {
					t.Errorf("title %q, want %q", df.FindingInfo.Title, k.title)
				}
				if len(df.FindingInfo.Types) != 1 || df.FindingInfo.Types[0] != string(k.kind) {
					t.Errorf("types %v", df.FindingInfo.Types)
				}
				if df.FindingInfo.UID != f.ID || df.FindingInfo.Desc != f.Summary || df.Message != f.Summary {
					t.Errorf("finding_info %+v, message %q", df.FindingInfo, df.Message)
				}
				if df.ActivityID != ActivityCreate || df.TypeUID != 200401 || df.StatusID != StatusNew || !df.IsAlert {
					t.Errorf("activity %d type_uid %d status %d alert %v", df.ActivityID, df.TypeUID, df.StatusID, df.IsAlert)
				}
				if df.Time != started.UnixMilli() || df.FindingInfo.LastSeenTime != started.UnixMilli() {
					t.Errorf("time %d, last seen %d", df.Time, df.FindingInfo.LastSeenTime)
				}
				x := df.Unmapped.Banwatch
				if x.Kind != k.kind || x.Severity != s.sev || x.Rule != f.Rule || x.Scan.Jurisdiction != "US" || x.Policy.Name != "builtin" {
					t.Errorf("unmapped %+v", x)
				}
				validate(t, df)
			})
		}
	}
}

func TestFromReportExtras(t *testing.T) {
	age := 400
	cut := finding(policy.KindUpdatesCutOff, policy.SeverityCritical)
	cut.Jurisdiction, cut.CutOff = "US", "2024-09-29"
	cut.Signatures = &policy.Signatures{LastUpdate: "2025-10-20", AgeDays: &age, Confidence: "high"}
	traffic := finding(policy.KindUpdateTraffic, policy.SeverityHigh)
	traffic.Traffic = &policy.Traffic{Process: "wdserver", PID: 812, Remote: "dnl-01.geo.kaspersky.com:443", Channel: "vendor"}
	traffic.Evidence = []policy.Evidence{
		{Detector: "connections", Type: "connection", Name: "dnl-01.geo.kaspersky.com", PID: 812,
			Attrs: map[string]string{"remote": "203.0.113.7:443", "remote_ip": "203.0.113.7", "remote_port": "443"}},
		{Detector: "processes", Type: "process", Name: "wdserver", PID: 812, Path: "/opt/kaspersky/kesl/libexec/wdserver"},
		{Detector: "files", Type: "folder", Name: "opt/kaspersky", Path: "opt/kaspersky"},
		{Detector: "registry", Type: "registry-key", Name: "KasperskyLab", Path: `HKLM\SOFTWARE\KasperskyLab`},
		{Detector: "connections", Type: "connection", Attrs: map[string]string{"remote": "ksc.example:13000"}},
	}
	out := FromReport(report(cut, traffic))
	if len(out) != 2 {
		t.Fatalf("%d findings", len(out))
	}
	x := out[0].Unmapped.Banwatch
	if x.Jurisdiction != "US" || x.CutOff != "2024-09-29" || x.Signatures == nil || *x.Signatures.AgeDays != 400 {
		t.Errorf("cut-off extras %+v", x)
	}
	tr := out[1]
	if tr.Unmapped.Banwatch.Traffic == nil || tr.Unmapped.Banwatch.Traffic.PID != 812 {
		t.Errorf("traffic %+v", tr.Unmapped.Banwatch.Traffic)
	}
	ev := tr.Evidences
	if len(ev) != 5 {
		t.Fatalf("%d evidences", len(ev))
	}
	if d := ev[0].DstEndpoint; d == nil || d.IP != "203.0.113.7" || d.Port != 443 || d.Hostname != "dnl-01.geo.kaspersky.com" || ev[0].Process.PID != 812 || ev[0].File != nil {
		t.Errorf("connection evidence %+v %+v", ev[0].DstEndpoint, ev[0].Process)
	}
	if p := ev[1].Process; p == nil || p.Name != "wdserver" || p.PID != 812 || ev[1].File.Name != "wdserver" || ev[1].File.TypeID != 1 {
		t.Errorf("process evidence %+v %+v", ev[1].Process, ev[1].File)
	}
	if f := ev[2].File; f == nil || f.TypeID != 2 || f.Name != "kaspersky" {
		t.Errorf("folder evidence %+v", ev[2].File)
	}
	if ev[3].File != nil || ev[3].Data.Path != `HKLM\SOFTWARE\KasperskyLab` {
		t.Errorf("registry evidence %+v", ev[3])
	}
	if d := ev[4].DstEndpoint; d == nil || d.Hostname != "ksc.example" || d.Port != 13000 {
		t.Errorf("managed connection %+v", ev[4].DstEndpoint)
	}
	if tr.Device == nil || tr.Device.OS.TypeID != 200 || tr.Device.OS.Name != "debian 12" || tr.Device.Hostname != "deb-kesl-01" {
		t.Errorf("device %+v", tr.Device)
	}
	if tr.Remediation == nil || tr.Remediation.Desc != "Uninstall it." {
		t.Errorf("remediation %+v", tr.Remediation)
	}
	if r := tr.Resources; len(r) != 1 || r[0].UID != "kesl" || r[0].Data["vendor"] != "Kaspersky" {
		t.Errorf("resources %+v", r)
	}
	for _, df := range out {
		validate(t, df)
	}
}

func TestFromReportEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, FromReport(report())); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "[]\n" {
		t.Errorf("empty report gives %q, want []", got)
	}
}

func TestFromEvent(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f := finding(policy.KindProduct, policy.SeverityHigh)
	prev := finding(policy.KindProduct, policy.SeverityLow)
	tests := []struct {
		typ              string
		activity, status int
		alert            bool
	}{
		{"new", ActivityCreate, StatusNew, true},
		{"changed", ActivityUpdate, StatusNew, true},
		{"resolved", ActivityClose, StatusResolved, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			e := Event{Type: tt.typ, At: at, Finding: &f}
			if tt.typ == "changed" {
				e.Previous = &prev
			}
			df, ok := FromEvent(e, report())
			if !ok {
				t.Fatal("not mapped")
			}
			if df.ActivityID != tt.activity || df.TypeUID != ClassUID*100+tt.activity || df.StatusID != tt.status || df.IsAlert != tt.alert {
				t.Errorf("activity %d type_uid %d status %d alert %v", df.ActivityID, df.TypeUID, df.StatusID, df.IsAlert)
			}
			if df.Time != at.UnixMilli() || df.Unmapped.Banwatch.Event != tt.typ {
				t.Errorf("time %d event %q", df.Time, df.Unmapped.Banwatch.Event)
			}
			if tt.typ == "changed" && (df.Unmapped.Banwatch.Previous == nil || df.Unmapped.Banwatch.Previous.Severity != policy.SeverityLow) {
				t.Errorf("previous %+v", df.Unmapped.Banwatch.Previous)
			}
			validate(t, df)
		})
	}
	if _, ok := FromEvent(Event{Type: "heartbeat", At: at}, nil); ok {
		t.Error("heartbeat mapped")
	}
	if _, ok := FromEvent(Event{Type: "bogus", At: at, Finding: &f}, nil); ok {
		t.Error("unknown event type mapped")
	}
	// Without a report there is no device, and the rest still validates.
	df, ok := FromEvent(Event{Type: "new", At: at, Finding: &f}, nil)
	if !ok || df.Device != nil {
		t.Fatalf("no report: %v %+v", ok, df.Device)
	}
	validate(t, df)
}

// TestFixtureReport maps a real scan of a fixture root and validates the
// JSON that --format ocsf writes.
func TestFixtureReport(t *testing.T) {
	root := filepath.Join("..", "..", "scan", "testdata", "roots", "debian12-kesl")
	asOf := time.Date(2026, 11, 25, 0, 0, 0, 0, time.Local)
	r, err := scan.Run(t.Context(), scan.Options{Root: root, Policy: policy.Builtin(), AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 {
		t.Fatal("fixture has no findings")
	}
	out := FromReport(r)
	if len(out) != len(r.Findings) {
		t.Fatalf("%d OCSF findings for %d findings", len(out), len(r.Findings))
	}
	for _, df := range out {
		validate(t, df)
	}
}

// validate checks the JSON form of a Detection Finding against the
// requirements of the OCSF 1.4 schema for class 2004 and the objects it
// uses: required attributes present and of the right type, enumerations
// in range, type_uid consistent with class_uid and activity_id.
func validate(t *testing.T, df DetectionFinding) {
	t.Helper()
	raw, err := json.Marshal(df)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	num := func(obj map[string]any, key string) int {
		v, ok := obj[key].(float64)
		if !ok {
			t.Errorf("%s: required number missing in %s", key, raw)
			return -1
		}
		return int(v)
	}
	str := func(obj map[string]any, key string) string {
		v, ok := obj[key].(string)
		if !ok || v == "" {
			t.Errorf("%s: required string missing in %s", key, raw)
		}
		return v
	}
	obj := func(parent map[string]any, key string, required bool) map[string]any {
		v, ok := parent[key].(map[string]any)
		if !ok && required {
			t.Errorf("%s: required object missing", key)
		}
		return v
	}
	if num(m, "class_uid") != 2004 || num(m, "category_uid") != 2 {
		t.Errorf("class %v category %v", m["class_uid"], m["category_uid"])
	}
	act := num(m, "activity_id")
	if act < 1 || act > 3 {
		t.Errorf("activity_id %d", act)
	}
	if tu := num(m, "type_uid"); tu != 2004*100+act {
		t.Errorf("type_uid %d, want %d", tu, 2004*100+act)
	}
	if s := num(m, "severity_id"); s < 0 || s > 6 {
		t.Errorf("severity_id %d", s)
	}
	if s := num(m, "status_id"); s != 1 && s != 4 {
		t.Errorf("status_id %d", s)
	}
	num(m, "time")
	md := obj(m, "metadata", true)
	if md != nil {
		str(md, "version")
		if p := obj(md, "product", true); p != nil {
			str(p, "name")
			str(p, "vendor_name")
		}
	}
	if fi := obj(m, "finding_info", true); fi != nil {
		str(fi, "uid")
		str(fi, "title")
		if a := obj(fi, "analytic", false); a != nil {
			num(a, "type_id")
		}
	}
	if d := obj(m, "device", false); d != nil {
		num(d, "type_id")
		if os := obj(d, "os", false); os != nil {
			str(os, "name")
			num(os, "type_id")
		}
	}
	if r := obj(m, "remediation", false); r != nil {
		str(r, "desc")
	}
	evs, _ := m["evidences"].([]any)
	for _, e := range evs {
		e := e.(map[string]any)
		found := false
		for _, k := range []string{"actor", "api", "connection_info", "data", "database", "databucket", "device", "dst_endpoint", "email", "file", "process", "query", "resources", "src_endpoint", "url", "user", "job", "script"} {
			if _, ok := e[k]; ok {
				found = true
			}
		}
		if !found {
			t.Errorf("evidence without any of the at_least_one attributes: %v", e)
		}
		if f := obj(e, "file", false); f != nil {
			str(f, "name")
			num(f, "type_id")
		}
	}
	res, _ := m["resources"].([]any)
	for _, r := range res {
		if _, ok := r.(map[string]any)["name"].(string); !ok {
			t.Errorf("resource without name: %v", r)
		}
	}
	if u := obj(m, "unmapped", false); u != nil {
		obj(u, "banwatch", true)
	}
}
