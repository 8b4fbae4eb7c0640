package fleet

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/banwatch/banwatch/agent"
	"github.com/banwatch/banwatch/agent/ocsf"
	"github.com/banwatch/banwatch/policy"
	"github.com/banwatch/banwatch/scan"
)

// ocsfPost is one request an OCSF collector received.
type ocsfPost struct {
	key, auth, encoding string
	findings            []map[string]any
}

func TestOCSFFormat(t *testing.T) {
	var mu sync.Mutex
	var posts []ocsfPost
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var arr []map[string]any // an array, or the test fails to decode
		if err := json.Unmarshal(raw, &arr); err != nil || arr == nil {
			t.Errorf("body is not a JSON array: %v: %.200s", err, raw)
			http.Error(w, "not an array", http.StatusBadRequest)
			return
		}
		mu.Lock()
		posts = append(posts, ocsfPost{key: r.Header.Get("Idempotency-Key"), auth: r.Header.Get("Authorization"),
			encoding: r.Header.Get("Content-Encoding"), findings: arr})
		mu.Unlock()
	}))
	defer srv.Close()

	f1 := policy.Finding{ID: "f1", Rule: "r1", Kind: policy.KindProduct, Severity: policy.SeverityHigh, Product: "Kaspersky Endpoint Security", Version: "11", Summary: "installed"}
	f2 := f1
	f2.Severity, f2.Version = policy.SeverityCritical, "12"
	f3 := policy.Finding{ID: "f3", Rule: "r3", Kind: policy.KindRemnant, Severity: policy.SeverityLow, Product: "Kaspersky Agent", Summary: "leftovers"}
	rep := &scan.Report{Schema: scan.SchemaV1, Host: scan.Host{Hostname: "pc-1", OS: "linux"},
		Scan: scan.Info{StartedAt: t0, Mode: "live"}, Findings: []policy.Finding{f2}}
	events := &agent.Delivery{Key: "events", Report: rep, Events: []agent.Event{
		{Type: agent.EventNew, At: t0, Finding: &f1},
		{Type: agent.EventChanged, At: t0, Finding: &f2, Previous: &f1},
		{Type: agent.EventResolved, At: t0, Finding: &f3},
		{Type: agent.EventHeartbeat, At: t0}, // with findings: no finding of its own
	}}
	heartbeat := &agent.Delivery{Key: "heartbeat", Report: rep, Events: []agent.Event{{Type: agent.EventHeartbeat, At: t0}}}
	clean := &agent.Delivery{Key: "clean", Report: &scan.Report{Schema: scan.SchemaV1, Host: rep.Host},
		Events: []agent.Event{{Type: agent.EventHeartbeat, At: t0}}}

	clk := &fakeClock{now: t0}
	s, err := New(Config{URL: srv.URL, Token: "tok", Format: agent.FormatOCSF}, openSpool(t, 0), fakeOptions(clk, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*agent.Delivery{events, heartbeat, clean} {
		send(t, s, d)
	}
	run(t, s)
	waitFor(t, "all delivered", func() bool { return s.Status().Depth == 0 })

	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 3 {
		t.Fatalf("%d posts, want 3", len(posts))
	}
	for i, key := range []string{"events", "heartbeat", "clean"} {
		p := posts[i]
		if p.key != key || p.auth != "Bearer tok" || p.encoding != "gzip" {
			t.Errorf("post %d: key %q auth %q encoding %q", i, p.key, p.auth, p.encoding)
		}
		for j, df := range p.findings {
			if df["class_uid"] != float64(ocsf.ClassUID) || df["category_uid"] != float64(ocsf.CategoryUID) {
				t.Errorf("post %s finding %d: class %v category %v", key, j, df["class_uid"], df["category_uid"])
			}
		}
	}
	type want struct {
		activity float64
		uid      string
		event    string
	}
	check := func(p ocsfPost, ws []want) {
		t.Helper()
		if len(p.findings) != len(ws) {
			t.Fatalf("post %s: %d findings, want %d", p.key, len(p.findings), len(ws))
		}
		for i, w := range ws {
			df := p.findings[i]
			info, _ := df["finding_info"].(map[string]any)
			bw, _ := df["unmapped"].(map[string]any)["banwatch"].(map[string]any)
			if df["activity_id"] != w.activity || info["uid"] != w.uid || bw["event"] != w.event {
				t.Errorf("post %s finding %d: activity %v uid %v event %v, want %+v", p.key, i, df["activity_id"], info["uid"], bw["event"], w)
			}
			if dev, _ := df["device"].(map[string]any); dev["hostname"] != "pc-1" {
				t.Errorf("post %s finding %d: device %v", p.key, i, df["device"])
			}
		}
	}
	check(posts[0], []want{{ocsf.ActivityCreate, "f1", "new"}, {ocsf.ActivityUpdate, "f1", "changed"}, {ocsf.ActivityClose, "f3", "resolved"}})
	check(posts[1], []want{{ocsf.ActivityCreate, "f1", "heartbeat"}})
	check(posts[2], nil)
	if posts[0].findings[2]["status_id"] != float64(ocsf.StatusResolved) {
		t.Errorf("resolved: status %v", posts[0].findings[2]["status_id"])
	}
}

func TestFormatChecked(t *testing.T) {
	if _, err := New(Config{URL: "https://f.example/", Format: "xml"}, openSpool(t, 0), Options{}); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := New(Config{URL: "https://f.example/", Format: agent.FormatBanwatch}, openSpool(t, 0), Options{}); err != nil {
		t.Error(err)
	}
}
