package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/banwatch/banwatch/detectors"
)

// Options set what an evaluation is relative to.
type Options struct {
	// AsOf is the day the cut-off rules are evaluated for.
	AsOf time.Time
	// Jurisdiction is an ISO 3166 code; empty means the policy's default.
	Jurisdiction string
	// HostID makes finding ids unique per host and stable across scans.
	HostID string
	// OS is the target's GOOS name; it picks OS-specific remediation.
	OS string
}

// group is the evidence of one product on the machine.
type group struct {
	vendor  int
	product int    // index in the vendor's products; -1 if not identified
	key     string // product id, "package:NAME", "program:NAME" or "unidentified"
	name    string
	items   []detectors.Item
}

// Evaluate turns inventory into findings: one per product and kind, with
// all of the product's evidence merged.
func (c *Compiled) Evaluate(items []detectors.Item, o Options) []Finding {
	if o.Jurisdiction == "" {
		o.Jurisdiction = c.policy.DefaultJurisdiction
	}
	var out []Finding
	for _, g := range c.group(items) {
		out = append(out, c.findings(g, o)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].Severity.Rank(), out[j].Severity.Rank(); a != b {
			return a > b
		}
		if out[i].Product != out[j].Product {
			return out[i].Product < out[j].Product
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// group sorts matched items into products. Vendor-wide artefacts join the
// vendor's main product on this machine, or, when none was found, an
// unidentified one; a package known only by its publisher is a product of
// its own. Connections follow their process; signature dates, hosts-file
// entries and probes only ever join a product that is there.
func (c *Compiled) group(items []detectors.Item) []*group {
	gs := &grouping{byKey: map[string]*group{}}
	var conns []*detectors.Item
	loose := map[int][]detectors.Item{}
	context := map[int][]detectors.Item{}
	for i := range items {
		it := &items[i]
		if it.Kind == detectors.KindConnection {
			conns = append(conns, it)
			continue
		}
		t, ok := c.match(it)
		switch {
		case !ok:
		case t.product >= 0:
			p := c.policy.Vendors[t.vendor].Products[t.product]
			gs.get(t.vendor, t.product, p.ID, p.Name).add(it)
		case it.Kind == detectors.KindPackage || it.Kind == detectors.KindProgram:
			name := fmt.Sprintf("%s software (%s %s)", c.policy.Vendors[t.vendor].Name, it.Kind, it.Name)
			gs.get(t.vendor, -1, string(it.Kind)+":"+it.Name, name).add(it)
		case contextOnly(it.Kind):
			context[t.vendor] = append(context[t.vendor], *it)
		default:
			loose[t.vendor] = append(loose[t.vendor], *it)
		}
	}
	for vi := range c.policy.Vendors {
		if len(loose[vi]) > 0 {
			g := c.vendorGroup(gs, vi)
			g.items = append(g.items, loose[vi]...)
		}
	}
	// Connections go last, when every process is in its product.
	c.attributeConnections(gs, conns)
	for vi := range c.policy.Vendors {
		if g := c.mainGroup(gs.groups, vi); g != nil {
			g.items = append(g.items, context[vi]...)
		}
	}
	groups := gs.groups
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.vendor != b.vendor {
			return a.vendor < b.vendor
		}
		return target{a.vendor, a.product}.less(target{b.vendor, b.product})
	})
	return groups
}

// vendorGroup is the group vendor-wide artefacts join: the vendor's main
// product here, or an unidentified one.
func (c *Compiled) vendorGroup(gs *grouping, vendor int) *group {
	if g := c.mainGroup(gs.groups, vendor); g != nil {
		return g
	}
	return gs.get(vendor, -1, "unidentified", c.policy.Vendors[vendor].Name+" software (product not identified)")
}

// grouping collects groups by vendor and key, in order of appearance.
type grouping struct {
	byKey  map[string]*group
	groups []*group
}

func (gs *grouping) get(vendor, product int, key, name string) *group {
	k := fmt.Sprintf("%d/%s", vendor, key)
	if g := gs.byKey[k]; g != nil {
		return g
	}
	g := &group{vendor: vendor, product: product, key: key, name: name}
	gs.byKey[k] = g
	gs.groups = append(gs.groups, g)
	return g
}

func (g *group) add(it *detectors.Item) { g.items = append(g.items, *it) }

// contextOnly kinds say something about a product but never show one:
// a hosts file may block a vendor's hosts on a machine that never ran it.
func contextOnly(k detectors.Kind) bool {
	return k == detectors.KindSignatures || k == detectors.KindHostsEntry || k == detectors.KindProbe
}

// attributeConnections gives each connection to the product whose process
// (or service) owns it; a connection to a vendor's update host from a
// process no product claims is the vendor's, and a connection to a
// management port, or to a sinkhole address (loopback) the update host
// was mapped to, from such a process is nobody's.
func (c *Compiled) attributeConnections(gs *grouping, conns []*detectors.Item) {
	byPID := map[int32]*group{}
	for _, g := range gs.groups {
		for _, it := range g.items {
			if it.Process != nil && it.Process.PID > 0 {
				if _, taken := byPID[it.Process.PID]; !taken {
					byPID[it.Process.PID] = g
				}
			}
		}
	}
	for _, it := range conns {
		if it.Process != nil {
			if g := byPID[it.Process.PID]; g != nil {
				g.add(it)
				continue
			}
		}
		if it.Attrs["sinkhole"] == "true" {
			continue
		}
		if t, ok := c.match(it); ok {
			c.vendorGroup(gs, t.vendor).add(it)
		}
	}
}

// mainGroup is the group vendor-wide artefacts join: the vendor's first
// installed product that is not secondary, else its first installed
// product, else its first product.
func (c *Compiled) mainGroup(groups []*group, vendor int) *group {
	var best *group
	rank := func(g *group) int {
		switch {
		case !installed(g.items):
			return 0
		case g.product >= 0 && c.policy.Vendors[vendor].Products[g.product].Secondary:
			return 1
		}
		return 2
	}
	for _, g := range groups {
		if g.vendor == vendor && (best == nil || rank(g) > rank(best)) {
			best = g
		}
	}
	return best
}

// installed says whether the evidence shows a product that is there, not
// just its leftovers: a package that is (even partly) installed, a
// running process, a loaded module. Units, init scripts and folders
// without a package are what a removal leaves behind (the issue's
// definition of a remnant): on their own they never make a product,
// whether or not a unit's program is still on disk.
func installed(items []detectors.Item) bool {
	return slices.ContainsFunc(items, isInstallEvidence)
}

func isInstallEvidence(it detectors.Item) bool {
	switch it.State {
	case detectors.StateInstalled, detectors.StatePartial, detectors.StateRunning, detectors.StateLoaded:
		return true
	}
	return false
}

// leadsEvidence puts first in a finding what shows the product at work:
// install evidence, and enabled units whose program is on disk.
func leadsEvidence(it detectors.Item) bool {
	return isInstallEvidence(it) ||
		(it.Kind == detectors.KindService && it.State == detectors.StateEnabled && it.Exec != "" && !it.ExecMissing)
}

func (c *Compiled) findings(g *group, o Options) []Finding {
	v := &c.policy.Vendors[g.vendor]
	c.sortEvidence(g)
	base := Finding{
		Vendor:   v.Name,
		Product:  g.name,
		Version:  version(g.items),
		Evidence: evidence(g.items),
	}
	if g.product >= 0 {
		base.ProductID = g.key
		if v.Products[g.product].Tool {
			f := c.finding(base, v, KindTool, o, g.key)
			f.Summary = fmt.Sprintf("%s, an on-demand %s tool and not installed protection, is on this machine: %s.",
				nameVersion(g.name, base.Version), v.Name, Brief(base.Evidence, 4))
			return []Finding{f}
		}
	}
	traffic := c.trafficFinding(g, base, v, o)
	if onlyTraffic(g.items) {
		return traffic
	}
	if !installed(g.items) {
		f := c.finding(base, v, KindRemnant, o, g.key)
		f.Summary = fmt.Sprintf("Leftovers of %s remain, but the product is not installed: %s.", g.name, Brief(base.Evidence, 4))
		return append([]Finding{f}, traffic...)
	}
	sig := c.signatureDate(g, v, o)
	base.Signatures = sig.block
	f := c.finding(base, v, KindProduct, o, g.key)
	f.Summary = fmt.Sprintf("%s is %s: %s.", nameVersion(g.name, base.Version), presence(g.items), Brief(base.Evidence, 4))
	out := []Finding{f}
	j, cut, banned := cutOff(v, o)
	if banned {
		f := c.finding(base, v, KindUpdatesCutOff, o, g.key)
		f.Jurisdiction, f.CutOff = j.Code, cut.Format(time.DateOnly)
		f.Summary = fmt.Sprintf("%s can no longer receive signature or software updates: since %s they are prohibited in %s (%s), so whatever protection it gives is frozen at that date%s.",
			g.name, f.CutOff, j.Code, j.Name, sig.clause())
		out = append(out, f)
	}
	out = append(out, c.signatureVerdicts(g, base, v, o, sig, j, cut, banned)...)
	return append(out, traffic...)
}

func (c *Compiled) finding(base Finding, v *Vendor, kind Kind, o Options, productKey string) Finding {
	f := base
	f.Kind = kind
	f.Rule = v.ID + "." + string(kind)
	f.Severity = v.Severity[string(kind)]
	if f.Severity == "" {
		f.Severity = kinds[kind]
	}
	text, ok := v.Remediation[string(kind)+"."+o.OS]
	if !ok {
		text = v.Remediation[string(kind)]
	}
	f.Remediation = strings.ReplaceAll(text, "{product}", base.Product)
	sum := sha256.Sum256([]byte(o.HostID + "\x00" + f.Rule + "\x00" + v.ID + "/" + productKey))
	f.ID = hex.EncodeToString(sum[:16])
	return f
}

// cutOff returns the jurisdiction and its update cut-off if that day has
// come by the as-of date.
func cutOff(v *Vendor, o Options) (*Jurisdiction, time.Time, bool) {
	for i := range v.Jurisdictions {
		j := &v.Jurisdictions[i]
		if j.Code != o.Jurisdiction || j.UpdatesCutOff == "" {
			continue
		}
		cut, ok := parseDate(j.UpdatesCutOff)
		asOf := time.Date(o.AsOf.Year(), o.AsOf.Month(), o.AsOf.Day(), 0, 0, 0, 0, time.UTC)
		if ok && !cut.After(asOf) {
			return j, cut, true
		}
	}
	return nil, time.Time{}, false
}

// sortEvidence orders evidence: what shows the product at work first, then by kind,
// with the product's main package (first listed) ahead of the others.
func (c *Compiled) sortEvidence(g *group) {
	var pkgs []string
	if g.product >= 0 {
		pkgs = c.policy.Vendors[g.vendor].Products[g.product].Match.Packages
	}
	rank := func(it detectors.Item) int {
		if i := slices.IndexFunc(pkgs, func(p string) bool { return strings.EqualFold(p, it.Name) }); i >= 0 && it.Kind == detectors.KindPackage {
			return i
		}
		return len(pkgs)
	}
	sort.SliceStable(g.items, func(i, j int) bool {
		a, b := g.items[i], g.items[j]
		if x, y := leadsEvidence(a), leadsEvidence(b); x != y {
			return x
		}
		if x, y := kindOrder(a.Kind), kindOrder(b.Kind); x != y {
			return x < y
		}
		if x, y := rank(a), rank(b); x != y {
			return x < y
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Path < b.Path
	})
}

func kindOrder(k detectors.Kind) int {
	order := []detectors.Kind{detectors.KindPackage, detectors.KindProgram, detectors.KindApplication, detectors.KindSecurityProduct,
		detectors.KindService, detectors.KindDriver, detectors.KindProcess, detectors.KindKernelModule,
		detectors.KindSignatures, detectors.KindConnection, detectors.KindHostsEntry, detectors.KindProbe,
		detectors.KindRegistryKey, detectors.KindCertificate, detectors.KindFolder, detectors.KindFile}
	if i := slices.Index(order, k); i >= 0 {
		return i
	}
	return len(order)
}

// version is the version of the main package or application (evidence
// is sorted).
func version(items []detectors.Item) string {
	for _, it := range items {
		if (it.Kind == detectors.KindPackage || it.Kind == detectors.KindProgram || it.Kind == detectors.KindApplication) && it.Version != "" {
			return it.Version
		}
	}
	return ""
}

func nameVersion(name, version string) string {
	if version == "" {
		return name
	}
	return name + " " + version
}

// presence says in words how the product is there.
func presence(items []detectors.Item) string {
	has := func(s detectors.State) bool {
		return slices.ContainsFunc(items, func(it detectors.Item) bool { return it.State == s })
	}
	var state string
	switch {
	case has(detectors.StateInstalled):
		state = "installed"
	case has(detectors.StatePartial):
		state = "partly installed (the package manager did not finish)"
	}
	running := has(detectors.StateRunning) || has(detectors.StateLoaded)
	switch {
	case state == "" && running:
		return "running"
	case running:
		return state + " and running"
	}
	return state
}

// Brief lists up to most pieces of evidence in words, for summaries and
// tables: "package kesl, service kesl.service (enabled), and 3 more".
func Brief(ev []Evidence, most int) string {
	var parts []string
	for i, e := range ev {
		if i == most {
			parts = append(parts, fmt.Sprintf("and %d more", len(ev)-most))
			break
		}
		parts = append(parts, describe(e))
	}
	return strings.Join(parts, ", ")
}

func describe(e Evidence) string {
	switch {
	case e.Type == string(detectors.KindPackage) && e.State != string(detectors.StateInstalled):
		return fmt.Sprintf("package %s (%s)", e.Name, strings.TrimPrefix(e.Detail, "Status: "))
	case e.Type == string(detectors.KindProcess) && e.PID != 0:
		return fmt.Sprintf("process %s (pid %d)", e.Name, e.PID)
	case e.Type == string(detectors.KindService) || e.Type == string(detectors.KindDriver):
		return fmt.Sprintf("%s %s (%s)", e.Type, e.Name, e.State)
	case e.Type == string(detectors.KindProgram):
		return fmt.Sprintf("program %q (%s)", e.Name, e.State)
	}
	return e.Type + " " + e.Name
}

func evidence(items []detectors.Item) []Evidence {
	out := make([]Evidence, len(items))
	for i, it := range items {
		out[i] = Evidence{
			Detector: it.Detector, Type: string(it.Kind), Name: it.Name, Version: it.Version,
			Path: it.Path, State: string(it.State), Detail: it.Detail,
			BundleID: it.BundleID, Attrs: it.Attrs,
		}
		if it.Process != nil {
			out[i].PID = it.Process.PID
		}
	}
	return out
}
