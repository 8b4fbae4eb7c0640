package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

// The file sink is opened from the config, named "file", writes OCSF
// lines and is closed by stop.
func TestNetworkSinksFile(t *testing.T) {
	dir := t.TempDir()
	cfg, err := agent.ParseConfig([]byte("state_dir: st\nfile:\n  path: out/findings.jsonl\n  format: ocsf\n"),
		filepath.Join(dir, "banwatch.yaml"), "linux")
	if err != nil {
		t.Fatal(err)
	}
	sinks, _, stop, err := networkSinks(context.Background(), cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if len(sinks) != 1 || sinks[0].Name() != "file" {
		t.Fatalf("sinks %v", sinks)
	}
	f := policy.Finding{ID: "f1", Rule: "r1", Kind: policy.KindProduct, Severity: policy.SeverityHigh, Product: "KESL", Summary: "installed"}
	d := &agent.Delivery{Key: "k1", Report: &scan.Report{Schema: scan.SchemaV1, Host: scan.Host{Hostname: "h"}},
		Events: []agent.Event{{Type: agent.EventNew, At: time.Now(), Finding: &f}}}
	if err := sinks[0].Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	stop()
	data, err := os.ReadFile(filepath.Join(dir, "out", "findings.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var m map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &m) != nil || m["class_uid"] != float64(2004) || m["activity_id"] != float64(1) {
		t.Errorf("file: %s", data)
	}
}
