package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

func TestLogSinkWritesJSONLines(t *testing.T) {
	file := filepath.Join(t.TempDir(), "log", "banwatch.log")
	lj := OpenLogFile(LogConfig{File: file, MaxSizeMB: 1, MaxBackups: 1, MaxAgeDays: 1})
	defer lj.Close()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	a, b := finding("a", policy.SeverityHigh, "1"), finding("a", policy.SeverityCritical, "2")
	d := &Delivery{Key: "host/1", Report: &scan.Report{Host: scan.Host{Hostname: "h1"}, Findings: []policy.Finding{b}}, Events: []Event{
		{Type: EventNew, At: at, Finding: &a},
		{Type: EventChanged, At: at, Finding: &b, Previous: &a},
		{Type: EventResolved, At: at, Finding: &b},
		{Type: EventHeartbeat, At: at},
	}}
	sink := NewLogSink(lj)
	if err := sink.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		got = append(got, m)
	}
	want := []struct{ level, msg, event string }{
		{"warn", "new finding", "new"}, {"warn", "finding changed", "changed"}, {"info", "finding resolved", "resolved"}, {"info", "heartbeat", "heartbeat"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i]["level"] != w.level || got[i]["msg"] != w.msg || got[i]["event"] != w.event || got[i]["delivery"] != "host/1" {
			t.Errorf("line %d: %v", i, got[i])
		}
	}
	if got[1]["previous_version"] != "1" || got[1]["version"] != "2" || got[0]["finding_id"] != "a" {
		t.Errorf("finding fields: %v", got[1])
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogSinkReportsWriteErrors(t *testing.T) {
	err := NewLogSink(failWriter{}).Send(context.Background(), &Delivery{Events: []Event{{Type: EventHeartbeat}}})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("want the write error, got %v", err)
	}
}
