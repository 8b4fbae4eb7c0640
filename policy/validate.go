package policy

import (
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// validator checks a decoded policy and reports each problem at the line
// of the YAML node it concerns.
type validator struct {
	file     string
	root     *yaml.Node
	problems []Problem
	// claimed records which product claims an exact name per artefact
	// type, so two products cannot claim the same package.
	claimed map[string]string
}

// field is a path into the policy: string keys and int indexes.
type field []any

func (f field) key(k string) field { return append(f[:len(f):len(f)], k) }
func (f field) idx(i int) field    { return append(f[:len(f):len(f)], i) }

func (f field) String() string {
	var b strings.Builder
	for _, e := range f {
		switch e := e.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e)
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		}
	}
	return b.String()
}

// line finds the line of the node at f, or of its closest ancestor that
// exists (a missing key is reported where its mapping starts).
func (v *validator) line(f field) int {
	n := v.root
	for _, e := range f {
		next := child(n, e)
		if next == nil {
			break
		}
		n = next
	}
	return n.Line
}

func child(n *yaml.Node, e any) *yaml.Node {
	switch e := e.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == e {
				return n.Content[i+1]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && e < len(n.Content) {
			return n.Content[e]
		}
	}
	return nil
}

func (v *validator) errorf(f field, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.line(f), Field: f.String(), Msg: fmt.Sprintf(format, args...)})
}

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	codePattern = regexp.MustCompile(`^[A-Z]{2}$`)
	// teamIDPattern: Apple Team IDs are ten upper-case letters and digits.
	teamIDPattern = regexp.MustCompile(`^[A-Z0-9]{10}$`)
	globMetaRune  = "*?[\\"
)

func (v *validator) policy(p *Policy) {
	root := field{}
	if p.Schema != Schema {
		v.errorf(root.key("schema"), "must be %q, got %q", Schema, p.Schema)
	}
	v.required(root.key("name"), p.Name)
	v.required(root.key("version"), p.Version)
	if !codePattern.MatchString(p.DefaultJurisdiction) {
		v.errorf(root.key("default_jurisdiction"), "must be an ISO 3166 alpha-2 code such as US, got %q", p.DefaultJurisdiction)
	}
	if len(p.Vendors) == 0 {
		v.errorf(root.key("vendors"), "at least one vendor is required")
	}
	v.claimed = map[string]string{}
	ids := map[string]bool{}
	for i, vd := range p.Vendors {
		f := root.key("vendors").idx(i)
		if ids[vd.ID] {
			v.errorf(f.key("id"), "vendor id %q is used twice", vd.ID)
		}
		ids[vd.ID] = true
		v.vendor(f, &vd)
	}
}

func (v *validator) required(f field, s string) {
	if strings.TrimSpace(s) == "" {
		v.errorf(f, "is required")
	}
}

func (v *validator) vendor(f field, vd *Vendor) {
	v.id(f.key("id"), vd.ID)
	v.required(f.key("name"), vd.Name)
	for i, pub := range vd.Publishers {
		if normalizePublisher(pub) == "" {
			v.errorf(f.key("publishers").idx(i), "empty publisher name")
		}
	}
	// Map keys in order, so the problems come out the same every time.
	for _, k := range slices.Sorted(maps.Keys(vd.Severity)) {
		s := vd.Severity[k]
		if _, ok := kinds[Kind(k)]; !ok {
			v.errorf(f.key("severity").key(k), "unknown finding kind %q (want %s)", k, kindList())
		} else if s.Rank() == 0 {
			v.errorf(f.key("severity").key(k), "unknown severity %q (want low, medium, high or critical)", s)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(vd.Remediation)) {
		kind, goos, hasOS := strings.Cut(k, ".")
		if _, ok := kinds[Kind(kind)]; !ok {
			v.errorf(f.key("remediation").key(k), "unknown finding kind %q (want %s)", kind, kindList())
		} else if hasOS && !slices.Contains(remediationOSes, goos) {
			v.errorf(f.key("remediation").key(k), "unknown OS %q (want %s)", goos, strings.Join(remediationOSes, ", "))
		}
	}
	v.updates(f.key("updates"), vd.Updates)
	for i, id := range vd.TeamIDs {
		if !teamIDPattern.MatchString(id) {
			v.errorf(f.key("team_ids").idx(i), "must be a 10-character Apple Team ID such as 2Y8XE5CQ94, got %q", id)
		}
	}
	for i, r := range vd.References {
		v.required(f.key("references").idx(i).key("title"), r.Title)
		v.url(f.key("references").idx(i).key("url"), r.URL)
	}
	codes := map[string]bool{}
	for i, j := range vd.Jurisdictions {
		jf := f.key("jurisdictions").idx(i)
		if codes[j.Code] {
			v.errorf(jf.key("code"), "jurisdiction %q is listed twice", j.Code)
		}
		codes[j.Code] = true
		v.jurisdiction(jf, &j)
	}
	if len(vd.Products) == 0 && vd.Match.empty() && len(vd.Publishers) == 0 {
		v.errorf(f.key("products"), "a vendor needs products, publishers or vendor-wide matchers")
	}
	v.match(f.key("match"), vd.ID+" (vendor-wide)", vd.Match)
	pids := map[string]bool{}
	for i, p := range vd.Products {
		pf := f.key("products").idx(i)
		v.id(pf.key("id"), p.ID)
		if pids[p.ID] {
			v.errorf(pf.key("id"), "product id %q is used twice in vendor %s", p.ID, vd.ID)
		}
		pids[p.ID] = true
		v.required(pf.key("name"), p.Name)
		if p.Match.empty() {
			v.errorf(pf.key("match"), "a product needs at least one matcher")
		}
		v.match(pf.key("match"), vd.ID+"/"+p.ID, p.Match)
	}
}

func kindList() string {
	return strings.Join([]string{string(KindProduct), string(KindRemnant), string(KindUpdatesCutOff),
		string(KindStaleSignatures), string(KindUpdatesAfterCutOff), string(KindUpdateTraffic), string(KindTool)}, ", ")
}

// remediationOSes are the OS names a remediation key may carry.
var remediationOSes = []string{"linux", "windows", "darwin"}

func (v *validator) id(f field, id string) {
	if !idPattern.MatchString(id) {
		v.errorf(f, "must be lower-case letters, digits and dashes, got %q", id)
	}
}

func (v *validator) url(f field, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.errorf(f, "must be an http or https URL, got %q", s)
	}
}

func (v *validator) date(f field, s string, required bool) {
	if s == "" && !required {
		return
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		v.errorf(f, "must be a date YYYY-MM-DD, got %q", s)
	}
}

func (v *validator) jurisdiction(f field, j *Jurisdiction) {
	if !codePattern.MatchString(j.Code) {
		v.errorf(f.key("code"), "must be an ISO 3166 alpha-2 code such as US, got %q", j.Code)
	}
	v.required(f.key("name"), j.Name)
	v.date(f.key("entity_list"), j.EntityList, false)
	v.date(f.key("sales_ban"), j.SalesBan, false)
	v.date(f.key("updates_cut_off"), j.UpdatesCutOff, false)
	for i, m := range j.Measures {
		mf := f.key("measures").idx(i)
		v.date(mf.key("date"), m.Date, true)
		v.required(mf.key("title"), m.Title)
		v.url(mf.key("url"), m.URL)
	}
}

func (v *validator) match(f field, owner string, m Match) {
	v.names(f.key("packages"), owner, "package", m.Packages)
	v.names(f.key("services"), owner, "service", m.Services)
	v.names(f.key("kernel_modules"), owner, "kernel module", m.KernelModules)
	for i, pm := range m.Processes {
		pf := f.key("processes").idx(i)
		if pm.Image == "" && pm.Path == "" {
			v.errorf(pf, "a process matcher needs an image, a path or both")
		}
		if pm.Image != "" {
			v.name(pf.key("image"), pm.Image)
		}
		if pm.Path != "" {
			v.pathPattern(pf.key("path"), pm.Path, true)
		}
	}
	for i, folder := range m.Folders {
		v.pathPattern(f.key("folders").idx(i), folder, false)
	}
	v.names(f.key("programs"), owner, "program", m.Programs)
	v.names(f.key("drivers"), owner, "driver", m.Drivers)
	v.names(f.key("bundle_ids"), owner, "bundle id", m.BundleIDs)
	v.names(f.key("signatures"), owner, "signature source", m.Signatures)
	for i, k := range m.RegistryKeys {
		v.registryKey(f.key("registry_keys").idx(i), k)
	}
}

func (v *validator) updates(f field, u Updates) {
	if u.MaxSignatureAgeDays < 0 {
		v.errorf(f.key("max_signature_age_days"), "must be a number of days, 0 or more (0 means %d), got %d", DefaultMaxSignatureAgeDays, u.MaxSignatureAgeDays)
	}
	for i, h := range u.Hosts {
		if err := checkHost(h); err != nil {
			v.errorf(f.key("hosts").idx(i), "%v", err)
		}
	}
	for i, p := range u.ManagedPorts {
		if p < 1 || p > 65535 {
			v.errorf(f.key("managed_ports").idx(i), "must be a TCP port 1-65535, got %d", p)
		}
	}
}

// registryKey checks a registry key pattern: a machine hive, then key
// names that may hold * and ?, one of them a literal of three characters
// or more (the index key).
func (v *validator) registryKey(f field, k string) {
	parts := strings.Split(k, `\`)
	if len(parts) < 3 || !strings.EqualFold(parts[0], "HKLM") ||
		(!strings.EqualFold(parts[1], "SOFTWARE") && !strings.EqualFold(parts[1], "SYSTEM")) {
		v.errorf(f, `registry key %q must start with HKLM\SOFTWARE\ or HKLM\SYSTEM\ and name a key below`, k)
		return
	}
	for _, p := range parts[2:] {
		if p == "" || p == "**" {
			v.errorf(f, "registry key %q has an empty or ** key name", k)
			return
		}
		if _, err := path.Match(p, ""); err != nil {
			v.errorf(f, "bad pattern %q: %v", k, err)
			return
		}
	}
	v.pathPattern(f, strings.ReplaceAll(k, `\`, "/"), false)
}

func (v *validator) names(f field, owner, what string, names []string) {
	for i, n := range names {
		nf := f.idx(i)
		if !v.name(nf, n) || strings.ContainsAny(n, globMetaRune) {
			continue
		}
		// Claims compare as matching does: "kesl.service" is service
		// "kesl", and module "a-b" is "a_b".
		key := what + " " + claimName(what, n)
		if other, dup := v.claimed[key]; dup {
			v.errorf(nf, "%s %q is already matched by %s", what, n, other)
			continue
		}
		v.claimed[key] = owner
	}
}

// claimName is the form in which a name of the given artefact type is
// matched.
func claimName(what, n string) string {
	switch what {
	case "service":
		return serviceName(n)
	case "kernel module":
		return moduleName(n)
	}
	return normalizeName(n)
}

// name checks one name or name pattern. Patterns need a literal prefix
// of two characters or more, so that none can match everything.
func (v *validator) name(f field, n string) bool {
	if strings.TrimSpace(n) == "" || n != strings.TrimSpace(n) {
		v.errorf(f, "empty name or surrounding spaces: %q", n)
		return false
	}
	meta := strings.IndexAny(n, globMetaRune)
	if meta < 0 {
		return true
	}
	if meta < 2 {
		v.errorf(f, "pattern %q needs at least two literal characters before its first wildcard", n)
		return false
	}
	if _, err := path.Match(n, ""); err != nil {
		v.errorf(f, "bad pattern %q: %v", n, err)
		return false
	}
	return true
}

// pathPattern checks a folder pattern (relative, fs.Glob syntax) or a
// process path pattern (which may be absolute and use "**").
func (v *validator) pathPattern(f field, p string, process bool) {
	rel := p
	if process {
		rel = strings.TrimPrefix(p, "/")
	} else if strings.HasPrefix(p, "/") {
		v.errorf(f, "folder %q must be relative to the scanned root (no leading /)", p)
		return
	}
	if rel == "" || path.Clean(rel) != rel || rel == "." || strings.HasPrefix(rel, "../") || rel == ".." {
		v.errorf(f, "path %q is not a clean path inside the root", p)
		return
	}
	anchor := ""
	for _, seg := range strings.Split(rel, "/") {
		if seg == "**" {
			if !process {
				v.errorf(f, "folder patterns cannot use **: %q", p)
				return
			}
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			v.errorf(f, "bad pattern %q: %v", p, err)
			return
		}
		if !strings.ContainsAny(seg, globMetaRune) && len(seg) > len(anchor) {
			anchor = seg
		}
	}
	if len(anchor) < 3 {
		v.errorf(f, "path pattern %q needs a literal folder name of three characters or more", p)
	}
}

// parseDate parses a validated date.
func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}
