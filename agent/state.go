package agent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/banwatch/banwatch/policy"
)

// File names in the state directory.
const (
	StateFile  = "state.json"
	StatusFile = "status.json"
)

// HeartbeatEvery is how often a heartbeat goes out when nothing changes.
const HeartbeatEvery = 24 * time.Hour

// State is what the agent remembers between scans and restarts.
type State struct {
	// HostID identifies this agent's host in delivery keys. It is made
	// once, at random, and kept.
	HostID string `json:"host_id"`
	// Findings are the findings of the last delivered scan, by id.
	Findings map[string]policy.Finding `json:"findings"`
	// LastHeartbeat is when the last heartbeat was delivered.
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// LastDelivery is when the sinks last accepted a delivery.
	LastDelivery time.Time `json:"last_delivery"`
}

// LoadState reads dir/state.json. A missing file is a fresh state with a
// new host id; a damaged one is an error (with a fresh state, so the
// caller can carry on and report every finding as new).
func LoadState(dir string) (*State, error) {
	fresh := func() *State { return &State{HostID: newHostID(), Findings: map[string]policy.Finding{}} }
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fresh(), nil
	}
	if err != nil {
		return fresh(), err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return fresh(), fmt.Errorf("state %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.HostID == "" {
		s.HostID = newHostID()
	}
	if s.Findings == nil {
		s.Findings = map[string]policy.Finding{}
	}
	return &s, nil
}

// Save writes dir/state.json atomically.
func (s *State) Save(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, StateFile), append(data, '\n'), 0o644)
}

// list returns the remembered findings in id order.
func (s *State) list() []policy.Finding {
	out := make([]policy.Finding, 0, len(s.Findings))
	for _, f := range s.Findings {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b policy.Finding) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func newHostID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24)
	return hex.EncodeToString(b)
}

// HeartbeatDue says whether a heartbeat is due at now: none was ever
// sent, or the last one is HeartbeatEvery old.
func HeartbeatDue(last, now time.Time) bool {
	return last.IsZero() || now.Sub(last) >= HeartbeatEvery
}

// Diff compares two scans' findings by id: a finding only in now is new,
// one only in prev is resolved, one in both whose Fingerprint differs is
// changed. Events come in that order (new, changed, resolved), each
// group in id order, all stamped at.
func Diff(prev, now []policy.Finding, at time.Time) []Event {
	before := make(map[string]*policy.Finding, len(prev))
	for i := range prev {
		before[prev[i].ID] = &prev[i]
	}
	after := make(map[string]bool, len(now))
	var added, changed, resolved []Event
	for i := range now {
		f := &now[i]
		after[f.ID] = true
		switch p := before[f.ID]; {
		case p == nil:
			added = append(added, Event{Type: EventNew, At: at, Finding: clone(f)})
		case Fingerprint(*p) != Fingerprint(*f):
			changed = append(changed, Event{Type: EventChanged, At: at, Finding: clone(f), Previous: clone(p)})
		}
	}
	for i := range prev {
		if !after[prev[i].ID] {
			resolved = append(resolved, Event{Type: EventResolved, At: at, Finding: clone(&prev[i])})
		}
	}
	byID := func(a, b Event) int { return strings.Compare(a.Finding.ID, b.Finding.ID) }
	for _, g := range [][]Event{added, changed, resolved} {
		slices.SortStableFunc(g, byID)
	}
	return slices.Concat(added, changed, resolved)
}

func clone(f *policy.Finding) *policy.Finding { c := *f; return &c }

// Fingerprint is a hash of what makes a finding the same between scans.
// Two scans of an unchanged machine give the same fingerprint, so the
// fields that move on their own are left out:
//
//   - Summary: it is built from the other fields but also quotes process
//     ids and the signatures' age in days, which change with a restart
//     and every day; the fields it is built from are compared instead.
//   - Evidence Detail, PID and Attrs: file sizes and times, reference
//     counts, process ids. Evidence is compared as the set of (detector,
//     type, name, version, path, state, bundle id), in any order.
//   - Signatures AgeDays and LastUpdateAt: the age grows every day and
//     the time of day adds nothing to the day, LastUpdate.
//   - Traffic PID, Remote and Reason: process ids, the update host's
//     address (CDNs rotate them) and the error text; the process, the
//     channel and whether it is blocked are compared.
//
// So a change of severity, kind, version, jurisdiction or cut-off,
// remediation, an evidence item added, removed or changing state, a new
// signatures day or source, or traffic becoming blocked or unblocked is a
// change.
func Fingerprint(f policy.Finding) string {
	type evidence struct {
		Detector, Type, Name, Version, Path, State, BundleID string
	}
	type signatures struct {
		LastUpdate, Source, Confidence, UpdateSource, Unknown string
	}
	type traffic struct {
		Process, Channel string
		Blocked          bool
	}
	canon := struct {
		Rule, Kind, Severity, Vendor, Product, ProductID, Version string
		Jurisdiction, CutOff, Remediation                         string
		Signatures                                                *signatures
		Traffic                                                   *traffic
		Evidence                                                  []evidence
	}{
		Rule: f.Rule, Kind: string(f.Kind), Severity: string(f.Severity), Vendor: f.Vendor, Product: f.Product,
		ProductID: f.ProductID, Version: f.Version, Jurisdiction: f.Jurisdiction, CutOff: f.CutOff, Remediation: f.Remediation,
	}
	if s := f.Signatures; s != nil {
		canon.Signatures = &signatures{s.LastUpdate, s.Source, s.Confidence, s.UpdateSource, s.Unknown}
	}
	if t := f.Traffic; t != nil {
		canon.Traffic = &traffic{t.Process, t.Channel, t.Blocked}
	}
	for _, e := range f.Evidence {
		canon.Evidence = append(canon.Evidence, evidence{e.Detector, e.Type, e.Name, e.Version, e.Path, e.State, e.BundleID})
	}
	slices.SortFunc(canon.Evidence, func(a, b evidence) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
	canon.Evidence = slices.Compact(canon.Evidence)
	data, _ := json.Marshal(canon) // plain strings and bools: cannot fail
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// WriteFileAtomic writes a file so that a reader (or a crash) sees the
// old content or the new, never a mix: a synced temporary file beside it,
// renamed over it, and the folder synced where the OS allows. The state,
// status, request and notice files and the installer's config use it.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable, as far as it can: Windows and
// some file systems refuse to sync a directory (Windows makes renames
// durable itself).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
