package policy

import (
	"path"
	"slices"
	"strings"

	"github.com/banwatch/banwatch/detectors"
)

// Compiled is a validated policy ready to evaluate. It is immutable and
// safe for concurrent use.
type Compiled struct {
	policy *Policy
	source string
	sha256 string

	packages, services, modules, images *nameIndex
	programs, drivers, bundleIDs        *nameIndex
	publishers                          map[string]int // normalized name or team id -> vendor
	signatures                          *nameIndex
	processPaths, folders, registryKeys *pathIndex
	folderPatterns, registryKeyPatterns []string
	hosts                               hostIndex
	updateHosts                         []string
	managedPorts                        []int
}

// Policy returns the policy as loaded (with defaults not yet applied).
func (c *Compiled) Policy() *Policy { return c.policy }

// Source names where the policy came from: "builtin" or its file.
func (c *Compiled) Source() string { return c.source }

// SHA256 is the hex SHA-256 of the policy's bytes.
func (c *Compiled) SHA256() string { return c.sha256 }

// FolderPatterns returns the folder patterns to look up on a scanned root.
func (c *Compiled) FolderPatterns() []string { return append([]string(nil), c.folderPatterns...) }

// UpdateHosts returns the update hosts of all vendors, ranges expanded,
// for the scan to resolve and look up.
func (c *Compiled) UpdateHosts() []string { return append([]string(nil), c.updateHosts...) }

// ManagedPorts returns the management-server ports of all vendors.
func (c *Compiled) ManagedPorts() []int { return append([]int(nil), c.managedPorts...) }

func (c *Compiled) addUpdates(vendor int, u Updates) {
	for _, h := range u.Hosts {
		names, err := expandHost(h)
		if err != nil {
			continue // validation has reported it
		}
		for _, n := range names {
			if _, dup := c.hosts.vendor(n); !dup {
				c.updateHosts = append(c.updateHosts, n)
			}
		}
		c.hosts.add(vendor, names)
	}
	for _, p := range u.ManagedPorts {
		if !slices.Contains(c.managedPorts, p) {
			c.managedPorts = append(c.managedPorts, p)
		}
	}
}

// RegistryKeyPatterns returns the registry key patterns to look up on a
// Windows target.
func (c *Compiled) RegistryKeyPatterns() []string {
	return append([]string(nil), c.registryKeyPatterns...)
}

// Jurisdictions returns the jurisdiction codes any vendor lists.
func (c *Compiled) Jurisdictions() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range c.policy.Vendors {
		for _, j := range v.Jurisdictions {
			if !seen[j.Code] {
				seen[j.Code] = true
				out = append(out, j.Code)
			}
		}
	}
	return out
}

func compile(p *Policy, source, sum string) *Compiled {
	c := &Compiled{
		policy: p, source: source, sha256: sum,
		packages: newNameIndex(), services: newNameIndex(), modules: newNameIndex(), images: newNameIndex(),
		programs: newNameIndex(), drivers: newNameIndex(), bundleIDs: newNameIndex(), signatures: newNameIndex(),
		publishers:   map[string]int{},
		processPaths: newPathIndex(), folders: newPathIndex(), registryKeys: newPathIndex(),
	}
	seen := map[string]bool{}
	for vi, v := range p.Vendors {
		for _, pub := range v.Publishers {
			c.publishers[normalizePublisher(pub)] = vi
		}
		for _, id := range v.TeamIDs {
			c.publishers[normalizePublisher(id)] = vi
		}
		c.addUpdates(vi, v.Updates)
		c.add(target{vi, -1}, v.Match, seen)
		for pi, pr := range v.Products {
			c.add(target{vi, pi}, pr.Match, seen)
		}
	}
	return c
}

func (c *Compiled) add(t target, m Match, seen map[string]bool) {
	for _, n := range m.Packages {
		c.packages.add(n, rule{target: t})
	}
	for _, n := range m.Services {
		c.services.add(serviceName(n), rule{target: t})
	}
	for _, n := range m.KernelModules {
		c.modules.add(moduleName(n), rule{target: t})
	}
	for _, pm := range m.Processes {
		switch {
		case pm.Image == "":
			c.processPaths.add(pm.Path, rule{target: t})
		case pm.Path == "":
			c.images.add(pm.Image, rule{target: t})
		default:
			c.images.add(pm.Image, rule{target: t, path: compilePath(pm.Path)})
		}
	}
	for _, f := range m.Folders {
		c.folders.add(f, rule{target: t})
		if !seen[f] {
			seen[f] = true
			c.folderPatterns = append(c.folderPatterns, f)
		}
	}
	for _, n := range m.Programs {
		c.programs.add(n, rule{target: t})
	}
	for _, n := range m.Drivers {
		c.drivers.add(n, rule{target: t})
	}
	for _, n := range m.BundleIDs {
		c.bundleIDs.add(n, rule{target: t})
	}
	for _, n := range m.Signatures {
		c.signatures.add(n, rule{target: t})
	}
	for _, k := range m.RegistryKeys {
		c.registryKeys.add(k, rule{target: t})
		if !seen["registry:"+k] {
			seen["registry:"+k] = true
			c.registryKeyPatterns = append(c.registryKeyPatterns, k)
		}
	}
}

// driverName is a driver's name as its image file gives it: the base
// name up to the first dot, so that the versioned klif.KES-21-9.sys and
// K4W-21-25\klif.sys are both "klif".
func driverName(image string) string {
	base := path.Base(strings.ReplaceAll(image, `\`, "/"))
	name, _, _ := strings.Cut(base, ".")
	return name
}

// serviceName drops the unit type, so "kesl" matches "kesl.service" and
// the init script "kesl".
func serviceName(n string) string { return strings.TrimSuffix(normalizeName(n), ".service") }

// moduleName folds "-" to "_": the kernel treats them alike in module
// names, and /proc/modules always shows "_".
func moduleName(n string) string { return strings.ReplaceAll(normalizeName(n), "-", "_") }

// match finds the rule an item falls under. Product rules win over the
// vendor-wide catch-all, and earlier products over later ones. An item no
// name rule claims may still be the vendor's by its publisher or signing
// team.
func (c *Compiled) match(it *detectors.Item) (target, bool) {
	var rules []rule
	switch it.Kind {
	case detectors.KindPackage:
		rules = append(c.packages.lookup(it.Name), c.bundleRules(it)...)
	case detectors.KindProgram:
		rules = c.programs.lookup(it.Name)
	case detectors.KindApplication:
		rules = c.bundleRules(it)
	case detectors.KindSecurityProduct:
		rules = c.programs.lookup(it.Name)
	case detectors.KindService:
		rules = c.services.lookup(serviceName(it.Name))
	case detectors.KindDriver:
		rules = append(c.drivers.lookup(it.Name), c.bundleRules(it)...)
		if it.Exec != "" {
			rules = append(rules, c.drivers.lookup(driverName(it.Exec))...)
		}
	case detectors.KindKernelModule:
		rules = c.modules.lookup(moduleName(it.Name))
	case detectors.KindProcess:
		rules = c.processRules(it)
	case detectors.KindFolder:
		// Only folders: a lone file where a product would live (an ISO
		// or a downloaded tool under opt/kaspersky) is not an install.
		rules = c.folders.lookup(it.Name)
	case detectors.KindRegistryKey:
		rules = c.registryKeys.lookup(it.Name)
	case detectors.KindSignatures:
		rules = c.signatures.lookup(it.Name)
	case detectors.KindConnection, detectors.KindHostsEntry, detectors.KindProbe:
		// By the update host; a connection known only by its port is
		// attributed through its process (see group).
		if vi, ok := c.hosts.vendor(it.Name); ok && it.Name != "" {
			rules = []rule{{target: target{vi, -1}}}
		}
	}
	if len(rules) == 0 && it.Publisher != "" {
		var buf [128]byte
		if vi, ok := c.publishers[string(appendPublisher(buf[:0], it.Publisher))]; ok {
			rules = []rule{{target: target{vi, -1}}}
		}
	}
	return best(rules)
}

func (c *Compiled) bundleRules(it *detectors.Item) []rule {
	if it.BundleID == "" {
		return nil
	}
	return c.bundleIDs.lookup(it.BundleID)
}

// processRules matches a process by image name (the image file's base
// name, else the process name) with its path constraint, and by path.
func (c *Compiled) processRules(it *detectors.Item) []rule {
	names := []string{it.Name}
	if it.Exec != "" {
		base := path.Base(strings.ReplaceAll(it.Exec, `\`, "/"))
		if !strings.EqualFold(base, it.Name) {
			names = append(names, base)
		}
	}
	var out []rule
	for _, n := range names {
		for _, r := range c.images.lookup(n) {
			if r.path == nil || (it.Exec != "" && r.path.match(it.Exec)) {
				out = append(out, r)
			}
		}
	}
	if it.Exec != "" {
		out = append(out, c.processPaths.lookup(it.Exec)...)
	}
	return out
}

func best(rules []rule) (target, bool) {
	if len(rules) == 0 {
		return target{}, false
	}
	b := rules[0].target
	for _, r := range rules[1:] {
		if r.target.less(b) {
			b = r.target
		}
	}
	return b, true
}

// Effective returns a copy of the policy with defaults filled in, as it
// is applied.
func (c *Compiled) Effective() *Policy {
	p := *c.policy
	p.Vendors = make([]Vendor, len(c.policy.Vendors))
	for i, v := range c.policy.Vendors {
		sev := make(map[string]Severity, len(kinds))
		for k, s := range kinds {
			sev[string(k)] = s
		}
		for k, s := range v.Severity {
			sev[k] = s
		}
		v.Severity = sev
		p.Vendors[i] = v
	}
	return &p
}
