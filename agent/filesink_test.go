package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banwatch/banwatch/agent/ocsf"
	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

func sinkFinding(id string, sev policy.Severity, version string) policy.Finding {
	return policy.Finding{ID: id, Rule: "r-" + id, Kind: policy.KindProduct, Severity: sev, Vendor: "Kaspersky",
		Product: "KESL", Version: version, Summary: "KESL " + version + " is installed"}
}

func fileSinkDeliveries() []*Delivery {
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	a, b := sinkFinding("a", policy.SeverityHigh, "1"), sinkFinding("a", policy.SeverityCritical, "2")
	c := sinkFinding("c", policy.SeverityLow, "3")
	rep := &scan.Report{Schema: scan.SchemaV1, Host: scan.Host{Hostname: "h1", OS: "linux"},
		Scan: scan.Info{Mode: "live", StartedAt: at}, Findings: []policy.Finding{b}}
	return []*Delivery{
		{Key: "host/1", Report: rep, Events: []Event{
			{Type: EventNew, At: at, Finding: &a},
			{Type: EventChanged, At: at, Finding: &b, Previous: &a},
			{Type: EventResolved, At: at, Finding: &c},
			{Type: EventHeartbeat, At: at},
		}},
		{Key: "host/2", Report: rep, Events: []Event{{Type: EventHeartbeat, At: at}}},
	}
}

func readLines(t *testing.T, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		got = append(got, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func sendAll(t *testing.T, file, format string) {
	t.Helper()
	s, closer, err := OpenFileSink(file, format, LogConfig{MaxSizeMB: 1, MaxBackups: 1, MaxAgeDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	if s.Name() != "file" {
		t.Errorf("name %q", s.Name())
	}
	for _, d := range fileSinkDeliveries() {
		if err := s.Send(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFileSinkBanwatch(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "events.jsonl")
	sendAll(t, file, "") // the default format
	got := readLines(t, file)
	want := []struct{ typ, delivery, id string }{
		{"new", "host/1", "a"}, {"changed", "host/1", "a"}, {"resolved", "host/1", "c"}, {"heartbeat", "host/1", ""}, {"heartbeat", "host/2", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		m := got[i]
		id := ""
		if f, ok := m["finding"].(map[string]any); ok {
			id, _ = f["id"].(string)
		}
		host, _ := m["host"].(map[string]any)
		sc, _ := m["scan"].(map[string]any)
		if m["schema"] != FileEventSchema || m["type"] != w.typ || m["delivery"] != w.delivery || id != w.id ||
			host["hostname"] != "h1" || sc["mode"] != "live" || m["at"] != "2026-11-25T08:00:00Z" {
			t.Errorf("line %d: %v", i, m)
		}
	}
	if p, _ := got[1]["previous"].(map[string]any); p["version"] != "1" {
		t.Errorf("changed without previous: %v", got[1])
	}
	if got[3]["findings"] != float64(1) || got[0]["findings"] != nil {
		t.Errorf("findings count: %v / %v", got[3]["findings"], got[0]["findings"])
	}
}

func TestFileSinkOCSF(t *testing.T) {
	file := filepath.Join(t.TempDir(), "events.ocsf.jsonl")
	sendAll(t, file, FormatOCSF)
	got := readLines(t, file)
	want := []struct {
		activity float64
		uid      string
		event    string
	}{
		{ocsf.ActivityCreate, "a", "new"}, {ocsf.ActivityUpdate, "a", "changed"}, {ocsf.ActivityClose, "c", "resolved"},
		// host/1's heartbeat comes with findings: nothing of its own;
		// host/2 is only a heartbeat: the open finding, restated
		{ocsf.ActivityCreate, "a", "heartbeat"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		m := got[i]
		info, _ := m["finding_info"].(map[string]any)
		bw, _ := m["unmapped"].(map[string]any)["banwatch"].(map[string]any)
		if m["class_uid"] != float64(ocsf.ClassUID) || m["activity_id"] != w.activity || info["uid"] != w.uid || bw["event"] != w.event {
			t.Errorf("line %d: class %v activity %v uid %v event %v, want %+v", i, m["class_uid"], m["activity_id"], info["uid"], bw["event"], w)
		}
	}
}

func TestFileSinkChecks(t *testing.T) {
	if _, err := NewFileSink(failWriter{}, "xml"); err == nil {
		t.Error("format xml accepted")
	}
	if _, _, err := OpenFileSink("", FormatOCSF, LogConfig{}); err == nil {
		t.Error("empty path accepted")
	}
	s, err := NewFileSink(failWriter{}, FormatBanwatch)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), fileSinkDeliveries()[0]); err == nil {
		t.Error("a write error is not a failed delivery")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, fileSinkDeliveries()[0]); err == nil {
		t.Error("a cancelled send succeeded")
	}
	// nothing to write (OCSF, a heartbeat without report): no write at all
	o, _ := NewFileSink(failWriter{}, FormatOCSF)
	if err := o.Send(context.Background(), &Delivery{Key: "k", Events: []Event{{Type: EventHeartbeat}}}); err != nil {
		t.Error(err)
	}
}
