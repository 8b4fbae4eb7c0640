package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/banwatch/banwatch/detectors"
)

func TestNameIndex(t *testing.T) {
	ix := newNameIndex()
	names := []string{
		"Kesl",      // 0: exact, mixed case
		"AVP*",      // 1: prefix of 3
		"kav4fs_*",  // 2: prefix of 7
		"ab?",       // 3: prefix of 2, the shortest allowed
		"kesl[0-9]", // 4: prefix of 4
		"avpx",      // 5: exact, also matched by pattern 1
		"kesl",      // 6: a second rule for the same name
		"Ω-ΣΥΝ*",    // 7: non-ASCII prefix, folded
	}
	for i, n := range names {
		ix.add(n, rule{target: target{0, i}})
	}
	// Prefixes are cut in bytes of the folded name: "ω-συν" is 9.
	if want := []int{2, 3, 4, 7, 9}; !slices.Equal(ix.lens, want) {
		t.Errorf("prefix lengths = %v, want %v", ix.lens, want)
	}
	tests := []struct {
		name string
		want []int // product indexes of the rules, in order
	}{
		{"kesl", []int{0, 6}},
		{"KESL", []int{0, 6}},
		{"  Kesl\t", []int{0, 6}},
		{"kesl-gui", nil},
		{"kes", nil},
		{"avp", []int{1}}, // * matches nothing too
		{"AVPUI", []int{1}},
		{"av", nil}, // shorter than the prefix
		{"avpx", []int{5, 1}},
		{"kav4fs_oas", []int{2}},
		{"KAV4FS_OAS", []int{2}},
		{"kav4fs-oas", nil}, // only kernel modules fold - to _
		{"kav4fs_", []int{2}},
		{"abc", []int{3}},
		{"ab", nil},
		{"abcd", nil},
		{"kesl1", []int{4}},
		{"kesl10", nil},
		{"keslx", nil},
		{"ω-σύν-1", nil},
		{"ω-συν-1", []int{7}},
		{"Ω-ΣΥΝ", []int{7}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []int
		for _, r := range ix.lookup(tt.name) {
			got = append(got, r.target.product)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("lookup(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A look-up that adds pattern rules must not write into the slice of
	// exact rules the index holds.
	ix.lookup("avpx")
	ix.lookup("avpx")
	if got := ix.exact["avpx"]; len(got) != 1 || got[0].target.product != 5 {
		t.Errorf("exact rules for avpx = %v after look-ups", got)
	}
}

func TestPathPattern(t *testing.T) {
	tests := []struct {
		pattern string
		anchor  string
		path    string
		want    bool
	}{
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/opt/kaspersky/kesl/bin/kesl", true},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/opt/kaspersky/kesl", true}, // ** may be no folder
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/tmp/x/opt/kaspersky/kesl/libexec/kesl", true},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/a/b/c/d/opt/kaspersky/kesl/a/b/c/d", true},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/OPT/Kaspersky/KESL/Bin/KESL", true},
		{"**/opt/kaspersky/kesl/**", "kaspersky", `C:\opt\kaspersky\kesl\kesl.exe`, true},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/opt/kaspersky/kesl2/bin/kesl", false},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/opt/kaspersky-kesl/bin/kesl", false},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/opt/kaspersky/bin/kesl", false},
		{"**/opt/kaspersky/kesl/**", "kaspersky", "/usr/local/bin/kesl", false},
		{"/opt/acme/**", "acme", "/opt/acme/widget/bin/w", true},
		{"/opt/acme/**", "acme", "/srv/opt/acme/widget", false}, // anchored at the root
		{"opt/**/bin/kesl", "kesl", "/opt/bin/kesl", true},
		{"opt/**/bin/kesl", "kesl", "/opt/a/b/bin/kesl", true},
		{"opt/**/bin/kesl", "kesl", "/opt/a/b/bin/kesl/x", false},
		{"**/**/kesl", "kesl", "/kesl", true},
		{"**/Kaspersky Lab/**", "kaspersky lab", `C:\Program Files (x86)\Kaspersky Lab\KES\avp.exe`, true},
		{"**/Kaspersky Lab/**", "kaspersky lab", `C:\Program Files\Kaspersky Labs\avp.exe`, false},
		{"opt/kaspersky/*", "kaspersky", "opt/kaspersky/kesl", true},
		{"opt/kaspersky/*", "kaspersky", "opt/kaspersky", false},
		{"opt/kaspersky/*", "kaspersky", "opt/kaspersky/kesl/sub", false},
		{"var/opt/kaspersky/Kaspersky [0-9]*", "kaspersky", "var/opt/kaspersky/Kaspersky 21.3", true},
		{"var/opt/kaspersky/Kaspersky [0-9]*", "kaspersky", "var/opt/kaspersky/Kaspersky x", false},
		{"home/*/kaspersky/Kaspersky [0-9]*", "kaspersky", "home/alice/kaspersky/Kaspersky 11", true},
		{"home/*/kaspersky/Kaspersky [0-9]*", "kaspersky", "home/kaspersky/Kaspersky 11", false},
	}
	for _, tt := range tests {
		pp := compilePath(tt.pattern)
		if got := pp.anchor(); got != tt.anchor {
			t.Errorf("anchor(%q) = %q, want %q", tt.pattern, got, tt.anchor)
		}
		if got := pp.match(tt.path); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
		ix := newPathIndex()
		ix.add(tt.pattern, rule{target: target{0, 3}})
		if got := len(ix.lookup(tt.path)); got != map[bool]int{true: 1}[tt.want] {
			t.Errorf("pathIndex{%q}.lookup(%q) = %d rules, want match %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestPathIndex(t *testing.T) {
	ix := newPathIndex()
	patterns := []string{
		"**/opt/kaspersky/**",            // 0
		"**/opt/kaspersky/kesl/**",       // 1
		"**/opt/kaspersky/klnagent64/**", // 2: keyed by klnagent64
		"**/kaspersky/**",                // 3
	}
	for i, p := range patterns {
		ix.add(p, rule{target: target{0, i}})
	}
	if len(ix.byAnchor["kaspersky"]) != 3 || len(ix.byAnchor["klnagent64"]) != 1 {
		t.Errorf("anchors = %v", ix.byAnchor)
	}
	tests := []struct {
		path string
		want []int
	}{
		{"/opt/kaspersky/kesl/bin/kesl", []int{0, 1, 3}},
		{"/opt/kaspersky/klnagent64/sbin/klnagent", []int{0, 3, 2}},
		{"/kaspersky/kaspersky/kaspersky", []int{3}}, // each rule once
		{"/opt/Kaspersky", []int{0, 3}},
		{"/usr/bin/kesl", nil},
		{"", nil},
		{"/", nil},
	}
	for _, tt := range tests {
		var got []int
		for _, r := range ix.lookup(tt.path) {
			got = append(got, r.target.product)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("lookup(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestNormalizePublisher(t *testing.T) {
	tests := []struct{ in, want string }{
		{"AO Kaspersky Lab", "ao kaspersky lab"},
		{`AO "Kaspersky Lab"`, "ao kaspersky lab"},
		{"  kaspersky   lab. ", "kaspersky lab"},
		{"АО «Лаборатория Касперского»", "ао лаборатория касперского"},
		{"Kaspersky Lab, JSC", "kaspersky lab jsc"},
		{"«»", ""},
	}
	for _, tt := range tests {
		if got := normalizePublisher(tt.in); got != tt.want {
			t.Errorf("normalizePublisher(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// matchedAs names what the built-in policy matches an item as: a product
// id, "kaspersky (vendor-wide)", or "" for nothing.
func matchedAs(c *Compiled, it detectors.Item) string {
	t, ok := c.match(&it)
	switch {
	case !ok:
		return ""
	case t.product < 0:
		return c.policy.Vendors[t.vendor].ID + " (vendor-wide)"
	}
	return c.policy.Vendors[t.vendor].Products[t.product].ID
}

func pkg(name, publisher string) detectors.Item {
	return detectors.Item{Kind: detectors.KindPackage, Name: name, Publisher: publisher, Version: "1.0", State: detectors.StateInstalled}
}

func proc(name, exec string) detectors.Item {
	return detectors.Item{Kind: detectors.KindProcess, Name: name, Exec: exec, State: detectors.StateRunning, Process: &detectors.Process{PID: 100}}
}

func unit(name string) detectors.Item {
	return detectors.Item{Kind: detectors.KindService, Name: name, State: detectors.StateEnabled, Exec: "/opt/x/bin/x"}
}

func module(name string) detectors.Item {
	return detectors.Item{Kind: detectors.KindKernelModule, Name: name, State: detectors.StateLoaded}
}

func folder(name string) detectors.Item {
	return detectors.Item{Kind: detectors.KindFolder, Name: name, State: detectors.StatePresent}
}

func TestBuiltinMatch(t *testing.T) {
	const vendorWide = "kaspersky (vendor-wide)"
	describe := func(it detectors.Item) detectors.Item {
		it.Detail = "Description: client for Kaspersky Security Center and kesl status checks"
		return it
	}
	tests := []struct {
		item detectors.Item
		want string
	}{
		// Look-alike package names: only names and publishers count, never
		// a description.
		{pkg("klavaro", "Debian QA Group"), ""},
		{pkg("kleopatra", "Debian Qt/KDE Maintainers"), ""},
		{pkg("klibc", ""), ""},
		{pkg("klibc-utils", ""), ""},
		{pkg("avahi-daemon", "Utopia Maintenance Team"), ""},
		{pkg("avr-libc", ""), ""},
		{pkg("clamav", "Debian ClamAV Maintainers"), ""},
		{pkg("clamav-daemon", "Debian ClamAV Maintainers"), ""},
		{pkg("kdeconnect", ""), ""},
		{pkg("kexec-tools", ""), ""},
		{describe(pkg("nagios-nrpe-server", "Debian Nagios Maintainer Group")), ""},
		{pkg("kics", "Checkmarx"), ""},
		{pkg("kess", ""), ""},
		{pkg("kesl2", ""), ""},
		{pkg("kaspersky", ""), ""},
		// Products' packages, in any case.
		{pkg("kesl", ""), "kesl"},
		{pkg("KESL-GUI", ""), "kesl"},
		{pkg("klnagent64", ""), "klnagent"},
		{pkg("ksc-web-console", ""), "ksc"},
		// A package known only by its publisher.
		{pkg("kaspersky24", "AO Kaspersky Lab"), vendorWide},
		{pkg("kaspersky24", `AO "Kaspersky Lab"`), vendorWide},
		{pkg("kaspersky24", "Kaspersky Lab ZAO"), vendorWide},
		{pkg("kaspersky24", "АО «Лаборатория Касперского»"), vendorWide},
		{pkg("kaspersky24", "kaspersky lab."), vendorWide},
		{pkg("kaspersky24", "KASPERSKY"), vendorWide},
		{pkg("kaspersky24", "Kaspersky Lab Fan Club"), ""},
		{pkg("kaspersky24", "Kasperski Lab"), ""},
		{pkg("kaspersky24", "ClamAV Team"), ""},
		// A product's package name wins over its publisher.
		{pkg("kesl", "AO Kaspersky Lab"), "kesl"},
		// Processes: by path, never by a bare name.
		{proc("kesl", "/usr/local/bin/kesl"), ""},
		{proc("kesl", ""), ""},
		{proc("klnagent", "/usr/sbin/klnagent"), ""},
		{proc("kesl", "/tmp/x/opt/kaspersky/kesl/libexec/kesl"), "kesl"},
		{proc("klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent"), "klnagent"},
		{proc("klnagent", "/opt/kaspersky/klnagent/sbin/klnagent"), "klnagent"},
		{proc("kavehost", "/opt/kaspersky/ScanEngine/bin/kavehost"), "scan-engine"},
		{proc("thing", "/opt/kaspersky/newthing/bin/thing"), vendorWide},
		{proc("kesl", "/opt/kasperskyx/kesl/bin/kesl"), ""},
		// Services: systemd units and SysV scripts.
		{unit("kesl.service"), "kesl"},
		{unit("kesl-supervisor"), "kesl"},
		{unit("KSCWebConsole.service"), "ksc"},
		{unit("kesl.socket"), ""},
		{unit("kesl-gui.service"), ""},
		{unit("kdeconnect.service"), ""},
		// Kernel modules: "-" and "_" are the same.
		{module("kav4fs-oas"), "kav4fs"},
		{module("kav4fs_oas"), "kav4fs"},
		{module("KAV4WS_REDIRFS"), "kav4ws"},
		{module("kav4fsoas"), ""},
		{module("kvm_amd"), ""},
		// Folders.
		{folder("opt/kaspersky/kesl"), "kesl"},
		{folder("var/opt/kaspersky/kesl"), "kesl"},
		{folder("OPT/Kaspersky/KESL"), "kesl"},
		{folder("opt/kaspersky/unknownthing"), vendorWide},
		{folder("etc/opt/kaspersky"), vendorWide},
		{folder("var/log/kaspersky"), vendorWide},
		{folder("var/opt/kaspersky/Kaspersky 21.3"), "kaspersky-for-linux"},
		{folder("home/alice/kaspersky/Kaspersky 11"), "kaspersky-for-linux"},
		{folder("opt/kaspersky"), ""},
		{folder("opt/kaspersky/kesl/bin"), ""},
		{folder("opt/UltraAV"), ""},
		{folder("opt/ultraav"), ""},
		{detectors.Item{Kind: detectors.KindFile, Name: "opt/kaspersky/krd.iso", State: detectors.StatePresent}, ""},
		{detectors.Item{Kind: detectors.KindFile, Name: "opt/kaspersky/kesl", State: detectors.StatePresent}, ""},
		{detectors.Item{Kind: "unknown", Name: "kesl"}, ""},
	}
	c := Builtin()
	var none []detectors.Item
	for _, tt := range tests {
		if got := matchedAs(c, tt.item); got != tt.want {
			t.Errorf("%s %q (publisher %q, exec %q) matched as %q, want %q",
				tt.item.Kind, tt.item.Name, tt.item.Publisher, tt.item.Exec, got, tt.want)
		}
		if tt.want == "" {
			none = append(none, tt.item)
		}
	}
	// Items that match nothing make no finding, together or alone.
	asOf := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := c.Evaluate(none, Options{AsOf: asOf, HostID: "h"}); len(got) != 0 {
		t.Errorf("Evaluate(look-alikes) = %d findings, first %+v", len(got), got[0])
	}
}

// TestBuiltinMatchWindowsMac checks the Windows and macOS matchers of the
// built-in policy: display names as products ship them, driver files with
// version suffixes, bundle ids, and look-alikes that must not match.
func TestBuiltinMatchWindowsMac(t *testing.T) {
	const vendorWide = "kaspersky (vendor-wide)"
	program := func(name, publisher string) detectors.Item {
		return detectors.Item{Kind: detectors.KindProgram, Name: name, Publisher: publisher, State: detectors.StateInstalled}
	}
	driver := func(name, image string) detectors.Item {
		return detectors.Item{Kind: detectors.KindDriver, Name: name, Exec: image, State: detectors.StateEnabled}
	}
	bundle := func(kind detectors.Kind, id, team string) detectors.Item {
		return detectors.Item{Kind: kind, Name: id, BundleID: id, Publisher: team, State: detectors.StateInstalled}
	}
	tests := []struct {
		item detectors.Item
		want string
	}{
		{program("Kaspersky Endpoint Security for Windows", "AO Kaspersky Lab"), "kes-windows"},
		{program("Kaspersky Endpoint Security 10 for Windows", "Kaspersky Lab"), "kes-windows"},
		{program("Kaspersky Security Center Network Agent", "Kaspersky"), "klnagent"},
		{program("Kaspersky Security Center 10 Network Agent", "Kaspersky Lab"), "klnagent"},
		{program("Kaspersky Security Center 14.2 Administration Server", "Kaspersky"), "ksc-windows"},
		{program("Kaspersky Security Center 13.2", "Kaspersky"), "ksc-windows"},
		{program("Kaspersky Security Center Web Console", "Kaspersky"), "ksc-windows"},
		{program("Kaspersky Security 10.1.2 for Windows Server", "AO Kaspersky Lab"), "ksws"},
		{program("Kaspersky Security for Windows Server", "AO Kaspersky Lab"), "ksws"},
		{program("Kaspersky Anti-Virus 8.0 for Windows Servers Enterprise Edition", "Kaspersky Lab"), "ksws"},
		{program("Kaspersky Anti-Virus", "Kaspersky Lab"), "kav"},
		{program("Kaspersky Total Security", "АО «Лаборатория Касперского»"), "kts"},
		{program("Kaspersky Security Cloud - Free", "Kaspersky"), "kscloud"},
		{program("Kaspersky Plus", "Kaspersky"), "kaspersky-home"},
		{program("Kaspersky", "Kaspersky"), "kaspersky-home"},
		{program("Kaspersky Security for Virtualization 6.2 Light Agent", "Kaspersky"), "ksvla"},
		{program("Kaspersky Virus Removal Tool", "Kaspersky"), "kvrt"},
		{program("Kaspersky Anti-Ransomware Tool for Business", "AO Kaspersky Lab"), vendorWide},
		{program("KasperTech Backup", "Kasper Technologies GmbH"), ""},
		{program("UltraAV", "Pango GmbH"), ""},
		{program("Kaspersky Lab Fan Page Helper", "Some Fan"), ""},
		{driver("klif", `\SystemRoot\System32\DRIVERS\klif.KES-21-9.sys`), vendorWide},
		{driver("KLIF", `system32\DRIVERS\K4W-21-25\klif.sys`), vendorWide},
		{driver("klupd_KES-21-9_arkmon", `system32\DRIVERS\klupd_KES-21-9_arkmon.sys`), vendorWide},
		{driver("kl_renamed", `system32\DRIVERS\klbackupflt.KES-21-9.sys`), vendorWide},
		{driver("klim", `system32\drivers\klim.sys`), ""},
		{driver("tcpip", `System32\drivers\tcpip.sys`), ""},
		{unit("AVP21.3"), vendorWide},
		{unit("AVP.KES.12.6.0"), vendorWide},
		{unit("KAVFSSLP"), vendorWide},
		{unit("klnagent"), "klnagent"},
		{unit("com.kaspersky.kav"), "kaspersky-mac"},
		{unit("com.kaspersky.other"), vendorWide},
		{unit("com.google.keystone.daemon"), ""},
		{proc("avp.exe", `C:\Program Files (x86)\Kaspersky Lab\Kaspersky Total Security 21.3\avp.exe`), vendorWide},
		{proc("AvP.exe", `D:\Games\Aliens vs Predator\AvP.exe`), ""},
		{proc("klnagent.exe", `C:\Program Files (x86)\Kaspersky Lab\NetworkAgent\klnagent.exe`), "klnagent"},
		{proc("KVRT.exe", `C:\Users\bob\Downloads\KVRT.exe`), "kvrt"},
		{bundle(detectors.KindApplication, "com.kaspersky.kav", ""), "kaspersky-mac"},
		{bundle(detectors.KindApplication, "com.kaspersky.kav.downloader", ""), "kaspersky-downloader-mac"},
		{bundle(detectors.KindApplication, "com.kaspersky.kes.mac", ""), "kaspersky-mac"},
		{bundle(detectors.KindPackage, "com.kaspersky.kav.core", ""), "kaspersky-mac"},
		{bundle(detectors.KindDriver, "com.kaspersky.kav.sysext", "2Y8XE5CQ94"), "kaspersky-mac"},
		{bundle(detectors.KindDriver, "com.example.renamed", "2Y8XE5CQ94"), vendorWide},
		{bundle(detectors.KindApplication, "com.kasperskyfan.app", ""), ""},
		{bundle(detectors.KindApplication, "com.apple.Safari", ""), ""},
		{detectors.Item{Kind: detectors.KindRegistryKey, Name: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab`}, vendorWide},
		{detectors.Item{Kind: detectors.KindRegistryKey, Name: `HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState`}, "klnagent"},
		{detectors.Item{Kind: detectors.KindRegistryKey, Name: `HKLM\SOFTWARE\KasperskyLabX`}, ""},
		{detectors.Item{Kind: detectors.KindCertificate, Name: "Kaspersky Anti-Virus Personal Root Certificate", Publisher: "AO Kaspersky Lab"}, vendorWide},
		{detectors.Item{Kind: detectors.KindSecurityProduct, Name: "Kaspersky Endpoint Security for Windows"}, "kes-windows"},
		{detectors.Item{Kind: detectors.KindSecurityProduct, Name: "Windows Defender"}, ""},
		{folder("Program Files (x86)/Kaspersky Lab/KES.12.6.0"), vendorWide},
		{folder("ProgramData/Kaspersky Lab/AVP21.3/Bases"), vendorWide},
		{folder("Library/Application Support/Kaspersky Lab"), vendorWide},
		{folder("Program Files/UltraAV"), ""},
	}
	c := Builtin()
	for _, tt := range tests {
		if got := matchedAs(c, tt.item); got != tt.want {
			t.Errorf("%s %q (publisher %q, exec %q) matched as %q, want %q",
				tt.item.Kind, tt.item.Name, tt.item.Publisher, tt.item.Exec, got, tt.want)
		}
	}
}
