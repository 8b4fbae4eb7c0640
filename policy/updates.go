package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/banwatch/banwatch/detectors"
)

// This file turns what the scan saw of an install's updates into
// verdicts: how old its signatures are, whether updates still reach it
// after a cut-off, and what update traffic it sends.

// sigInfo is the signature date chosen for a product.
type sigInfo struct {
	block *Signatures
	at    time.Time
	known bool
	conf  string
	// none: the product has no signatures of its own.
	none bool
}

var confidenceRank = map[string]int{"low": 1, "medium": 2, "high": 3}

// signatureDate picks the most trustworthy signature date among the
// product's evidence (then the newest), or says why there is none.
// Secondary products (a management agent, a password manager) have no
// signatures of their own, and say so.
func (c *Compiled) signatureDate(g *group, v *Vendor, o Options) sigInfo {
	var best *detectors.Item
	var bestAt time.Time
	for i := range g.items {
		it := &g.items[i]
		if it.Kind != detectors.KindSignatures {
			continue
		}
		at, err := time.Parse(time.RFC3339, it.Attrs["last_update"])
		if err != nil {
			continue
		}
		if best == nil || betterSignature(it, at, best, bestAt) {
			best, bestAt = it, at
		}
	}
	if best == nil {
		if g.product >= 0 && v.Products[g.product].Secondary {
			return sigInfo{block: &Signatures{Unknown: "it has no anti-virus signatures of its own (a management agent or an add-on)"}, none: true}
		}
		return sigInfo{block: &Signatures{Unknown: unknownSignatures(o.OS)}}
	}
	at := bestAt.UTC()
	age := int(dayOf(o.AsOf).Sub(dayOf(at)).Hours() / 24)
	age = max(age, 0)
	s := &Signatures{
		LastUpdate: at.Format(time.DateOnly), LastUpdateAt: at.Format(time.RFC3339), AgeDays: &age,
		Source: best.Attrs["source"], Confidence: best.Attrs["confidence"], UpdateSource: updateSource(g.items),
	}
	return sigInfo{block: s, at: at, known: true, conf: s.Confidence}
}

func betterSignature(it *detectors.Item, at time.Time, best *detectors.Item, bestAt time.Time) bool {
	a, b := confidenceRank[it.Attrs["confidence"]], confidenceRank[best.Attrs["confidence"]]
	if a != b {
		return a > b
	}
	return at.After(bestAt)
}

// updateSource is where the install takes its updates from, as a source
// recorded it (the Network Agent's administration server).
func updateSource(items []detectors.Item) string {
	for _, it := range items {
		if s := it.Attrs["update_source"]; it.Kind == detectors.KindSignatures && s != "" {
			return s
		}
	}
	return ""
}

func unknownSignatures(goos string) string {
	if goos == "darwin" {
		return "banwatch knows no record of the signature date that Kaspersky keeps on macOS"
	}
	return "no record of the signature date was found (the product's own status, its registry or its bases folder)"
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// clause adds the signature date to a sentence.
func (s sigInfo) clause() string {
	switch {
	case s.none:
		return "; " + s.block.Unknown
	case s.known && s.conf == "low":
		return fmt.Sprintf("; the date of its signatures is not recorded, and its bases folder was last written on %s (%d days ago)",
			s.block.LastUpdate, *s.block.AgeDays)
	case s.known:
		return fmt.Sprintf("; its last signatures are of %s, %d days old", s.block.LastUpdate, *s.block.AgeDays)
	case s.block != nil:
		return "; the date of its last signatures is unknown: " + s.block.Unknown
	}
	return ""
}

// signatureVerdicts gives stale-signatures (in any jurisdiction) and
// updates-after-cut-off (signatures newer than a cut-off that has
// passed: updates still arrive).
func (c *Compiled) signatureVerdicts(g *group, base Finding, v *Vendor, o Options, s sigInfo, j *Jurisdiction, cut time.Time, banned bool) []Finding {
	if !s.known {
		return nil
	}
	var out []Finding
	limit := v.Updates.MaxSignatureAgeDays
	if limit == 0 {
		limit = DefaultMaxSignatureAgeDays
	}
	if age := *s.block.AgeDays; age > limit {
		f := c.finding(base, v, KindStaleSignatures, o, g.key)
		f.Summary = fmt.Sprintf("%s's signatures are %d days old (of %s, from %s), more than the %d days allowed: it does not know the threats found since.",
			g.name, age, s.block.LastUpdate, s.block.Source, limit)
		out = append(out, f)
	}
	if banned && s.conf != "low" && !dayOf(s.at).Before(cut) {
		f := c.finding(base, v, KindUpdatesAfterCutOff, o, g.key)
		f.Jurisdiction, f.CutOff = j.Code, cut.Format(time.DateOnly)
		f.Summary = fmt.Sprintf("%s still receives updates although they are prohibited in %s since %s: its signatures are of %s. They come from %s.",
			g.name, j.Code, f.CutOff, s.block.LastUpdate, updatesFrom(g.items, s))
		out = append(out, f)
	}
	return out
}

// updatesFrom says where updates come from, from the best evidence at
// hand.
func updatesFrom(items []detectors.Item, s sigInfo) string {
	var from []string
	if s.block.UpdateSource != "" {
		from = append(from, s.block.UpdateSource)
	}
	for _, it := range items {
		if it.Kind != detectors.KindConnection || it.Attrs["blocked"] == "true" {
			continue
		}
		switch it.Attrs["channel"] {
		case "managed":
			from = append(from, "a Kaspersky Security Center server or distribution point at "+it.Attrs["remote"])
		case "vendor":
			from = append(from, "the vendor's update servers directly ("+it.Attrs["remote"]+")")
		}
	}
	if len(from) == 0 {
		return "a source banwatch did not see: a Kaspersky Security Center server, a mirror, a shared folder or the Kaspersky Update Utility"
	}
	return strings.Join(slices.Compact(from), "; ")
}

// onlyTraffic says whether a group holds connections and nothing else: a
// process no product claims that talks to the vendor's update hosts.
func onlyTraffic(items []detectors.Item) bool {
	return len(items) > 0 && !slices.ContainsFunc(items, func(it detectors.Item) bool {
		return it.Kind != detectors.KindConnection
	})
}

// trafficFinding reports a product's update traffic: the connection that
// matters most (one that gets through), with the others as evidence.
// Traffic that is all blocked is one step less severe than the policy's
// update-traffic severity.
func (c *Compiled) trafficFinding(g *group, base Finding, v *Vendor, o Options) []Finding {
	var conns []detectors.Item
	for _, it := range g.items {
		if it.Kind == detectors.KindConnection {
			conns = append(conns, it)
		}
	}
	if len(conns) == 0 {
		return nil
	}
	slices.SortStableFunc(conns, func(a, b detectors.Item) int { return trafficRank(a) - trafficRank(b) })
	t := traffic(conns[0])
	f := c.finding(base, v, KindUpdateTraffic, o, g.key)
	f.Traffic = t
	blocked := 0
	for _, it := range conns {
		if it.Attrs["blocked"] == "true" {
			blocked++
		}
	}
	if blocked == len(conns) && f.Severity.Rank() > 1 {
		f.Severity = severityByRank[f.Severity.Rank()-1]
	}
	f.Summary = fmt.Sprintf("%s sends update traffic: %s%s.", g.name, describeTraffic(t), moreTraffic(len(conns)-1, blocked))
	return []Finding{f}
}

var severityByRank = map[int]Severity{1: SeverityLow, 2: SeverityMedium, 3: SeverityHigh, 4: SeverityCritical}

// trafficRank orders connections: through to the vendor, through to a
// management server, then blocked ones.
func trafficRank(it detectors.Item) int {
	r := 0
	if it.Attrs["blocked"] == "true" {
		r += 2
	}
	if it.Attrs["channel"] != "vendor" {
		r++
	}
	return r
}

func traffic(it detectors.Item) *Traffic {
	t := &Traffic{Remote: it.Attrs["remote"], Blocked: it.Attrs["blocked"] == "true",
		Reason: it.Attrs["reason"], Channel: it.Attrs["channel"], Process: processName(it)}
	if it.Process != nil {
		t.PID = it.Process.PID
	}
	return t
}

func processName(it detectors.Item) string {
	if it.Exec == "" {
		return ""
	}
	exe := strings.ReplaceAll(it.Exec, `\`, "/")
	return exe[strings.LastIndex(exe, "/")+1:]
}

func describeTraffic(t *Traffic) string {
	who := "a process"
	if t.Process != "" {
		who = "process " + t.Process
	}
	if t.PID != 0 {
		who += fmt.Sprintf(" (pid %d)", t.PID)
	}
	to := "the vendor's update host " + t.Remote
	if t.Channel == "managed" {
		to = "a management server " + t.Remote
	}
	state := "and it gets through"
	if t.Blocked {
		state = "blocked: " + t.Reason
	}
	return fmt.Sprintf("%s connects to %s, %s", who, to, state)
}

func moreTraffic(others, blocked int) string {
	if others == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d more connections; %d of all are blocked)", others, blocked)
}
