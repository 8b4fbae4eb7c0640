// Package policy loads, validates and compiles banwatch policies, and turns
// a scan's inventory into findings. It does no I/O beyond reading the
// policy file.
//
// A policy is YAML (the built-in one, builtin.yaml, is the reference
// example): per vendor, the names it publishes under, its products and the
// artefacts that identify each (package, service, process, kernel module
// and folder matchers), the jurisdictions that restrict it with their dates
// and sources, and the severity and remediation of each kind of finding.
package policy

// Schema is the value of the policy's "schema" key.
const Schema = "banwatch.policy/v1"

// Policy is a policy file as written.
type Policy struct {
	Schema              string   `yaml:"schema"`
	Name                string   `yaml:"name"`
	Version             string   `yaml:"version"`
	Description         string   `yaml:"description,omitempty"`
	DefaultJurisdiction string   `yaml:"default_jurisdiction"`
	Vendors             []Vendor `yaml:"vendors"`
}

// Vendor is a software publisher whose products the policy looks for.
type Vendor struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Publishers are the names the vendor's packages and installers are
	// published under. A package whose maintainer or vendor is one of them
	// is the vendor's even when no product names it.
	Publishers []string `yaml:"publishers,omitempty"`
	// TeamIDs are the vendor's Apple Developer Team IDs: a macOS system
	// extension or kext signed with one is the vendor's.
	TeamIDs []string `yaml:"team_ids,omitempty"`
	// Severity and Remediation are keyed by finding kind. A remediation
	// key may name an OS as well ("product.windows"); it is used on that
	// OS instead of the plain kind's.
	Severity      map[string]Severity `yaml:"severity,omitempty"`
	Remediation   map[string]string   `yaml:"remediation,omitempty"`
	References    []Reference         `yaml:"references,omitempty"`
	Jurisdictions []Jurisdiction      `yaml:"jurisdictions,omitempty"`
	// Updates says how the vendor's products take updates: their update
	// hosts, the management ports that hand updates out, how old
	// signatures may be.
	Updates Updates `yaml:"updates,omitempty"`
	// Match holds vendor-wide artefacts that belong to no one product
	// (a shared log folder, an unknown folder under the vendor's tree).
	Match    Match     `yaml:"match,omitempty"`
	Products []Product `yaml:"products"`
}

// Updates describes a vendor's update channels.
type Updates struct {
	// MaxSignatureAgeDays: signatures older than this many days are
	// stale, in any jurisdiction. Zero means 7.
	MaxSignatureAgeDays int `yaml:"max_signature_age_days,omitempty"`
	// Hosts are update and reputation hosts: exact names, names with a
	// numeric range ("dnl-{00..19}.geo.kaspersky.com"), and patterns with
	// * that are only matched against names seen (hosts files), never
	// resolved.
	Hosts []string `yaml:"hosts,omitempty"`
	// ManagedPorts are TCP ports of management servers that distribute
	// updates (Kaspersky Security Center: 13000, 14000, 13111, 15111).
	ManagedPorts []int `yaml:"managed_ports,omitempty"`
}

// DefaultMaxSignatureAgeDays is the staleness limit when a policy sets
// none.
const DefaultMaxSignatureAgeDays = 7

// Reference is a source or guidance document.
type Reference struct {
	Title string `yaml:"title"`
	URL   string `yaml:"url"`
}

// Jurisdiction is what one jurisdiction decided about the vendor. Dates are
// YYYY-MM-DD and take effect at the start of the day.
type Jurisdiction struct {
	Code       string `yaml:"code"`
	Name       string `yaml:"name"`
	EntityList string `yaml:"entity_list,omitempty"`
	SalesBan   string `yaml:"sales_ban,omitempty"`
	// UpdatesCutOff is the first day on which the vendor may no longer
	// deliver signature or software updates there.
	UpdatesCutOff string    `yaml:"updates_cut_off,omitempty"`
	Measures      []Measure `yaml:"measures,omitempty"`
}

// Measure is one legal or official act, with its source.
type Measure struct {
	Date  string `yaml:"date"`
	Title string `yaml:"title"`
	URL   string `yaml:"url"`
}

// Product is one product of a vendor.
type Product struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Tool marks an on-demand tool (a removal or rescue utility) rather
	// than installed protection: found, it is a low "tool" note, never a
	// banned product or an update cut-off.
	Tool bool `yaml:"tool,omitempty"`
	// Secondary marks a product that rides along with the vendor's main
	// one (a management agent, a password manager): artefacts the vendor's
	// products share (drivers, services, folders) join another installed
	// product first.
	Secondary bool  `yaml:"secondary,omitempty"`
	Match     Match `yaml:"match"`
}

// Match lists the artefacts that identify a product. Names compare
// case-insensitively and exactly; a name may be a pattern with *, ? and
// [...] after a literal prefix of at least two characters ("AVP*").
type Match struct {
	Packages      []string       `yaml:"packages,omitempty"`
	Services      []string       `yaml:"services,omitempty"`
	Processes     []ProcessMatch `yaml:"processes,omitempty"`
	KernelModules []string       `yaml:"kernel_modules,omitempty"`
	// Folders are paths relative to the scanned root, in fs.Glob syntax
	// ("opt/kaspersky/kesl", "var/opt/kaspersky/*"). The scan looks up
	// exactly these; it never walks the disk.
	Folders []string `yaml:"folders,omitempty"`
	// Programs are display names in the Windows list of installed
	// programs (the Uninstall keys) and in the Windows Security Center.
	Programs []string `yaml:"programs,omitempty"`
	// Drivers are Windows kernel driver names. A driver also matches by
	// its image file, up to the first dot, so the versioned
	// klif.KES-21-9.sys is "klif".
	Drivers []string `yaml:"drivers,omitempty"`
	// BundleIDs are macOS identifiers of applications, package receipts
	// and extensions ("com.kaspersky.kav", "com.kaspersky.*").
	BundleIDs []string `yaml:"bundle_ids,omitempty"`
	// Signatures names the sources of signature dates that belong to the
	// product ("kesl-control", "avstate"), as the signatures detector
	// calls them.
	Signatures []string `yaml:"signatures,omitempty"`
	// RegistryKeys are Windows registry keys, looked up like folders:
	// HKLM\SOFTWARE\... or HKLM\SYSTEM\..., with * and ? within a key name.
	RegistryKeys []string `yaml:"registry_keys,omitempty"`
}

// ProcessMatch identifies a process by its image name, its image path, or
// both. Path is a pattern over the absolute image path in which "**"
// stands for any number of folders ("**/opt/kaspersky/kesl/**").
type ProcessMatch struct {
	Image string `yaml:"image,omitempty"`
	Path  string `yaml:"path,omitempty"`
}

func (m Match) empty() bool {
	return len(m.Packages)+len(m.Services)+len(m.Processes)+len(m.KernelModules)+len(m.Folders)+
		len(m.Programs)+len(m.Drivers)+len(m.BundleIDs)+len(m.RegistryKeys)+len(m.Signatures) == 0
}
