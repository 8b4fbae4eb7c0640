package scan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/banwatch/banwatch/policy"
)

// windowsImages are offline Windows system drives, built with real hive
// files by detectors/testdata/windows/make-images.py.
const windowsImages = "../detectors/testdata/windows/images"

func TestOfflineWindowsImages(t *testing.T) {
	installed := func(product, version string) []want {
		return []want{
			{policy.KindProduct, product, policy.SeverityHigh, version},
			{policy.KindUpdatesCutOff, product, policy.SeverityCritical, version},
		}
	}
	tests := []struct {
		image, hostname, platform string
		want                      []want
		// evidence a product's findings must carry: product -> "type name"
		evidence map[string][]string
	}{
		{"win11-kes", "WS-KES-01", "Windows 11 Enterprise 23H2 (build 22631)",
			append(append(installed("kes-windows", "12.6.0.438"), installed("klnagent", "14.2.0.26967")...),
				// Its signatures are of 2024-09-27 (the Network Agent's
				// AVState): 789 days old on the as-of day.
				want{policy.KindStaleSignatures, "kes-windows", policy.SeverityHigh, "12.6.0.438"}),
			map[string][]string{
				"kes-windows": {
					"program Kaspersky Endpoint Security for Windows", "service AVP.KES.12.6.0", "service avpsus",
					"driver klif", "driver klhk", "driver kneps", "driver cm_km", "driver klupd_KES-12-6_arkmon",
					`registry-key HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES.12.6.0\environment`,
					`registry-key HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\KES.12.6.0\settings`,
					"folder Program Files (x86)/Kaspersky Lab/KES.12.6.0", "folder ProgramData/Kaspersky Lab/KES.12.6.0/Bases",
				},
				"klnagent": {
					"program Kaspersky Security Center Network Agent", "service klnagent",
					`registry-key HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState`,
				},
			}},
		// Updates still arrive after the cut-off, from the Network
		// Agent's administration server.
		{"win10-kes-managed", "BR-PC-07", "Windows 10 Pro 22H2 (build 19045)",
			append(append(installed("kes-windows", "12.6.0.438"), installed("klnagent", "14.2.0.26967")...),
				want{policy.KindUpdatesAfterCutOff, "kes-windows", policy.SeverityHigh, "12.6.0.438"}),
			map[string][]string{"kes-windows": {"program Kaspersky Endpoint Security for Windows", "signatures avstate"}}},
		{"win10-kts-ru", "ДОМАШНИЙ-ПК", "Windows 10 Home 22H2 (build 19045)",
			append(installed("kts", "21.3.10.391"), installed("kpm", "9.2.106")...),
			map[string][]string{
				"kts": {"program Kaspersky Total Security", "service AVP21.3", "driver klif", "driver klbackupflt"},
				// A per-user install of a user who is not logged on.
				"kpm": {"program Kaspersky Password Manager",
					"folder Users/ivan/AppData/Local/Kaspersky Lab/Kaspersky Password Manager 9.2"},
			}},
		{"win7-x86-kav", "OLD-PC", "Windows 7 Professional (build 7601)",
			installed("kav", "18.0.0.405"),
			map[string][]string{"kav": {"program Kaspersky Anti-Virus", "service AVP18.0.0", "driver klif",
				`registry-key HKLM\SOFTWARE\KasperskyLab\protected\AVP18.0.0\environment`}}},
		{"winsrv-nagent", "FS-01", "Windows Server 2019 Standard (build 17763)",
			installed("klnagent", "13.2.0.1511"),
			map[string][]string{"klnagent": {"program Kaspersky Security Center Network Agent", "service klnagent"}}},
		{"win11-ultraav", "HOME-PC", "Windows 11 Home 23H2 (build 22631)",
			[]want{{policy.KindRemnant, "kaspersky-home", policy.SeverityLow, "21.16.6.467"}},
			map[string][]string{"kaspersky-home": {"program Kaspersky Standard", "driver klif",
				`registry-key HKLM\SOFTWARE\WOW6432Node\KasperskyLab`, "folder ProgramData/Kaspersky Lab/AVP21.16",
				"certificate Kaspersky Anti-Virus Personal Root Certificate"}}},
		{"win11-clean", "CLEAN-PC", "Windows 11 Pro 24H2 (build 26100)", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			r := offline(t, filepath.Join(windowsImages, tt.image))
			checkImage(t, r, imageWant{"windows", tt.hostname, tt.platform, tt.want, tt.evidence})
		})
	}
}

// TestWindowsFindingIDsFollowMachineGuid: finding ids derive from the
// MachineGuid, so they stay the same from scan to scan of one machine,
// offline or live, and differ between machines.
func TestWindowsFindingIDsFollowMachineGuid(t *testing.T) {
	a := offline(t, filepath.Join(windowsImages, "win11-kes"))
	b := offline(t, filepath.Join(windowsImages, "win11-kes"))
	c := offline(t, filepath.Join(windowsImages, "winsrv-nagent"))
	idOf := func(r *Report, product string) string {
		for _, f := range r.Findings {
			if f.ProductID == product && f.Kind == policy.KindProduct {
				return f.ID
			}
		}
		t.Fatalf("no %s finding", product)
		return ""
	}
	if idOf(a, "klnagent") != idOf(b, "klnagent") {
		t.Error("finding id changed between two scans of one image")
	}
	if idOf(a, "klnagent") == idOf(c, "klnagent") {
		t.Error("two machines share a finding id")
	}
}

// TestWindowsDirtyHive: a hive whose header says Windows was still
// writing it, with a transaction log beside it that cannot be applied, is
// read as it is, and the report says it may be behind. (Logs that can be
// applied are tested in detectors/winreg.)
func TestWindowsDirtyHive(t *testing.T) {
	src := filepath.Join(windowsImages, "winsrv-nagent")
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	hive := filepath.Join(dst, "Windows", "System32", "config", "SOFTWARE")
	b, err := os.ReadFile(hive)
	if err != nil {
		t.Fatal(err)
	}
	b[4]++ // primary sequence number ahead of the secondary one
	if err := os.WriteFile(hive, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hive+".LOG1", []byte("HvLE…"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := offline(t, dst)
	if g, w := got(r), wants(
		want{policy.KindProduct, "klnagent", policy.SeverityHigh, "13.2.0.1511"},
		want{policy.KindUpdatesCutOff, "klnagent", policy.SeverityCritical, "13.2.0.1511"},
	); !slices.Equal(g, w) {
		t.Errorf("findings:\n got  %q\n want %q", g, w)
	}
	if len(r.Errors) != 1 || r.Errors[0].Detector != "registry" ||
		!strings.Contains(r.Errors[0].Message, "Windows/System32/config/SOFTWARE was not written back cleanly") {
		t.Errorf("errors = %+v, want the dirty SOFTWARE hive", r.Errors)
	}
}

// TestWindowsSignatureDate: the KES install's findings carry the bases
// date the Network Agent recorded, its age and the server it updates
// from; the Network Agent's own findings say it has none of its own.
func TestWindowsSignatureDate(t *testing.T) {
	r := offline(t, filepath.Join(windowsImages, "win11-kes"))
	for _, f := range r.Findings {
		switch f.ProductID {
		case "kes-windows":
			s := f.Signatures
			if s == nil || s.LastUpdate != "2024-09-27" || s.AgeDays == nil || *s.AgeDays != 789 ||
				s.Confidence != "high" || !strings.Contains(s.UpdateSource, "ksc.corp.example.com") {
				t.Errorf("%s signatures = %+v", f.Kind, s)
			}
			if f.Kind == policy.KindUpdatesCutOff && !strings.Contains(f.Summary, "its last signatures are of 2024-09-27, 789 days old") {
				t.Errorf("cut-off summary %q", f.Summary)
			}
		case "klnagent":
			if f.Signatures == nil || f.Signatures.LastUpdate != "" || !strings.Contains(f.Signatures.Unknown, "no anti-virus signatures of its own") {
				t.Errorf("Network Agent %s finding has signatures %+v", f.Kind, f.Signatures)
			}
		}
	}
}

// TestWindowsUpdatesAfterCutOff: the finding says where the updates come
// from, and the signatures block names the server.
func TestWindowsUpdatesAfterCutOff(t *testing.T) {
	r := offline(t, filepath.Join(windowsImages, "win10-kes-managed"))
	for _, f := range r.Findings {
		if f.Kind != policy.KindUpdatesAfterCutOff {
			continue
		}
		if !strings.Contains(f.Summary, "Kaspersky Security Center server ksc.branch.example.com") ||
			f.Signatures == nil || f.Signatures.LastUpdate != "2026-11-20" || f.CutOff != "2024-09-29" {
			t.Errorf("finding %+v", f)
		}
		return
	}
	t.Fatal("no updates-after-cut-off finding")
}

// TestWindowsRegistryOnlyImage: an image that holds the hives but not the
// program folders (a partial copy, a registry export) still shows the
// installs: a folder missing from a drive that was not copied proves
// nothing.
func TestWindowsRegistryOnlyImage(t *testing.T) {
	full := offline(t, filepath.Join(windowsImages, "win11-kes"))
	root := copyTree(t, filepath.Join(windowsImages, "win11-kes"))
	for _, d := range []string{"Program Files", "Program Files (x86)", "ProgramData"} {
		if err := os.RemoveAll(filepath.Join(root, d)); err != nil {
			t.Fatal(err)
		}
	}
	if g, w := got(offline(t, root)), got(full); !slices.Equal(g, w) {
		t.Errorf("registry-only findings:\n got  %q\n want %q", g, w)
	}
}

// imageWant is what the scan of an offline image must report.
type imageWant struct {
	os, hostname, platform string
	findings               []want
	// evidence a product's findings must carry: product -> "type name"
	evidence map[string][]string
}

// checkImage checks a report of an offline image: its findings exactly,
// its host, no errors, and the evidence named.
func checkImage(t *testing.T, r *Report, w imageWant) {
	t.Helper()
	if g, want := got(r), wants(w.findings...); !slices.Equal(g, want) {
		t.Errorf("findings:\n got  %q\n want %q", g, want)
	}
	if r.Host.OS != w.os || r.Host.Hostname != w.hostname || r.Host.Platform != w.platform {
		t.Errorf("host = %+v, want %s %q %q", r.Host, w.os, w.hostname, w.platform)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors: %v", r.Errors)
	}
	for product, evs := range w.evidence {
		for _, e := range evs {
			if !hasEvidence(r, product, e) {
				t.Errorf("%s findings lack evidence %q", product, e)
			}
		}
	}
}
