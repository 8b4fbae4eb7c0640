package policy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/banwatch/banwatch/detectors"
)

const (
	kesl     = "Kaspersky Endpoint Security for Linux"
	netAgent = "Kaspersky Security Center Network Agent"
	unknownK = "Kaspersky software (product not identified)"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Inventory as the detectors report it.

func dpkg(name, version, status string, state detectors.State) detectors.Item {
	return detectors.Item{Detector: "dpkg", Kind: detectors.KindPackage, Name: name, Version: version,
		Publisher: "Kaspersky Lab", Path: "var/lib/dpkg/status", State: state, Detail: "Status: " + status}
}

func installedPkg(name, version string) detectors.Item {
	return dpkg(name, version, "install ok installed", detectors.StateInstalled)
}

func systemdUnit(name, exec string, missing bool, state detectors.State) detectors.Item {
	return detectors.Item{Detector: "systemd", Kind: detectors.KindService, Name: name,
		Path: "lib/systemd/system/" + name, Exec: exec, ExecMissing: missing, State: state}
}

func sysvScript(name string, state detectors.State) detectors.Item {
	return detectors.Item{Detector: "sysvinit", Kind: detectors.KindService, Name: name, Path: "etc/init.d/" + name, State: state}
}

func running(name, exec string, pid int32) detectors.Item {
	return detectors.Item{Detector: "processes", Kind: detectors.KindProcess, Name: name, Exec: exec,
		Path: fmt.Sprintf("/proc/%d", pid), State: detectors.StateRunning, Process: &detectors.Process{PID: pid, User: "root"}}
}

func dir(name string) detectors.Item {
	return detectors.Item{Detector: "files", Kind: detectors.KindFolder, Name: name, Path: name, State: detectors.StatePresent}
}

// keslInstalled is a full KESL install, deliberately out of order.
func keslInstalled() []detectors.Item {
	return []detectors.Item{
		dir("var/opt/kaspersky/kesl"),
		installedPkg("kesl-gui", "12.1.0-1297"),
		running("kesl", "/opt/kaspersky/kesl/libexec/kesl", 812),
		dir("opt/kaspersky/kesl"),
		systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", false, detectors.StateEnabled),
		installedPkg("kesl", "12.1.0-1297"),
	}
}

var keslEvidence = []string{
	"package kesl", "package kesl-gui", "service kesl.service", "process kesl",
	"folder opt/kaspersky/kesl", "folder var/opt/kaspersky/kesl",
}

func networkAgentInstalled() []detectors.Item {
	return []detectors.Item{
		installedPkg("klnagent64", "14.2.0-35148"),
		running("klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent", 901),
		dir("opt/kaspersky/klnagent64"),
	}
}

var netAgentEvidence = []string{"package klnagent64", "process klnagent", "folder opt/kaspersky/klnagent64"}

func join(lists ...[]detectors.Item) []detectors.Item { return slices.Concat(lists...) }

// findingBrief is what a test checks of a finding.
type findingBrief struct {
	kind         Kind
	severity     Severity
	product      string
	productID    string
	version      string
	jurisdiction string
	cutOff       string
	evidence     []string // "type name"
}

func summaryOf(f Finding) findingBrief {
	b := findingBrief{f.Kind, f.Severity, f.Product, f.ProductID, f.Version, f.Jurisdiction, f.CutOff, nil}
	for _, e := range f.Evidence {
		b.evidence = append(b.evidence, e.Type+" "+e.Name)
	}
	return b
}

func (b findingBrief) String() string {
	return fmt.Sprintf("%s %s %q id=%q v=%q %s %s %q", b.kind, b.severity, b.product, b.productID, b.version, b.jurisdiction, b.cutOff, b.evidence)
}

func product(name, id, version string, evidence ...string) findingBrief {
	return findingBrief{kind: KindProduct, severity: SeverityHigh, product: name, productID: id, version: version, evidence: evidence}
}

func cutOffUS(name, id, version string, evidence ...string) findingBrief {
	return findingBrief{kind: KindUpdatesCutOff, severity: SeverityCritical, product: name, productID: id, version: version,
		jurisdiction: "US", cutOff: "2024-09-29", evidence: evidence}
}

func remnant(name, id, version string, evidence ...string) findingBrief {
	return findingBrief{kind: KindRemnant, severity: SeverityLow, product: name, productID: id, version: version, evidence: evidence}
}

func checkFindings(t *testing.T, got []Finding, want []findingBrief) {
	t.Helper()
	var gotB []string
	for _, f := range got {
		gotB = append(gotB, summaryOf(f).String())
	}
	var wantB []string
	for _, b := range want {
		wantB = append(wantB, b.String())
	}
	if !slices.Equal(gotB, wantB) {
		t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(gotB, "\n  "), strings.Join(wantB, "\n  "))
	}
}

func TestEvaluateBuiltin(t *testing.T) {
	after := day("2025-03-01")
	tests := []struct {
		name  string
		items []detectors.Item
		opts  Options
		want  []findingBrief
		// summaries, by finding index, that must be exact
		summaries map[int]string
		// parts of the first finding's summary, for updates-cut-off
		// findings whose wording is still being settled
		cutOffSummary []string
	}{
		{
			name:  "KESL installed, after the cut-off",
			items: keslInstalled(),
			opts:  Options{AsOf: after},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
			},
			cutOffSummary: []string{kesl + " can no longer receive signature or software updates", "2024-09-29", "United States"},
			summaries: map[int]string{
				1: kesl + " 12.1.0-1297 is installed and running: package kesl, package kesl-gui, service kesl.service (enabled), process kesl (pid 812), and 2 more.",
			},
		},
		{
			name:  "the day before the cut-off",
			items: keslInstalled(),
			opts:  Options{AsOf: day("2024-09-28")},
			want:  []findingBrief{product(kesl, "kesl", "12.1.0-1297", keslEvidence...)},
		},
		{
			name:  "the last minute before the cut-off",
			items: keslInstalled(),
			opts:  Options{AsOf: time.Date(2024, 9, 28, 23, 59, 59, 0, time.UTC)},
			want:  []findingBrief{product(kesl, "kesl", "12.1.0-1297", keslEvidence...)},
		},
		{
			name:  "the day of the cut-off",
			items: keslInstalled(),
			opts:  Options{AsOf: day("2024-09-29")},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
			},
		},
		{
			name:  "the day after the cut-off",
			items: keslInstalled(),
			opts:  Options{AsOf: day("2024-09-30")},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
			},
		},
		{
			name:  "the as-of day is the day where it is given",
			items: keslInstalled(),
			// 2024-09-28 21:30 UTC, but 2024-09-29 in Moscow.
			opts: Options{AsOf: time.Date(2024, 9, 29, 0, 30, 0, 0, time.FixedZone("MSK", 3*3600))},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
			},
		},
		{
			name:  "jurisdiction US given explicitly",
			items: keslInstalled(),
			opts:  Options{AsOf: after, Jurisdiction: "US"},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
			},
		},
		{
			name:  "Germany has no cut-off",
			items: keslInstalled(),
			opts:  Options{AsOf: after, Jurisdiction: "DE"},
			want:  []findingBrief{product(kesl, "kesl", "12.1.0-1297", keslEvidence...)},
		},
		{
			name:  "a jurisdiction the policy does not list",
			items: keslInstalled(),
			opts:  Options{AsOf: after, Jurisdiction: "FR"},
			want:  []findingBrief{product(kesl, "kesl", "12.1.0-1297", keslEvidence...)},
		},
		{
			name:  "partly installed package",
			items: []detectors.Item{dpkg("kesl", "12.1.0-1297", "install ok unpacked", detectors.StatePartial)},
			opts:  Options{AsOf: after},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", "package kesl"),
				product(kesl, "kesl", "12.1.0-1297", "package kesl"),
			},
			summaries: map[int]string{
				1: kesl + " 12.1.0-1297 is partly installed (the package manager did not finish): package kesl (install ok unpacked).",
			},
		},
		{
			name: "remnant: an enabled unit and its program without a package",
			items: []detectors.Item{
				systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", false, detectors.StateEnabled),
				dir("opt/kaspersky/kesl"),
			},
			opts: Options{AsOf: after},
			want: []findingBrief{remnant(kesl, "kesl", "", "service kesl.service", "folder opt/kaspersky/kesl")},
			summaries: map[int]string{
				0: "Leftovers of " + kesl + " remain, but the product is not installed: service kesl.service (enabled), folder opt/kaspersky/kesl.",
			},
		},
		{
			name:  "only a running process",
			items: []detectors.Item{running("kesl", "/opt/kaspersky/kesl/libexec/kesl", 812)},
			opts:  Options{AsOf: day("2024-01-01")},
			want:  []findingBrief{product(kesl, "kesl", "", "process kesl")},
			summaries: map[int]string{
				0: kesl + " is running: process kesl (pid 812).",
			},
		},
		{
			name:  "remnant: a package in config-files",
			items: []detectors.Item{dpkg("kesl", "12.1.0-1297", "deinstall ok config-files", detectors.StateLeftover)},
			opts:  Options{AsOf: after},
			want:  []findingBrief{remnant(kesl, "kesl", "12.1.0-1297", "package kesl")},
			summaries: map[int]string{
				0: "Leftovers of " + kesl + " remain, but the product is not installed: package kesl (deinstall ok config-files).",
			},
		},
		{
			name:  "remnant: folders only",
			items: []detectors.Item{dir("var/opt/kaspersky/kesl"), dir("opt/kaspersky/kesl")},
			opts:  Options{AsOf: after},
			want:  []findingBrief{remnant(kesl, "kesl", "", "folder opt/kaspersky/kesl", "folder var/opt/kaspersky/kesl")},
		},
		{
			name:  "remnant: a dangling unit",
			items: []detectors.Item{systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", true, detectors.StateLeftover)},
			opts:  Options{AsOf: after},
			want:  []findingBrief{remnant(kesl, "kesl", "", "service kesl.service")},
		},
		{
			name: "remnant: an enabled unit whose program is gone, and a folder",
			items: []detectors.Item{
				dir("var/opt/kaspersky/kesl"),
				systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", true, detectors.StateEnabled),
			},
			opts: Options{AsOf: after},
			want: []findingBrief{remnant(kesl, "kesl", "", "service kesl.service", "folder var/opt/kaspersky/kesl")},
		},
		{
			name: "remnant: an enabled SysV script and a config-files package",
			items: []detectors.Item{
				sysvScript("kesl-supervisor", detectors.StateEnabled),
				dpkg("kesl", "11.4.0-5018", "deinstall ok config-files", detectors.StateLeftover),
			},
			opts: Options{AsOf: after},
			want: []findingBrief{remnant(kesl, "kesl", "11.4.0-5018", "package kesl", "service kesl-supervisor")},
		},
		{
			// Units without a package are leftovers, even with their
			// program still on disk: only a package, a process or a module
			// makes a product.
			name: "remnant: disabled and masked units with their programs",
			items: []detectors.Item{
				systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", false, detectors.StateDisabled),
				systemdUnit("kesl-supervisor.service", "/opt/kaspersky/kesl/libexec/kesl", false, detectors.StateMasked),
			},
			opts: Options{AsOf: after},
			want: []findingBrief{remnant(kesl, "kesl", "", "service kesl-supervisor.service", "service kesl.service")},
		},
		{
			name: "remnant: disabled unit without its program, masked unit",
			items: []detectors.Item{
				systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", true, detectors.StateDisabled),
				systemdUnit("kesl-supervisor.service", "/opt/kaspersky/kesl/libexec/kesl", false, detectors.StateMasked),
			},
			opts: Options{AsOf: after},
			want: []findingBrief{remnant(kesl, "kesl", "", "service kesl-supervisor.service", "service kesl.service")},
		},
		{
			name:  "vendor-wide folder alone",
			items: []detectors.Item{dir("var/log/kaspersky")},
			opts:  Options{AsOf: after},
			want:  []findingBrief{remnant(unknownK, "", "", "folder var/log/kaspersky")},
			summaries: map[int]string{
				0: "Leftovers of " + unknownK + " remain, but the product is not installed: folder var/log/kaspersky.",
			},
		},
		{
			name:  "vendor-wide folder joins the installed product",
			items: join([]detectors.Item{dir("var/log/kaspersky")}, keslInstalled()),
			opts:  Options{AsOf: after},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", "package kesl", "package kesl-gui", "service kesl.service", "process kesl",
					"folder opt/kaspersky/kesl", "folder var/log/kaspersky", "folder var/opt/kaspersky/kesl"),
				product(kesl, "kesl", "12.1.0-1297", "package kesl", "package kesl-gui", "service kesl.service", "process kesl",
					"folder opt/kaspersky/kesl", "folder var/log/kaspersky", "folder var/opt/kaspersky/kesl"),
			},
		},
		{
			name: "vendor-wide folders join the installed product, not the leftover one",
			items: join(
				[]detectors.Item{dir("opt/kaspersky/kesl"), dir("etc/opt/kaspersky"), dir("opt/kaspersky/unknownthing")},
				networkAgentInstalled(),
			),
			opts: Options{AsOf: day("2024-01-01")},
			want: []findingBrief{
				product(netAgent, "klnagent", "14.2.0-35148", "package klnagent64", "process klnagent",
					"folder etc/opt/kaspersky", "folder opt/kaspersky/klnagent64", "folder opt/kaspersky/unknownthing"),
				remnant(kesl, "kesl", "", "folder opt/kaspersky/kesl"),
			},
		},
		{
			name:  "vendor-wide folder joins the only, leftover, product",
			items: []detectors.Item{dir("var/log/kaspersky"), dir("opt/kaspersky/kesl")},
			opts:  Options{AsOf: after},
			want:  []findingBrief{remnant(kesl, "kesl", "", "folder opt/kaspersky/kesl", "folder var/log/kaspersky")},
		},
		{
			name:  "an unidentified product running",
			items: []detectors.Item{running("thing", "/opt/kaspersky/newthing/bin/thing", 77), dir("opt/kaspersky/newthing")},
			opts:  Options{AsOf: after},
			want: []findingBrief{
				cutOffUS(unknownK, "", "", "process thing", "folder opt/kaspersky/newthing"),
				product(unknownK, "", "", "process thing", "folder opt/kaspersky/newthing"),
			},
		},
		{
			name: "a package known only by its publisher",
			items: []detectors.Item{{Detector: "dpkg", Kind: detectors.KindPackage, Name: "kaspersky24", Version: "24.0.1",
				Publisher: "AO Kaspersky Lab", State: detectors.StateInstalled, Detail: "Status: install ok installed"}},
			opts: Options{AsOf: after},
			want: []findingBrief{
				cutOffUS("Kaspersky software (package kaspersky24)", "", "24.0.1", "package kaspersky24"),
				product("Kaspersky software (package kaspersky24)", "", "24.0.1", "package kaspersky24"),
			},
		},
		{
			name: "a publisher's package beside KESL is a product of its own",
			items: join(keslInstalled(), []detectors.Item{{Detector: "rpm", Kind: detectors.KindPackage, Name: "kaspersky24",
				Version: "24.0.1", Publisher: "Kaspersky Lab ZAO", State: detectors.StateLeftover}}),
			opts: Options{AsOf: day("2024-01-01")},
			want: []findingBrief{
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				remnant("Kaspersky software (package kaspersky24)", "", "24.0.1", "package kaspersky24"),
			},
		},
		{
			name:  "two products, by severity then product",
			items: join(networkAgentInstalled(), keslInstalled()),
			opts:  Options{AsOf: after},
			want: []findingBrief{
				cutOffUS(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				cutOffUS(netAgent, "klnagent", "14.2.0-35148", netAgentEvidence...),
				product(kesl, "kesl", "12.1.0-1297", keslEvidence...),
				product(netAgent, "klnagent", "14.2.0-35148", netAgentEvidence...),
			},
		},
		{
			name: "evidence: install evidence first, main package first",
			items: []detectors.Item{
				dpkg("kesl", "12.1.0-1297", "deinstall ok config-files", detectors.StateLeftover),
				installedPkg("kesl-gui", "12.1.0-1297"),
				dir("opt/kaspersky/kesl"),
				systemdUnit("kesl-supervisor.service", "/opt/kaspersky/kesl/libexec/kesl", false, detectors.StateEnabled),
				systemdUnit("kesl.service", "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", true, detectors.StateEnabled),
			},
			opts: Options{AsOf: day("2024-01-01")},
			want: []findingBrief{product(kesl, "kesl", "12.1.0-1297",
				"package kesl-gui", "service kesl-supervisor.service", "package kesl", "service kesl.service", "folder opt/kaspersky/kesl")},
		},
		{
			name:  "nothing",
			items: nil,
			opts:  Options{AsOf: after},
			want:  nil,
		},
	}
	c := Builtin()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.items)
			got := c.Evaluate(tt.items, tt.opts)
			checkFindings(t, got, tt.want)
			if !reflect.DeepEqual(tt.items, before) {
				t.Error("Evaluate changed its input")
			}
			for i, want := range tt.summaries {
				if i < len(got) && got[i].Summary != want {
					t.Errorf("finding %d summary =\n  %q\nwant\n  %q", i, got[i].Summary, want)
				}
			}
			for _, part := range tt.cutOffSummary {
				if !strings.Contains(got[0].Summary, part) {
					t.Errorf("summary %q does not say %q", got[0].Summary, part)
				}
			}
			for _, f := range got {
				if f.Rule != "kaspersky."+string(f.Kind) || f.Vendor != "Kaspersky" || len(f.ID) != 32 {
					t.Errorf("rule, vendor, id = %q, %q, %q", f.Rule, f.Vendor, f.ID)
				}
				if f.Remediation == "" || strings.Contains(f.Remediation, "{product}") || !strings.Contains(f.Remediation, f.Product) {
					t.Errorf("%s remediation = %q, want it to name %q", f.Kind, f.Remediation, f.Product)
				}
			}
		})
	}
}

// TestEvaluateEvidence checks one finding's evidence in full.
func TestEvaluateEvidence(t *testing.T) {
	got := Builtin().Evaluate(keslInstalled(), Options{AsOf: day("2024-01-01"), HostID: "h"})
	if len(got) != 1 {
		t.Fatalf("%d findings, want 1", len(got))
	}
	want := []Evidence{
		{Detector: "dpkg", Type: "package", Name: "kesl", Version: "12.1.0-1297", Path: "var/lib/dpkg/status", State: "installed", Detail: "Status: install ok installed"},
		{Detector: "dpkg", Type: "package", Name: "kesl-gui", Version: "12.1.0-1297", Path: "var/lib/dpkg/status", State: "installed", Detail: "Status: install ok installed"},
		{Detector: "systemd", Type: "service", Name: "kesl.service", Path: "lib/systemd/system/kesl.service", State: "enabled"},
		{Detector: "processes", Type: "process", Name: "kesl", Path: "/proc/812", State: "running", PID: 812},
		{Detector: "files", Type: "folder", Name: "opt/kaspersky/kesl", Path: "opt/kaspersky/kesl", State: "present"},
		{Detector: "files", Type: "folder", Name: "var/opt/kaspersky/kesl", Path: "var/opt/kaspersky/kesl", State: "present"},
	}
	if !reflect.DeepEqual(got[0].Evidence, want) {
		t.Errorf("evidence =\n%+v\nwant\n%+v", got[0].Evidence, want)
	}
}

func TestFindingIDs(t *testing.T) {
	c := Builtin()
	items := join(keslInstalled(), networkAgentInstalled(), []detectors.Item{
		dir("opt/kaspersky/kics"),
		{Kind: detectors.KindPackage, Name: "kaspersky24", Publisher: "AO Kaspersky Lab", State: detectors.StateInstalled},
	})
	opts := Options{AsOf: day("2025-01-01"), HostID: "host-a"}
	byKey := func(fs []Finding) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			k := string(f.Kind) + " " + f.Product
			if _, dup := m[k]; dup {
				t.Fatalf("two findings %s", k)
			}
			m[k] = f.ID
		}
		return m
	}
	first := byKey(c.Evaluate(items, opts))
	if len(first) != 7 {
		t.Fatalf("%d findings, want 7: %v", len(first), first)
	}
	ids := map[string]bool{}
	for _, id := range first {
		ids[id] = true
	}
	if len(ids) != len(first) {
		t.Errorf("findings share ids: %v", first)
	}
	// Same host, same inventory in other orders: same ids.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(items)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := byKey(c.Evaluate(shuffled, opts)); !maps.Equal(first, again) {
			t.Errorf("ids changed with item order:\n%v\n%v", first, again)
		}
	}
	// Another host: every id differs.
	other := byKey(c.Evaluate(items, Options{AsOf: opts.AsOf, HostID: "host-b"}))
	for k, id := range other {
		if first[k] == id {
			t.Errorf("%s has id %s on both hosts", k, id)
		}
	}
	// The id names the product, not the evidence: another version, a
	// jurisdiction and a date keep it.
	upgraded := join([]detectors.Item{installedPkg("kesl", "12.2.0-2412")})
	got := byKey(c.Evaluate(upgraded, Options{AsOf: day("2026-01-01"), HostID: "host-a"}))
	if got["product "+kesl] != first["product "+kesl] || got["updates-cut-off "+kesl] != first["updates-cut-off "+kesl] {
		t.Errorf("ids changed with the version: %v vs %v", got, first)
	}
	// The remnant of a product has an id of its own.
	left := byKey(c.Evaluate([]detectors.Item{dir("opt/kaspersky/kesl")}, opts))
	if id := left["remnant "+kesl]; id == "" || ids[id] {
		t.Errorf("remnant id %q is empty or another finding's", id)
	}
	// Ids are part of reports: a change here changes every report.
	if id := first["product "+kesl]; id != "db527079e84c83d281e39f92aac3002b" {
		t.Errorf("product id = %s; it must stay stable across versions", id)
	}
}

// customPolicy has two vendors, overrides and no jurisdictions of the
// second vendor.
var customPolicy = doc(
	"schema: banwatch.policy/v1",
	"name: custom",
	`version: "2"`,
	"default_jurisdiction: GB",
	"vendors:",
	"  - id: acme",
	"    name: Acme",
	"    publishers: [Acme Inc]",
	"    severity:",
	"      product: medium",
	"      updates-cut-off: high",
	"    remediation:",
	"      product: Remove {product} now; {product} is banned.",
	"      remnant: Clean up {product}.",
	"    jurisdictions:",
	"      - code: GB",
	"        name: United Kingdom",
	"        updates_cut_off: 2025-01-01",
	"      - code: US",
	"        name: United States",
	"    products:",
	"      - id: widget",
	"        name: Acme Widget",
	"        match:",
	"          packages: [widget, \"widget-plugin-*\"]",
	"          services: [widgetd]",
	"          processes:",
	"            - image: widgetd",
	"              path: /opt/acme/**",
	"            - image: widget-helper",
	"          kernel_modules: [widget-core]",
	"  - id: globex",
	"    name: Globex",
	"    severity: {remnant: critical}",
	"    products:",
	"      - id: gizmo",
	"        name: Globex Gizmo",
	"        match:",
	"          packages: [gizmo]",
	"          folders: [opt/globex/gizmo]",
)

func TestEvaluateCustom(t *testing.T) {
	c, err := Load(customPolicy, "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		items []detectors.Item
		opts  Options
		want  []findingBrief
		// remediation of the first finding
		remediation string
	}{
		{
			name:  "overridden severities, default jurisdiction GB",
			items: []detectors.Item{installedPkg("widget", "3.1")},
			opts:  Options{AsOf: day("2025-01-01")},
			want: []findingBrief{
				{kind: KindUpdatesCutOff, severity: SeverityHigh, product: "Acme Widget", productID: "widget", version: "3.1",
					jurisdiction: "GB", cutOff: "2025-01-01", evidence: []string{"package widget"}},
				{kind: KindProduct, severity: SeverityMedium, product: "Acme Widget", productID: "widget", version: "3.1",
					evidence: []string{"package widget"}},
			},
			remediation: "",
		},
		{
			name:        "{product} is substituted",
			items:       []detectors.Item{installedPkg("widget-plugin-pdf", "3.1")},
			opts:        Options{AsOf: day("2024-12-31")},
			want:        []findingBrief{{kind: KindProduct, severity: SeverityMedium, product: "Acme Widget", productID: "widget", version: "3.1", evidence: []string{"package widget-plugin-pdf"}}},
			remediation: "Remove Acme Widget now; Acme Widget is banned.",
		},
		{
			name:  "a jurisdiction without a cut-off",
			items: []detectors.Item{installedPkg("widget", "3.1")},
			opts:  Options{AsOf: day("2030-01-01"), Jurisdiction: "US"},
			want: []findingBrief{{kind: KindProduct, severity: SeverityMedium, product: "Acme Widget", productID: "widget", version: "3.1",
				evidence: []string{"package widget"}}},
			remediation: "Remove Acme Widget now; Acme Widget is banned.",
		},
		{
			name: "process by image, with and without a path",
			items: []detectors.Item{
				running("widgetd", "/opt/acme/widget/bin/widgetd", 10),
				running("widgetd", "/usr/bin/widgetd", 11), // outside the path: not the product
				running("helper", "/usr/lib/acme/widget-helper", 12),
			},
			opts: Options{AsOf: day("2024-01-01")},
			want: []findingBrief{{kind: KindProduct, severity: SeverityMedium, product: "Acme Widget", productID: "widget",
				evidence: []string{"process helper", "process widgetd"}}},
			remediation: "Remove Acme Widget now; Acme Widget is banned.",
		},
		{
			name: "overridden remnant severity, remediation only where set, a loaded module",
			items: []detectors.Item{
				dir("opt/globex/gizmo"),
				dpkg("widget", "3.1", "deinstall ok config-files", detectors.StateLeftover),
				module("widget_core"), // loaded: the product is there
			},
			opts: Options{AsOf: day("2024-01-01")},
			want: []findingBrief{
				{kind: KindRemnant, severity: SeverityCritical, product: "Globex Gizmo", productID: "gizmo", evidence: []string{"folder opt/globex/gizmo"}},
				{kind: KindProduct, severity: SeverityMedium, product: "Acme Widget", productID: "widget", version: "3.1",
					evidence: []string{"kernel-module widget_core", "package widget"}},
			},
			remediation: "",
		},
		{
			name:        "publisher of the custom vendor",
			items:       []detectors.Item{{Kind: detectors.KindPackage, Name: "acme-tools", Publisher: "ACME, Inc.", State: detectors.StateLeftover}},
			opts:        Options{AsOf: day("2024-01-01")},
			want:        []findingBrief{{kind: KindRemnant, severity: SeverityLow, product: "Acme software (package acme-tools)", evidence: []string{"package acme-tools"}}},
			remediation: "Clean up Acme software (package acme-tools).",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Evaluate(tt.items, tt.opts)
			checkFindings(t, got, tt.want)
			if len(got) > 0 && got[0].Remediation != tt.remediation {
				t.Errorf("remediation = %q, want %q", got[0].Remediation, tt.remediation)
			}
			for _, f := range got {
				if !strings.HasPrefix(f.Rule, map[string]string{"Acme": "acme.", "Globex": "globex."}[f.Vendor]) {
					t.Errorf("rule %q of vendor %q", f.Rule, f.Vendor)
				}
			}
		})
	}
}

func TestEffective(t *testing.T) {
	c, err := Load(customPolicy, "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	orig := c.Policy()
	before := fmt.Sprintf("%+v", *orig)
	eff := c.Effective()
	want := []map[string]Severity{
		{"product": SeverityMedium, "remnant": SeverityLow, "updates-cut-off": SeverityHigh, "tool": SeverityLow,
			"stale-signatures": SeverityHigh, "updates-after-cut-off": SeverityHigh, "update-traffic": SeverityHigh},
		{"product": SeverityHigh, "remnant": SeverityCritical, "updates-cut-off": SeverityCritical, "tool": SeverityLow,
			"stale-signatures": SeverityHigh, "updates-after-cut-off": SeverityHigh, "update-traffic": SeverityHigh},
	}
	for i, v := range eff.Vendors {
		if !maps.Equal(v.Severity, want[i]) {
			t.Errorf("vendor %s effective severity = %v, want %v", v.ID, v.Severity, want[i])
		}
	}
	if eff.Name != "custom" || eff.DefaultJurisdiction != "GB" || len(eff.Vendors) != 2 || eff.Vendors[0].Remediation["product"] == "" {
		t.Errorf("effective policy = %+v", eff)
	}
	// The policy as loaded is untouched, now and after the copy changes.
	eff.Vendors[0].Severity["product"] = SeverityLow
	eff.Vendors[1].ID = "changed"
	eff.Name = "changed"
	if after := fmt.Sprintf("%+v", *orig); after != before {
		t.Errorf("Effective changed the policy:\n%s\n%s", before, after)
	}
	if len(orig.Vendors[1].Severity) != 1 || orig.Vendors[0].Severity["product"] != SeverityMedium {
		t.Errorf("loaded severities = %v, %v", orig.Vendors[0].Severity, orig.Vendors[1].Severity)
	}
	if got := c.Evaluate([]detectors.Item{installedPkg("widget", "1")}, Options{AsOf: day("2024-01-01")}); len(got) != 1 || got[0].Severity != SeverityMedium {
		t.Errorf("after changing the effective copy, findings = %+v", got)
	}
	// The built-in policy sets every severity; the effective one agrees.
	for k, s := range Builtin().Effective().Vendors[0].Severity {
		if kinds[Kind(k)] != s {
			t.Errorf("built-in severity %s = %s, want the default %s", k, s, kinds[Kind(k)])
		}
	}
}

// TestEvaluateConcurrent: a compiled policy is shared by concurrent
// evaluations (run with -race).
func TestEvaluateConcurrent(t *testing.T) {
	c := Builtin()
	items := join(keslInstalled(), networkAgentInstalled(), []detectors.Item{dir("var/log/kaspersky")})
	want := findingIDs(c.Evaluate(items, Options{AsOf: day("2025-01-01"), HostID: "h"}))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got := findingIDs(c.Evaluate(items, Options{AsOf: day("2025-01-01"), HostID: "h"})); !slices.Equal(got, want) {
					errs <- fmt.Sprint(got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent evaluation gave %s, want %v", e, want)
	}
}

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   string
		want Severity
		rank int
		ok   bool
	}{
		{"low", SeverityLow, 1, true},
		{"medium", SeverityMedium, 2, true},
		{"high", SeverityHigh, 3, true},
		{"critical", SeverityCritical, 4, true},
		{"High", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSeverity(tt.in)
		if got != tt.want || (err == nil) != tt.ok || Severity(tt.in).Rank() != tt.rank {
			t.Errorf("ParseSeverity(%q) = %q, %v; rank %d", tt.in, got, err, Severity(tt.in).Rank())
		}
	}
}
