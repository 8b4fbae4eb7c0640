// Command checkscan checks the live scan that wine_test.sh runs in a Wine
// prefix made to hold the Kaspersky state of the offline image
// detectors/testdata/windows/images/win10-kts-ru, against the offline scan
// of that image: the same findings (kind, product, version, id), the same
// evidence, and what only a live scan adds (a running service, its
// process). It prints every difference and exits 1 if there is one.
//
// It reads the JSON report (banwatch.scan/v1) as any consumer would, with
// its own types, so that a change of the format shows here too.
//
// Usage: go run ./detectors/winreg/testdata/checkscan LIVE.json OFFLINE.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

type report struct {
	Schema string `json:"schema"`
	Host   struct {
		Hostname string `json:"hostname"`
		OS       string `json:"os"`
		Platform string `json:"platform"`
	} `json:"host"`
	Scan struct {
		Root      string `json:"root"`
		Mode      string `json:"mode"`
		AsOf      string `json:"as_of"`
		Detectors []struct {
			Name    string `json:"name"`
			Items   int    `json:"items"`
			Error   string `json:"error"`
			Skipped string `json:"skipped"`
		} `json:"detectors"`
	} `json:"scan"`
	Findings []finding `json:"findings"`
	Errors   []struct {
		Detector string `json:"detector"`
		Message  string `json:"message"`
	} `json:"errors"`
}

type finding struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	ProductID string     `json:"product_id"`
	Version   string     `json:"version"`
	Evidence  []evidence `json:"evidence"`
}

func (f finding) key() string { return f.Kind + " " + f.ProductID + " " + f.Version }

type evidence struct {
	Detector string            `json:"detector"`
	Type     string            `json:"type"`
	Name     string            `json:"name"`
	Path     string            `json:"path"`
	State    string            `json:"state"`
	PID      int32             `json:"pid"`
	Detail   string            `json:"detail"`
	Attrs    map[string]string `json:"attrs"`
}

func (e evidence) key() string { return e.Type + " " + e.Name + " @ " + e.Path }

// What the image holds, and so what both scans must find.
const (
	asOf    = "2026-11-25"
	ivanSID = "S-1-5-21-3623811015-3361044348-30300820-1001"
	// The ghost profile wine_test.sh adds: a ProfileList entry whose
	// NTUSER.DAT is not a hive.
	ghostSID = "S-1-5-21-1-2-3-1001"
)

var wantFindings = []string{
	"product kpm 9.2.106", "product kts 21.3.10.391",
	"updates-cut-off kpm 9.2.106", "updates-cut-off kts 21.3.10.391",
}

// The detectors a live Windows scan must run.
var wantRan = []string{"files", "processes", "windows-programs", "windows-registry", "windows-services"}

// tolerated says whether a line of a live scan error is expected, and
// why. Only one is: the junk NTUSER.DAT that wine_test.sh plants on
// purpose, which every detector reading the users' hives reports (the
// programs detector must: see errors).
func tolerated(line string) bool {
	return line == "user "+ghostSID+": hive users/ghost/NTUSER.DAT: not a registry hive (no regf signature)"
}

type checker struct{ failed, notes []string }

func (c *checker) errorf(format string, args ...any) {
	c.failed = append(c.failed, fmt.Sprintf(format, args...))
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: checkscan LIVE.json OFFLINE.json")
		os.Exit(2)
	}
	live, offline := load(os.Args[1]), load(os.Args[2])
	var c checker
	c.header(live, "live")
	c.header(offline, "offline")
	c.detectors(live)
	c.errors(live)
	if len(offline.Errors) != 0 {
		c.errorf("offline scan errors: %v", offline.Errors)
	}
	// The edition comes from the registry in both modes, and the prefix
	// holds the image's. The host name does not: Wine sets the computer
	// name from the Unix one.
	if live.Host.Platform != offline.Host.Platform {
		c.errorf("platform %q live, %q offline", live.Host.Platform, offline.Host.Platform)
	}
	c.findings(live, offline)
	c.liveEvidence(live)
	if len(c.failed) > 0 {
		fmt.Fprintf(os.Stderr, "checkscan: %d problems:\n", len(c.failed))
		for _, f := range c.failed {
			fmt.Fprintln(os.Stderr, "  - "+f)
		}
		os.Exit(1)
	}
	for _, n := range c.notes {
		fmt.Println("checkscan: " + n)
	}
	fmt.Printf("checkscan: the live scan (host %q, %s) agrees with the offline scan of the image: %s\n",
		live.Host.Hostname, live.Host.Platform, strings.Join(keys(live), ", "))
}

func load(name string) *report {
	b, err := os.ReadFile(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkscan:", err)
		os.Exit(2)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		fmt.Fprintf(os.Stderr, "checkscan: %s: %v\n", name, err)
		os.Exit(2)
	}
	return &r
}

func (c *checker) header(r *report, mode string) {
	if r.Schema != "banwatch.scan/v1" || r.Scan.Mode != mode || r.Host.OS != "windows" || r.Scan.AsOf != asOf {
		c.errorf("%s scan: schema %q, mode %q, host.os %q, as_of %q; want banwatch.scan/v1, %s, windows, %s",
			mode, r.Schema, r.Scan.Mode, r.Host.OS, r.Scan.AsOf, mode, asOf)
	}
	if mode == "live" && r.Scan.Root != `C:\` {
		c.errorf(`live scan root %q, want C:\`, r.Scan.Root)
	}
}

// detectors: the Windows and live detectors ran and found something; the
// Security Center either ran or was skipped with a reason (Wine has no
// root\SecurityCenter2), never failed.
func (c *checker) detectors(r *report) {
	ran := map[string]bool{}
	for _, d := range r.Scan.Detectors {
		switch {
		case d.Name == "security-center":
			if d.Error != "" {
				c.errorf("security-center failed: %s", d.Error)
			}
			if d.Skipped != "" {
				c.notes = append(c.notes, "security-center skipped: "+d.Skipped)
			}
		case d.Skipped == "":
			ran[d.Name] = true
			if d.Items == 0 && slices.Contains(wantRan, d.Name) {
				c.errorf("detector %s ran but found nothing", d.Name)
			}
		}
	}
	for _, name := range wantRan {
		if !ran[name] {
			c.errorf("detector %s did not run", name)
		}
	}
}

// errors: every line of the live scan's errors (each detector's error
// is one, its parts joined by newlines) is a tolerated one, and the
// tolerated one is there (the ghost profile is reported, not dropped).
func (c *checker) errors(r *report) {
	ghost := false
	for _, e := range r.Errors {
		for _, line := range strings.Split(e.Message, "\n") {
			if tolerated(line) {
				ghost = ghost || e.Detector == "windows-programs"
				continue
			}
			c.errorf("unexpected live scan error from %s: %s", e.Detector, line)
		}
	}
	if !ghost {
		c.errorf("windows-programs reports no error for the ghost profile %s (users/ghost/NTUSER.DAT is not a hive)", ghostSID)
	}
}

// findings: both scans find what the image holds, with the same ids (the
// MachineGuid is the image's) and the same evidence. The live scan may
// add process evidence and see a service running that the image can
// only show enabled.
func (c *checker) findings(live, offline *report) {
	lk, ok := strings.Join(keys(live), "\n"), strings.Join(keys(offline), "\n")
	want := strings.Join(wantFindings, "\n")
	if lk != want || ok != want {
		c.errorf("findings differ:\n%s", diff(map[string][]string{
			"expected": wantFindings, "live": keys(live), "offline": keys(offline)}))
	}
	lf := byKey(live.Findings)
	for _, of := range offline.Findings {
		f, found := lf[of.key()]
		if !found {
			continue // reported above
		}
		if f.ID != of.ID {
			c.errorf("%s: live id %s, offline id %s (both derive from the same MachineGuid)", of.key(), f.ID, of.ID)
		}
		c.evidence(of.key(), f.Evidence, of.Evidence)
	}
}

func (c *checker) evidence(finding string, live, offline []evidence) {
	lm := map[string]evidence{}
	for _, e := range live {
		lm[e.key()] = e
	}
	om := map[string]bool{}
	for _, o := range offline {
		om[o.key()] = true
		l, found := lm[o.key()]
		switch {
		case !found:
			c.errorf("%s: evidence %s only in the offline scan", finding, o.key())
			continue
		case l.Detector != o.Detector:
			c.errorf("%s: evidence %s from %s live, %s offline", finding, o.key(), l.Detector, o.Detector)
		case l.State != o.State && !(o.Type == "service" && o.State == "enabled" && l.State == "running"):
			c.errorf("%s: evidence %s is %q live, %q offline", finding, o.key(), l.State, o.State)
		}
		if d := attrsDiff(l.Attrs, o.Attrs); d != "" {
			c.errorf("%s: evidence %s attributes differ (live vs offline):%s", finding, o.key(), d)
		}
	}
	for _, l := range live {
		if !om[l.key()] && l.Type != "process" {
			c.errorf("%s: evidence %s (%s) only in the live scan", finding, l.key(), l.State)
		}
	}
}

// liveEvidence: what a live scan sees beyond the image. The service
// AVP21.3 runs (wine_test.sh installs a do-nothing service as its
// avp.exe), the process list shows it with the same pid, the drivers are
// listed but not loaded (their .sys files are not drivers), and KPM is a
// per-user install of ivan, who is not logged on.
func (c *checker) liveEvidence(r *report) {
	f := byKey(r.Findings)
	kts, kpm := f["product kts 21.3.10.391"], f["product kpm 9.2.106"]
	// A service's pid is in its detail only ("..., running (pid 76)"):
	// the evidence's pid field is filled for processes.
	svc, ok := find(kts.Evidence, "service", "AVP21.3")
	var pid int32
	if i := strings.LastIndex(svc.Detail, "(pid "); i >= 0 {
		fmt.Sscanf(svc.Detail[i:], "(pid %d)", &pid)
	}
	if !ok || svc.State != "running" || pid <= 0 {
		c.errorf("kts: want service AVP21.3 running with a pid, got %+v", svc)
	}
	proc, ok := find(kts.Evidence, "process", "avp.exe")
	if !ok || proc.PID != pid || !strings.HasSuffix(proc.Path, `\Kaspersky Lab\Kaspersky Total Security 21.3\avp.exe`) {
		c.errorf("kts: want process avp.exe, pid %d, from the product folder, got %+v", pid, proc)
	}
	for _, name := range []string{"klif", "klhk", "klbackupflt"} {
		if d, ok := find(kts.Evidence, "driver", name); !ok || d.State != "enabled" {
			c.errorf("kts: want driver %s enabled (not loaded under Wine), got %+v", name, d)
		}
	}
	if _, ok := find(kts.Evidence, "registry-key", `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\protected\AVP21.3\environment`); !ok {
		c.errorf("kts: no environment registry key among the evidence")
	}
	p, ok := find(kpm.Evidence, "program", "Kaspersky Password Manager")
	if !ok || !strings.HasPrefix(p.Path, `HKU\`+ivanSID+`\`) || p.Attrs["scope"] != "user ivan ("+ivanSID+")" {
		c.errorf("kpm: want the program from ivan's hive (%s, not logged on), got %+v", ivanSID, p)
	}
	if _, ok := find(kpm.Evidence, "folder", "Users/ivan/AppData/Local/Kaspersky Lab/Kaspersky Password Manager 9.2"); !ok {
		c.errorf("kpm: no folder under Users/ivan among the evidence")
	}
	c.notes = append(c.notes, fmt.Sprintf("live only: service AVP21.3 %s (pid %d), process %s", svc.State, pid, proc.Path))
}

func find(evs []evidence, typ, name string) (evidence, bool) {
	for _, e := range evs {
		if e.Type == typ && e.Name == name {
			return e, true
		}
	}
	return evidence{}, false
}

func byKey(fs []finding) map[string]finding {
	m := map[string]finding{}
	for _, f := range fs {
		m[f.key()] = f
	}
	return m
}

func keys(r *report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.key())
	}
	sort.Strings(out)
	return out
}

// diff lists, for each line any of the sets has, which sets have it.
func diff(sets map[string][]string) string {
	names := make([]string, 0, len(sets))
	has := map[string]map[string]bool{}
	for name, lines := range sets {
		names = append(names, name)
		for _, l := range lines {
			if has[l] == nil {
				has[l] = map[string]bool{}
			}
			has[l][name] = true
		}
	}
	sort.Strings(names)
	lines := make([]string, 0, len(has))
	for l := range has {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	var b strings.Builder
	for _, l := range lines {
		var in, out []string
		for _, n := range names {
			if has[l][n] {
				in = append(in, n)
			} else {
				out = append(out, n)
			}
		}
		mark := "  "
		if len(out) > 0 {
			mark = "! "
		}
		fmt.Fprintf(&b, "    %s%-34s in %s", mark, l, strings.Join(in, ", "))
		if len(out) > 0 {
			fmt.Fprintf(&b, "; missing from %s", strings.Join(out, ", "))
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func attrsDiff(live, offline map[string]string) string {
	names := map[string]bool{}
	for k := range live {
		names[k] = true
	}
	for k := range offline {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, k := range sorted {
		l, lok := live[k]
		o, ook := offline[k]
		if l != o || lok != ook {
			fmt.Fprintf(&b, " %s=%q vs %q;", k, l, o)
		}
	}
	return b.String()
}
