package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/detectors"
	"github.com/banwatch/banwatch/policy"
)

// asOf is a fixed day after the US cut-off, so results do not depend on
// the day the tests run.
var asOf = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// want is one expected finding: kind, product id ("" for unidentified),
// severity and version.
type want struct {
	kind     policy.Kind
	product  string
	severity policy.Severity
	version  string
}

func (w want) String() string {
	return string(w.kind) + " " + w.product + " " + string(w.severity) + " " + w.version
}

func got(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, want{f.Kind, f.ProductID, f.Severity, f.Version}.String())
	}
	slices.Sort(out)
	return out
}

func wants(ws ...want) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.String())
	}
	slices.Sort(out)
	return out
}

func offline(t *testing.T, root string, mod ...func(*Options)) *Report {
	t.Helper()
	o := Options{Root: root, AsOf: asOf}
	for _, m := range mod {
		m(&o)
	}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("scan %s: %v", root, err)
	}
	return r
}

func TestOfflineRoots(t *testing.T) {
	installed := func(version string) []want {
		return []want{
			{policy.KindProduct, "kesl", policy.SeverityHigh, "12.1.0-1297"},
			{policy.KindUpdatesCutOff, "kesl", policy.SeverityCritical, "12.1.0-1297"},
			{policy.KindProduct, "klnagent", policy.SeverityHigh, version},
			{policy.KindUpdatesCutOff, "klnagent", policy.SeverityCritical, version},
		}
	}
	tests := []struct {
		root     string
		platform string
		hostname string
		want     []want
		// evidence that must back the KESL finding: "type name"
		keslEvidence []string
	}{
		{"debian12-kesl", "debian 12", "deb-kesl-01", installed("15.0.0-12"),
			[]string{"package kesl", "package kesl-gui", "service kesl.service", "folder opt/kaspersky/kesl", "folder var/opt/kaspersky/kesl", "folder var/log/kaspersky", "folder etc/opt/kaspersky"}},
		{"rhel94-kesl", "rhel 9.4", "rhel-kesl-01", installed("15.0.0-12"),
			[]string{"package kesl", "package kesl-gui", "service kesl.service", "folder opt/kaspersky/kesl"}},
		{"centos7-kesl", "centos 7", "c7-kesl", installed("15.0.0-12"),
			[]string{"package kesl", "service kesl-supervisor", "folder opt/kaspersky/kesl"}},
		{"sles15-kesl", "sles 15.5", "sles-kesl", installed("15.0.0-12"),
			[]string{"package kesl", "folder opt/kaspersky/kesl"}},
		{"ubuntu2204-kesl-removed", "ubuntu 22.04", "ubu-kesl-gone",
			[]want{{policy.KindRemnant, "kesl", policy.SeverityLow, "12.1.0-1297"}},
			[]string{"package kesl", "service kesl.service", "folder var/opt/kaspersky/kesl", "folder etc/opt/kaspersky"}},
		{"debian12-lookalikes", "debian 12", "deb-clean", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			r := offline(t, filepath.Join("testdata", "roots", tt.root))
			if g, w := got(r), wants(tt.want...); !slices.Equal(g, w) {
				t.Errorf("findings:\n got  %q\n want %q", g, w)
			}
			if r.Host.OS != "linux" || r.Host.Platform != tt.platform || r.Host.Hostname != tt.hostname {
				t.Errorf("host = %+v, want linux %q %q", r.Host, tt.platform, tt.hostname)
			}
			if r.Scan.Mode != "offline" || len(r.Errors) != 0 {
				t.Errorf("mode %q, errors %v", r.Scan.Mode, r.Errors)
			}
			for _, e := range tt.keslEvidence {
				if !hasEvidence(r, "kesl", e) {
					t.Errorf("KESL findings lack evidence %q", e)
				}
			}
		})
	}
}

func hasEvidence(r *Report, product, ev string) bool {
	for _, f := range r.Findings {
		if f.ProductID != product {
			continue
		}
		for _, e := range f.Evidence {
			if e.Type+" "+e.Name == ev {
				return true
			}
		}
	}
	return false
}

func TestOfflineSkipsLiveDetectors(t *testing.T) {
	r := offline(t, filepath.Join("testdata", "roots", "debian12-kesl"))
	ran := []string{"certificates", "dpkg", "files", "hosts-file", "rpm", "signatures", "systemd", "sysvinit"}
	for _, d := range r.Scan.Detectors {
		var want string
		switch {
		case slices.Contains(ran, d.Name):
		case d.Name == "processes" || d.Name == "kernel-modules" || d.Name == "security-center" || d.Name == "update-traffic":
			want = "live only: the root is an offline image"
		default:
			want = "does not apply to linux"
		}
		if d.Skipped != want {
			t.Errorf("detector %s: skipped %q, want %q", d.Name, d.Skipped, want)
		}
	}
}

func TestCutOffBoundary(t *testing.T) {
	root := filepath.Join("testdata", "roots", "debian12-kesl")
	for _, tt := range []struct {
		day          string
		jurisdiction string
		cutOff       bool
	}{
		{"2024-09-28", "", false},
		{"2024-09-29", "", true},
		{"2024-09-30", "", true},
		{"2026-11-25", "US", true},
		{"2026-11-25", "de", false},
		{"2026-11-25", "FR", false},
	} {
		t.Run(tt.day+tt.jurisdiction, func(t *testing.T) {
			day, _ := time.Parse(time.DateOnly, tt.day)
			r := offline(t, root, func(o *Options) { o.AsOf, o.Jurisdiction = day, tt.jurisdiction })
			n := 0
			for _, f := range r.Findings {
				if f.Kind == policy.KindUpdatesCutOff {
					n++
					if f.CutOff != "2024-09-29" || f.Jurisdiction != "US" {
						t.Errorf("cut-off finding %+v", f)
					}
				}
			}
			if (n > 0) != tt.cutOff {
				t.Errorf("as of %s in %q: %d cut-off findings, want any=%v", tt.day, tt.jurisdiction, n, tt.cutOff)
			}
			if r.Scan.AsOf != tt.day {
				t.Errorf("as_of = %q", r.Scan.AsOf)
			}
		})
	}
}

// copyTree copies a fixture root, links included, so a test can damage it.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(out, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// A damaged package database is a scan error; the other detectors still
// report, and the packages read before the damage still count.
func TestBrokenSourceIsAnErrorNotAFailure(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "roots", "debian12-kesl"))
	status := filepath.Join(root, "var", "lib", "dpkg", "status")
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the stanzas up to kesl's, then garbage in place of the rest.
	cut := bytes.Index(b, []byte("Package: kesl-gui"))
	if cut < 0 {
		t.Fatal("fixture has no kesl-gui stanza")
	}
	damaged := append(b[:cut:cut], []byte("\x00\x01garbage without a colon\nStat")...)
	if err := os.WriteFile(status, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	r := offline(t, root)
	var dpkgErr string
	for _, e := range r.Errors {
		if e.Detector == "dpkg" {
			dpkgErr = e.Message
		}
	}
	if !strings.Contains(dpkgErr, "var/lib/dpkg/status: line ") {
		t.Fatalf("dpkg error = %q, want one naming the file and line; errors %v", dpkgErr, r.Errors)
	}
	if !hasEvidence(r, "kesl", "package kesl") || !hasEvidence(r, "kesl", "service kesl.service") {
		t.Errorf("kesl package (before the damage) or its unit missing: %v", got(r))
	}
	if hasEvidence(r, "kesl", "package kesl-gui") {
		t.Errorf("kesl-gui was after the damage and should be gone")
	}
	for _, d := range r.Scan.Detectors {
		if d.Name == "systemd" && (d.Error != "" || d.Items == 0) {
			t.Errorf("systemd detector did not run cleanly: %+v", d)
		}
	}
}

func TestDetectorSelection(t *testing.T) {
	root := filepath.Join("testdata", "roots", "debian12-kesl")
	r := offline(t, root, func(o *Options) { o.Detectors = []string{"files"} })
	if len(r.Scan.Detectors) != 1 || r.Scan.Detectors[0].Name != "files" {
		t.Fatalf("detectors = %+v", r.Scan.Detectors)
	}
	// Folders alone are leftovers: the packages that prove an install were not read.
	if g, w := got(r), wants(
		want{policy.KindRemnant, "kesl", policy.SeverityLow, ""},
		want{policy.KindRemnant, "klnagent", policy.SeverityLow, ""},
	); !slices.Equal(g, w) {
		t.Errorf("findings %q, want %q", g, w)
	}
}

func TestConfigErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		o    Options
		msg  string
	}{
		{"missing root", Options{Root: filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"root is a file", Options{Root: file}, "not a directory"},
		{"unknown detector", Options{Root: t.TempDir(), Detectors: []string{"dpkg", "bogus"}}, `unknown detector "bogus"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.o)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want a ConfigError containing %q", err, tt.msg)
			}
		})
	}
}

func TestFindingIDsStableAcrossScans(t *testing.T) {
	root := filepath.Join("testdata", "roots", "rhel94-kesl")
	a, b := offline(t, root), offline(t, root)
	ids := map[string]bool{}
	for i := range a.Findings {
		if a.Findings[i].ID != b.Findings[i].ID {
			t.Errorf("finding %d id changed: %s vs %s", i, a.Findings[i].ID, b.Findings[i].ID)
		}
		if ids[a.Findings[i].ID] {
			t.Errorf("duplicate id %s", a.Findings[i].ID)
		}
		ids[a.Findings[i].ID] = true
	}
	other := offline(t, filepath.Join("testdata", "roots", "debian12-kesl"))
	for _, f := range other.Findings {
		if ids[f.ID] {
			t.Errorf("id %s reused on another host", f.ID)
		}
	}
}

// The JSON report follows banwatch.scan/v1 as DESIGN.md and the README
// show it.
func TestJSONReportSchema(t *testing.T) {
	r := offline(t, filepath.Join("testdata", "roots", "debian12-kesl"))
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"schema"}, {"host", "hostname"}, {"host", "os"}, {"host", "platform"},
		{"scan", "root"}, {"scan", "mode"}, {"scan", "as_of"}, {"scan", "jurisdiction"},
		{"scan", "started_at"}, {"scan", "duration_ms"}, {"scan", "detectors"},
		{"policy", "name"}, {"policy", "version"}, {"policy", "sha256"}, {"findings"}, {"errors"},
	} {
		var v any = doc
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v == nil {
			t.Errorf("report lacks %s", strings.Join(path, "."))
		}
	}
	if doc["schema"] != "banwatch.scan/v1" {
		t.Errorf("schema = %v", doc["schema"])
	}
	f := doc["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "rule", "kind", "severity", "vendor", "product", "version", "summary", "evidence", "remediation"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q: %v", k, f)
		}
	}
	ev := f["evidence"].([]any)[0].(map[string]any)
	for _, k := range []string{"detector", "type", "name", "path", "detail"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("evidence lacks %q: %v", k, ev)
		}
	}
}

func TestTextReport(t *testing.T) {
	r := offline(t, filepath.Join("testdata", "roots", "ubuntu2204-kesl-removed"))
	var buf bytes.Buffer
	if err := WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{
		"banwatch scan of ubu-kesl-gone (ubuntu 22.04, linux)",
		"SEVERITY", "remnant", "Kaspersky Endpoint Security for Linux",
		"Leftovers of Kaspersky Endpoint Security for Linux remain",
		fmt.Sprintf("1 finding (1 low); 8 detectors ran, %d skipped;", len(detectors.Names())-8),
	} {
		if !strings.Contains(out, s) {
			t.Errorf("text report lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "{") {
		t.Errorf("text report contains JSON:\n%s", out)
	}
}

// A live scan sees a running KESL daemon: a harmless copy of sleep at the
// path KESL's daemon has.
func TestLiveProcessScan(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary to copy:", err)
	}
	dir := filepath.Join(t.TempDir(), "opt", "kaspersky", "kesl", "libexec")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "kesl")
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	r, err := Run(context.Background(), Options{AsOf: asOf, Detectors: []string{"processes"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Scan.Mode != "live" {
		t.Fatalf("mode = %q", r.Scan.Mode)
	}
	var found bool
	for _, f := range r.Findings {
		if f.ProductID != "kesl" || f.Kind != policy.KindProduct {
			continue
		}
		for _, e := range f.Evidence {
			if e.Type == "process" && e.PID == int32(cmd.Process.Pid) && e.Path == exe {
				found = true
			}
		}
		if !strings.Contains(f.Summary, "running") {
			t.Errorf("summary %q does not say running", f.Summary)
		}
	}
	if !found {
		t.Fatalf("running KESL (pid %d, %s) not found: %q", cmd.Process.Pid, exe, got(r))
	}
}
