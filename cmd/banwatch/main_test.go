package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banwatch/banwatch/policy"
)

func root(name string) string { return filepath.Join("..", "..", "scan", "testdata", "roots", name) }

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const asOf = "--as-of=2026-11-25"

func TestScanExitCodes(t *testing.T) {
	badPolicy := writeFile(t, "bad.yaml", "schema: banwatch.policy/v1\nname: x\nversion: 1\ndefault_jurisdiction: usa\nvendors: []\nbogus: 1\n")
	unreadable := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring; stderr must be empty when ""
	}{
		{"clean machine", []string{"scan", "--root", root("debian12-lookalikes"), asOf}, exitOK, "No banned software found", ""},
		{"kaspersky installed", []string{"scan", "--root", root("debian12-kesl"), asOf}, exitFindings, "updates-cut-off", ""},
		{"remnant below fail-on", []string{"scan", "--root", root("ubuntu2204-kesl-removed"), "--fail-on", "medium", asOf}, exitOK, "remnant", ""},
		{"remnant at fail-on", []string{"scan", "--root", root("ubuntu2204-kesl-removed"), "--fail-on", "low", asOf}, exitFindings, "remnant", ""},
		{"critical fail-on", []string{"scan", "--root", root("rhel94-kesl"), "--fail-on=critical", asOf}, exitFindings, "critical", ""},
		{"before the cut-off only high", []string{"scan", "--root", root("rhel94-kesl"), "--fail-on=critical", "--as-of=2024-09-28"}, exitOK, "product", ""},
		{"missing root", []string{"scan", "--root", filepath.Join(t.TempDir(), "nope")}, exitUsage, "", "no such file or directory"},
		{"invalid policy", []string{"scan", "--root", root("debian12-kesl"), "--policy", badPolicy}, exitUsage, "", "invalid policy: " + badPolicy + ":"},
		{"unreadable policy", []string{"scan", "--policy", unreadable}, exitUsage, "", "missing.yaml"},
		{"unknown flag", []string{"scan", "--bogus"}, exitUsage, "", "flag provided but not defined: -bogus"},
		{"bad format", []string{"scan", "--format", "xml"}, exitUsage, "", `--format "xml"`},
		{"bad as-of", []string{"scan", "--as-of", "29/09/2024"}, exitUsage, "", "--as-of"},
		{"bad fail-on", []string{"scan", "--fail-on", "severe"}, exitUsage, "", "--fail-on"},
		{"bad jurisdiction", []string{"scan", "--jurisdiction", "USA"}, exitUsage, "", "--jurisdiction"},
		{"unknown detector", []string{"scan", "--root", root("debian12-kesl"), "--detectors", "dpkg,nope"}, exitUsage, "", `unknown detector "nope"`},
		{"stray argument", []string{"scan", root("debian12-kesl")}, exitUsage, "", "unexpected argument"},
		{"unknown command", []string{"bogus"}, exitUsage, "", `unknown command "bogus"`},
		{"no command", nil, exitUsage, "", "Usage:"},
		{"help", []string{"help"}, exitOK, "Usage:", ""},
		{"scan help", []string{"scan", "-h"}, exitOK, "-fail-on", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if tt.stderr == "" && stderr != "" {
				t.Errorf("unexpected stderr: %s", stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, stderr)
			}
			if tt.code == exitUsage && tt.name != "no command" && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("usage errors are one line, got:\n%s", stderr)
			}
		})
	}
}

func TestScanJSON(t *testing.T) {
	code, stdout, stderr := runCLI("scan", "--root", root("debian12-kesl"), "--format", "json", asOf, "--jurisdiction", "us")
	if code != exitFindings || stderr != "" {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var r struct {
		Schema string
		Scan   struct {
			Mode, Jurisdiction string
			AsOf               string `json:"as_of"`
		}
		Findings []struct{ Kind, Severity, Product string }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if r.Schema != "banwatch.scan/v1" || r.Scan.Mode != "offline" || r.Scan.Jurisdiction != "US" || r.Scan.AsOf != "2026-11-25" {
		t.Errorf("report header %+v", r)
	}
	if len(r.Findings) != 4 || r.Findings[0].Severity != "critical" {
		t.Errorf("findings %+v", r.Findings)
	}
}

func TestScanOCSF(t *testing.T) {
	code, stdout, stderr := runCLI("scan", "--root", root("debian12-kesl"), "--format", "ocsf", asOf)
	if code != exitFindings || stderr != "" {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	var findings []struct {
		ClassUID    int                         `json:"class_uid"`
		TypeUID     int                         `json:"type_uid"`
		ActivityID  int                         `json:"activity_id"`
		SeverityID  int                         `json:"severity_id"`
		FindingInfo struct{ UID, Title string } `json:"finding_info"`
		Metadata    struct{ Product struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(stdout), &findings); err != nil {
		t.Fatalf("stdout is not a JSON array: %v\n%s", err, stdout)
	}
	if len(findings) != 4 {
		t.Fatalf("%d OCSF findings, want 4", len(findings))
	}
	for _, f := range findings {
		if f.ClassUID != 2004 || f.TypeUID != 200401 || f.ActivityID != 1 || f.FindingInfo.UID == "" || f.Metadata.Product.Name != "banwatch" {
			t.Errorf("finding %+v", f)
		}
	}
	if findings[0].SeverityID != 5 {
		t.Errorf("first finding severity_id %d, want 5 (critical)", findings[0].SeverityID)
	}
	code, stdout, _ = runCLI("scan", "--root", root("debian12-lookalikes"), "--format", "ocsf", asOf)
	if code != exitOK || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("clean machine: exit %d, stdout %q", code, stdout)
	}
}

func TestScanWarnsOnUnknownJurisdiction(t *testing.T) {
	code, _, stderr := runCLI("scan", "--root", root("debian12-kesl"), "--jurisdiction", "UK", asOf)
	if code != exitFindings || !strings.Contains(stderr, "no rules for jurisdiction UK") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestPolicyCommands(t *testing.T) {
	bad := writeFile(t, "bad.yaml", strings.Join([]string{
		"schema: banwatch.policy/v1",
		"name: test",
		"version: 1",
		"default_jurisdiction: US",
		"vendors:",
		"  - id: acme",
		"    name: Acme",
		"    jurisdictions:",
		"      - code: US",
		"        name: United States",
		"        updates_cut_off: 2024-13-01",
		"    products:",
		"      - id: Tool",
		"        name: Acme Tool",
		"        match:",
		"          packages: [acme-tool]",
		"          colour: blue",
	}, "\n")+"\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"check builtin", []string{"policy", "check"}, exitOK, []string{"builtin: valid: policy builtin version"}},
		{"check bad", []string{"policy", "check", bad}, exitFindings, []string{
			bad + ":11: vendors[0].jurisdictions[0].updates_cut_off: must be a date",
			bad + ":13: vendors[0].products[0].id:",
			bad + ":17: unknown key \"colour\"",
			"invalid, 3 problems"}},
		{"show builtin", []string{"policy", "show"}, exitOK, []string{"# effective policy from builtin", "updates_cut_off: \"2024-09-29\"", "updates-cut-off: critical"}},
		{"check missing", []string{"policy", "check", filepath.Join(t.TempDir(), "none.yaml")}, exitUsage, nil},
		{"bad subcommand", []string{"policy", "lint"}, exitUsage, nil},
		{"version", []string{"version"}, exitOK, []string{"banwatch ", "built-in policy 2026."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
		})
	}
}

// Every semantic problem is reported, each with its line.
func TestPolicyCheckReportsSemanticProblemsWithLines(t *testing.T) {
	bad := writeFile(t, "bad.yaml", strings.Join([]string{
		"schema: banwatch.policy/v1",
		"name: test",
		"version: 1",
		"default_jurisdiction: USA",
		"vendors:",
		"  - id: Acme",
		"    name: Acme",
		"    jurisdictions:",
		"      - code: US",
		"        name: United States",
		"        updates_cut_off: 2024-13-01",
		"    products:",
		"      - id: tool",
		"        name: Acme Tool",
		"        match:",
		"          packages: [acme-tool]",
	}, "\n")+"\n")
	code, stdout, _ := runCLI("policy", "check", bad)
	if code != exitFindings {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	for _, s := range []string{
		bad + ":4: default_jurisdiction:",
		bad + ":6: vendors[0].id:",
		bad + ":11: vendors[0].jurisdictions[0].updates_cut_off:",
		"invalid, 3 problems",
	} {
		if !strings.Contains(stdout, s) {
			t.Errorf("check output lacks %q:\n%s", s, stdout)
		}
	}
}

// "policy show" prints a policy that loads back to the same rules.
func TestPolicyShowRoundTrips(t *testing.T) {
	code, stdout, _ := runCLI("policy", "show")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	c, err := policy.Load([]byte(stdout), "shown.yaml")
	if err != nil {
		t.Fatalf("shown policy does not load: %v", err)
	}
	if got, want := c.Policy().Version, policy.Builtin().Policy().Version; got != want {
		t.Errorf("version %q, want %q", got, want)
	}
}

// The binary itself exits with the code run returns.
func TestBinaryExitCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "banwatch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"scan", "--root", root("debian12-lookalikes")}, 0},
		{[]string{"scan", "--root", root("debian12-kesl")}, 1},
		{[]string{"scan", "--bogus"}, 2},
	} {
		err := exec.Command(bin, tt.args...).Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code {
			t.Errorf("banwatch %v: exit %d, want %d", tt.args, code, tt.code)
		}
	}
}
