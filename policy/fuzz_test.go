package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banwatch/banwatch/detectors"
)

// fuzzItems is a small inventory: some of the built-in policy's
// artefacts, some look-alikes and some odd values.
var fuzzItems = []detectors.Item{
	{Kind: detectors.KindPackage, Name: "kesl", Version: "12.1.0-1297", State: detectors.StateInstalled},
	{Kind: detectors.KindPackage, Name: "klavaro", State: detectors.StateInstalled, Publisher: "Debian"},
	{Kind: detectors.KindPackage, Name: "kaspersky24", State: detectors.StateLeftover, Publisher: "AO Kaspersky Lab"},
	{Kind: detectors.KindService, Name: "kesl.service", State: detectors.StateEnabled, Exec: "/opt/kaspersky/kesl/libexec/kesl"},
	{Kind: detectors.KindProcess, Name: "kesl", Exec: `C:\opt\kaspersky\kesl\kesl.exe`, State: detectors.StateRunning, Process: &detectors.Process{PID: 7}},
	{Kind: detectors.KindProcess, Name: "", Exec: "/", State: detectors.StateRunning},
	{Kind: detectors.KindKernelModule, Name: "kav4fs-oas", State: detectors.StateLoaded},
	{Kind: detectors.KindFolder, Name: "opt/kaspersky/kesl", State: detectors.StatePresent},
	{Kind: detectors.KindFolder, Name: "", State: detectors.StatePresent},
	{Kind: detectors.KindFile, Name: "opt/kaspersky/krd.iso", State: detectors.StatePresent},
}

// matchingItems makes an item for each literal name and folder the
// policy lists (at most max), so that fuzzed policies match something.
func matchingItems(p *Policy, most int) []detectors.Item {
	var out []detectors.Item
	add := func(kind detectors.Kind, name, exec string, state detectors.State) {
		if len(out) < most {
			out = append(out, detectors.Item{Kind: kind, Name: name, Exec: exec, State: state, Version: "1"})
		}
	}
	addMatch := func(m Match) {
		for _, n := range m.Packages {
			add(detectors.KindPackage, n, "", detectors.StateInstalled)
		}
		for _, n := range m.Services {
			add(detectors.KindService, n, "/bin/"+n, detectors.StateEnabled)
		}
		for _, n := range m.KernelModules {
			add(detectors.KindKernelModule, n, "", detectors.StateLoaded)
		}
		for _, pm := range m.Processes {
			add(detectors.KindProcess, pm.Image, "/"+strings.ReplaceAll(pm.Path, "**", "x"), detectors.StateRunning)
		}
		for _, f := range m.Folders {
			add(detectors.KindFolder, f, "", detectors.StatePresent)
		}
	}
	for _, v := range p.Vendors {
		for _, pub := range v.Publishers {
			out = append(out, detectors.Item{Kind: detectors.KindPackage, Name: "pkg-of-" + pub, Publisher: pub, State: detectors.StateInstalled})
		}
		addMatch(v.Match)
		for _, pr := range v.Products {
			addMatch(pr.Match)
		}
	}
	return out
}

func FuzzLoad(f *testing.F) {
	f.Add(BuiltinSource())
	// More seeds are in testdata/fuzz/FuzzLoad.
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned a policy and an error: %v", err)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *policy.Error: %v", err, err)
			}
			if len(pe.Problems) == 0 {
				t.Fatal("*Error with no problems")
			}
			lines := 1
			for off := 0; off < len(data); lines++ {
				off = lineEnd(data, off)
			}
			for _, p := range pe.Problems {
				if p.File != "fuzz.yaml" || p.Line < 0 || p.Line > lines || p.Msg == "" {
					t.Fatalf("bad problem %#v (the file has %d lines)", p, lines)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("Load returned neither a policy nor an error")
		}
		c.Effective()
		c.FolderPatterns()
		c.Jurisdictions()
		items := append(slices.Clone(fuzzItems), matchingItems(c.Policy(), 64)...)
		for _, o := range []Options{
			{AsOf: asOf, HostID: "fuzz"},
			{AsOf: asOf, HostID: "fuzz", Jurisdiction: "DE"},
		} {
			findings := c.Evaluate(items, o)
			for _, fd := range findings {
				if _, ok := kinds[fd.Kind]; !ok || fd.Severity.Rank() == 0 || len(fd.ID) != 32 || len(fd.Evidence) == 0 {
					t.Fatalf("bad finding %+v", fd)
				}
			}
			// The order of the inventory does not change the findings.
			reversed := slices.Clone(items)
			slices.Reverse(reversed)
			again := c.Evaluate(reversed, o)
			if !slices.Equal(findingIDs(findings), findingIDs(again)) {
				t.Fatalf("findings depend on item order: %v vs %v", findingIDs(findings), findingIDs(again))
			}
		}
	})
}

// TestFuzzSeeds keeps the seed corpus meaningful: each seed is what its
// name says.
func TestFuzzSeeds(t *testing.T) {
	tests := []struct {
		file  string
		wants []want // nil: valid
	}{
		{file: "valid-small"},
		{file: "unknown-keys", wants: []want{
			{4, "", `unknown key "colour"`},
			{9, "", `unknown key "homepage"`},
			{14, "", `unknown key "pakages"`},
		}},
		{file: "bad-dates", wants: []want{
			{12, "vendors[0].jurisdictions[0].entity_list", `got "2024-13-01"`},
			{13, "vendors[0].jurisdictions[0].sales_ban", `got "29/09/2024"`},
			{14, "vendors[0].jurisdictions[0].updates_cut_off", `got "2024-02-30"`},
			{16, "vendors[0].jurisdictions[0].measures[0].date", `got "yesterday"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readSeed(t, filepath.Join("testdata", "fuzz", "FuzzLoad", tt.file))
			c, err := Load(data, "fuzz.yaml")
			if tt.wants == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				var got []string
				for _, f := range c.Evaluate(matchingItems(c.Policy(), 64), Options{AsOf: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}) {
					got = append(got, string(f.Kind)+" "+f.Product)
				}
				want := []string{
					"updates-cut-off Acme software (package pkg-of-Acme Inc)",
					"updates-cut-off Acme software (package pkg-of-АО «Акме»)",
					"updates-cut-off Widget",
					"product Acme software (package pkg-of-Acme Inc)",
					"product Acme software (package pkg-of-АО «Акме»)",
					"product Widget",
				}
				if !slices.Equal(got, want) {
					t.Errorf("findings for the policy's own artefacts:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				return
			}
			checkProblems(t, err, "fuzz.yaml", tt.wants)
		})
	}
}

// readSeed reads a one-value []byte corpus file ("go test fuzz v1").
func readSeed(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	header, value, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	inner, ok := strings.CutPrefix(value, "[]byte(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	if header != "go test fuzz v1" || !ok || !ok2 {
		t.Fatalf("%s is not a []byte corpus file", file)
	}
	s, err := strconv.Unquote(inner)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(s)
}

func findingIDs(fs []Finding) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID + "/" + string(f.Kind)
	}
	slices.Sort(ids)
	return ids
}
