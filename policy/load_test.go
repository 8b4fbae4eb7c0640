package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// doc joins lines into a YAML document; line n of the document is
// argument n, so expected line numbers can be read off the test.
func doc(lines ...string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

// head is lines 1-7 of most test policies: a valid top and the start of
// vendor "acme".
var head = []string{
	"schema: banwatch.policy/v1", // 1
	"name: test",                 // 2
	`version: "1"`,               // 3
	"default_jurisdiction: US",   // 4
	"vendors:",                   // 5
	"  - id: acme",               // 6
	"    name: Acme",             // 7
}

// withHead is head followed by lines 8 and on.
func withHead(lines ...string) []byte {
	return doc(append(slices.Clone(head), lines...)...)
}

// want is one expected problem: its line, its field path and a part of
// its message.
type want struct {
	line  int
	field string
	msg   string
}

// checkProblems asserts that err is an *Error holding exactly the wanted
// problems, in order, all naming file.
func checkProblems(t *testing.T, err error, file string, wants []want) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want *policy.Error", err, err)
	}
	got := make([]string, len(pe.Problems))
	for i, p := range pe.Problems {
		got[i] = p.String()
	}
	if len(pe.Problems) != len(wants) {
		t.Fatalf("%d problems, want %d:\n%s", len(pe.Problems), len(wants), strings.Join(got, "\n"))
	}
	for i, w := range wants {
		p := pe.Problems[i]
		if p.File != file || p.Line != w.line || p.Field != w.field || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d = %q (line %d, field %q),\n want line %d, field %q, message containing %q",
				i, p.String(), p.Line, p.Field, w.line, w.field, w.msg)
		}
	}
	if err.Error() != strings.Join(got, "\n") {
		t.Errorf("Error() = %q, want the problems one a line", err.Error())
	}
}

func TestBuiltin(t *testing.T) {
	c := Builtin() // panics if the embedded policy is invalid
	if c.Source() != BuiltinName {
		t.Errorf("Source() = %q, want %q", c.Source(), BuiltinName)
	}
	sum := sha256.Sum256(BuiltinSource())
	if c.SHA256() != hex.EncodeToString(sum[:]) {
		t.Errorf("SHA256() = %s, want the hash of BuiltinSource()", c.SHA256())
	}
	p := c.Policy()
	if p.Schema != Schema || p.Name != "builtin" || p.Version == "" || p.DefaultJurisdiction != "US" {
		t.Errorf("policy header = %q %q %q %q", p.Schema, p.Name, p.Version, p.DefaultJurisdiction)
	}
	if len(p.Vendors) != 1 || p.Vendors[0].ID != "kaspersky" {
		t.Fatalf("vendors = %d, first %+v; want kaspersky alone", len(p.Vendors), p.Vendors)
	}
	var ids []string
	for _, pr := range p.Vendors[0].Products {
		ids = append(ids, pr.ID)
	}
	wantIDs := []string{"kesl", "klnagent", "ksc", "kics", "kess", "kav4fs", "kav4ws", "kav4proxy", "kaspersky-for-linux", "scan-engine",
		"kes-windows", "ksc-windows", "ksws", "kess-windows", "kea", "ksvla", "kav", "kis", "kts", "kfree", "kscloud", "ksos",
		"kaspersky-home", "kpm", "ksk", "kvpn", "kvrt", "tdsskiller", "kavremover", "kaspersky-downloader-mac", "kaspersky-mac"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("product ids = %q, want %q", ids, wantIDs)
	}
	if got, want := c.Jurisdictions(), []string{"US", "DE", "LT", "CA"}; !slices.Equal(got, want) {
		t.Errorf("Jurisdictions() = %q, want %q", got, want)
	}
	folders := c.FolderPatterns()
	if len(folders) != 34 || folders[0] != "opt/kaspersky/*" || !slices.Contains(folders, "opt/kaspersky/kesl") ||
		!slices.Contains(folders, "ProgramData/Kaspersky Lab/*/Bases") {
		t.Errorf("FolderPatterns() = %q, want the 34 distinct folders, vendor-wide first", folders)
	}
	keys := c.RegistryKeyPatterns()
	if len(keys) != 8 || keys[0] != `HKLM\SOFTWARE\KasperskyLab` {
		t.Errorf("RegistryKeyPatterns() = %q, want the 8 distinct keys, vendor-wide first", keys)
	}
	folders[0] = "changed"
	if c.FolderPatterns()[0] != "opt/kaspersky/*" {
		t.Error("FolderPatterns() shares its slice with the compiled policy")
	}
	src := BuiltinSource()
	src[0] = '!'
	if !bytes.Equal(BuiltinSource(), builtinYAML) || builtinYAML[0] == '!' {
		t.Error("BuiltinSource() shares the embedded bytes")
	}
}

// TestBuiltinCheck is what `banwatch policy check` does with the built-in
// policy written to a file: it loads with no problem and is the same
// policy as Builtin().
func TestBuiltinCheck(t *testing.T) {
	file := filepath.Join(t.TempDir(), "builtin.yaml")
	if err := os.WriteFile(file, BuiltinSource(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(file)
	if err != nil {
		t.Fatalf("LoadFile(built-in policy): %v", err)
	}
	if c.Source() != file || c.SHA256() != Builtin().SHA256() {
		t.Errorf("Source, SHA256 = %q, %s; want %q, %s", c.Source(), c.SHA256(), file, Builtin().SHA256())
	}
	if n := len(c.Policy().Vendors[0].Products); n != 31 {
		t.Errorf("%d products, want 31", n)
	}
}

func TestLoadValid(t *testing.T) {
	c, err := Load(withHead(
		"    products:",
		"      - id: widget",
		"        name: Widget",
		"        match:",
		"          packages: [widget, \"widget-plugin-*\"]",
		"          services: [widgetd]",
		"          processes:",
		"            - image: widgetd",
		"            - image: helper",
		"              path: /opt/acme/**",
		"            - path: \"**/opt/acme/widget/**\"",
		"          kernel_modules: [widget_core]",
		"          folders: [opt/acme/widget, \"var/opt/acme/*\"]",
	), "t.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Source() != "t.yaml" || len(c.SHA256()) != 64 {
		t.Errorf("Source, SHA256 = %q, %q", c.Source(), c.SHA256())
	}
	if got, want := c.FolderPatterns(), []string{"opt/acme/widget", "var/opt/acme/*"}; !slices.Equal(got, want) {
		t.Errorf("FolderPatterns() = %q, want %q", got, want)
	}
	if got := c.Jurisdictions(); len(got) != 0 {
		t.Errorf("Jurisdictions() = %q, want none", got)
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		yaml  []byte
		wants []want
	}{
		{
			name: "unknown keys at the top and deep inside a product",
			yaml: doc(
				"schema: banwatch.policy/v1", // 1
				"name: test",
				`version: "1"`,
				"default_jurisdiction: US",
				"colour: blue", // 5
				"vendors:",
				"  - id: acme",
				"    name: Acme",
				"    products:",
				"      - id: widget", // 10
				"        name: Widget",
				"        match:",
				"          packages: [widget]",
				"          pakages: [widget-gui]", // 14
			),
			wants: []want{
				{5, "", `unknown key "colour"`},
				{14, "", `unknown key "pakages"`},
			},
		},
		{
			name: "unknown key and invalid values are reported together",
			yaml: withHead(
				"    colour: blue", // 8
				"    jurisdictions:",
				"      - code: US", // 10
				"        name: United States",
				"        updates_cut_off: 2024-13-01", // 12
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          packages: [widget]",
			),
			wants: []want{
				{8, "", `unknown key "colour"`},
				{12, "vendors[0].jurisdictions[0].updates_cut_off", `must be a date YYYY-MM-DD, got "2024-13-01"`},
			},
		},
		{
			name: "a string where a list is expected",
			yaml: withHead(
				"    publishers: Acme Inc", // 8
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          packages: widget", // 13
			),
			wants: []want{
				{8, "", "expected a list, got a string `Acme Inc`"},
				{13, "", "expected a list, got a string `widget`"},
			},
		},
		{
			name: "a list where a mapping is expected",
			yaml: withHead(
				"    products:", // 8
				"      - id: widget",
				"        name: Widget",
				"        match: [widget]", // 11
			),
			wants: []want{{11, "", "expected a mapping, got a list"}},
		},
		{
			name: "missing schema",
			yaml: doc(
				"name: test", // 1
				`version: "1"`,
				"default_jurisdiction: US",
				"vendors:",
				"  - id: acme",
				"    name: Acme",
				"    publishers: [Acme]",
			),
			wants: []want{{1, "schema", `must be "banwatch.policy/v1", got ""`}},
		},
		{
			name: "wrong schema",
			yaml: doc(
				"# a comment first",
				"schema: banwatch.policy/v2", // 2
				"name: test",
				`version: "1"`,
				"default_jurisdiction: US",
				"vendors:",
				"  - id: acme",
				"    name: Acme",
				"    publishers: [Acme]",
			),
			wants: []want{{2, "schema", `must be "banwatch.policy/v1", got "banwatch.policy/v2"`}},
		},
		{
			name: "empty name, blank version, missing vendor name",
			yaml: doc(
				"schema: banwatch.policy/v1",
				`name: ""`,      // 2
				`version: "  "`, // 3
				"default_jurisdiction: US",
				"vendors:",
				"  - id: acme", // 6: the vendor's mapping starts here
				"    publishers: [Acme]",
			),
			wants: []want{
				{2, "name", "is required"},
				{3, "version", "is required"},
				{6, "vendors[0].name", "is required"},
			},
		},
		{
			name: "bad default jurisdiction and no vendors",
			yaml: doc(
				"schema: banwatch.policy/v1",
				"name: test",
				`version: "1"`,
				"default_jurisdiction: usa", // 4
				"vendors: []",               // 5
			),
			wants: []want{
				{4, "default_jurisdiction", `must be an ISO 3166 alpha-2 code such as US, got "usa"`},
				{5, "vendors", "at least one vendor is required"},
			},
		},
		{
			name: "duplicate vendor id",
			yaml: withHead(
				"    publishers: [Acme]",
				"  - id: acme", // 9
				"    name: Acme again",
				"    publishers: [Acme Two]",
			),
			wants: []want{{9, "vendors[1].id", `vendor id "acme" is used twice`}},
		},
		{
			name: "bad vendor and product ids",
			yaml: doc(
				"schema: banwatch.policy/v1",
				"name: test",
				`version: "1"`,
				"default_jurisdiction: US",
				"vendors:",
				"  - id: KESL", // 6
				"    name: Acme",
				"    products:",
				"      - id: a b", // 9
				"        name: Widget",
				"        match:",
				"          packages: [widget]",
				"      - id: a b", // 13
				"        name: Widget two",
				"        match:",
				"          packages: [widget2]",
			),
			wants: []want{
				{6, "vendors[0].id", `must be lower-case letters, digits and dashes, got "KESL"`},
				{9, "vendors[0].products[0].id", `got "a b"`},
				{13, "vendors[0].products[1].id", `got "a b"`},
				{13, "vendors[0].products[1].id", `product id "a b" is used twice in vendor KESL`},
			},
		},
		{
			name: "severity and remediation keys and values",
			yaml: withHead(
				"    publishers: [Acme]",
				"    severity:", // 9
				"      remnant: huge",
				"      product: urgent",
				"      cutoff: high", // 12
				"      updates-cut-off: critical",
				"      zzz: low", // 14
				"    remediation:",
				"      remnants: Remove it.", // 16
				"      product: Uninstall {product}.",
				"      aaa: x", // 18
			),
			wants: []want{
				{10, "vendors[0].severity.remnant", `unknown severity "huge" (want low, medium, high or critical)`},
				{11, "vendors[0].severity.product", `unknown severity "urgent"`},
				{12, "vendors[0].severity.cutoff", `unknown finding kind "cutoff" (want product, remnant, updates-cut-off, stale-signatures, updates-after-cut-off, update-traffic, tool)`},
				{14, "vendors[0].severity.zzz", `unknown finding kind "zzz"`},
				{16, "vendors[0].remediation.remnants", `unknown finding kind "remnants"`},
				{18, "vendors[0].remediation.aaa", `unknown finding kind "aaa"`},
			},
		},
		{
			name: "references",
			yaml: withHead(
				"    publishers: [Acme]",
				"    references:",
				"      - title: Notice",
				"        url: www.example.com/notice", // 11
				"      - title: FTP",
				"        url: ftp://example.com/notice", // 13
				"      - title: Good",
				"        url: https://example.com/notice",
				"      - url: https://example.com/untitled", // 16
			),
			wants: []want{
				{11, "vendors[0].references[0].url", `must be an http or https URL, got "www.example.com/notice"`},
				{13, "vendors[0].references[1].url", `got "ftp://example.com/notice"`},
				{16, "vendors[0].references[3].title", "is required"},
			},
		},
		{
			name: "dates in jurisdictions and measures, duplicate jurisdiction",
			yaml: withHead(
				"    publishers: [Acme]",
				"    jurisdictions:",
				"      - code: US", // 10
				"        name: United States",
				"        entity_list: 2024-06-24",
				"        sales_ban: \"2024-13-01\"",       // 13
				"        updates_cut_off: \"29/09/2024\"", // 14
				"        measures:",
				"          - date: 29/09/2024", // 16
				"            title: A ban",
				"            url: https://example.com/ban",
				"          - title: Undated", // 19
				"            url: https://example.com/undated",
				"      - code: US", // 21
				"        name: United States again",
				"      - code: usa", // 23
				"        name: Nowhere",
			),
			wants: []want{
				{13, "vendors[0].jurisdictions[0].sales_ban", `must be a date YYYY-MM-DD, got "2024-13-01"`},
				{14, "vendors[0].jurisdictions[0].updates_cut_off", `got "29/09/2024"`},
				{16, "vendors[0].jurisdictions[0].measures[0].date", `got "29/09/2024"`},
				{19, "vendors[0].jurisdictions[0].measures[1].date", `got ""`},
				{21, "vendors[0].jurisdictions[1].code", `jurisdiction "US" is listed twice`},
				{23, "vendors[0].jurisdictions[2].code", `must be an ISO 3166 alpha-2 code such as US, got "usa"`},
			},
		},
		{
			name: "products without matchers, vendor without anything",
			yaml: withHead(
				"    products:",
				"      - id: widget", // 9
				"        name: Widget",
				"        match: {}",  // 11
				"      - id: gadget", // 12
				"        name: Gadget",
				"  - id: other", // 14
				"    name: Other",
			),
			wants: []want{
				{11, "vendors[0].products[0].match", "a product needs at least one matcher"},
				{12, "vendors[0].products[1].match", "a product needs at least one matcher"},
				{14, "vendors[1].products", "a vendor needs products, publishers or vendor-wide matchers"},
			},
		},
		{
			name: "the same artefact claimed twice",
			yaml: withHead(
				"    match:",
				"      packages: [acme-common]",
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          packages: [widget, acme-common]", // 14
				"          services: [widgetd]",
				"          kernel_modules: [widget-core]",
				"      - id: gadget",
				"        name: Gadget",
				"        match:",
				"          packages: [gadget, Widget]",    // 20
				"          services: [widgetd.service]",   // 21
				"          kernel_modules: [widget_core]", // 22
				"          folders: [opt/acme/widget]",
				"      - id: gizmo",
				"        name: Gizmo",
				"        match:",
				"          packages: [\"widget*\"]",    // a pattern may overlap
				"          folders: [opt/acme/widget]", // so may folders
			),
			wants: []want{
				{14, "vendors[0].products[0].match.packages[1]", `package "acme-common" is already matched by acme (vendor-wide)`},
				{20, "vendors[0].products[1].match.packages[1]", `package "Widget" is already matched by acme/widget`},
				{21, "vendors[0].products[1].match.services[0]", `service "widgetd.service" is already matched by acme/widget`},
				{22, "vendors[0].products[1].match.kernel_modules[0]", `kernel module "widget_core" is already matched by acme/widget`},
			},
		},
		{
			name: "name patterns",
			yaml: withHead(
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          packages: [\"*kesl\", \"k*\", \"kesl[\", \"ke?l\", \" kesl\"]", // 12
				"          processes:",
				"            - image: \"?x\"", // 14
			),
			wants: []want{
				{12, "vendors[0].products[0].match.packages[0]", `pattern "*kesl" needs at least two literal characters before its first wildcard`},
				{12, "vendors[0].products[0].match.packages[1]", `pattern "k*" needs at least two literal characters`},
				{12, "vendors[0].products[0].match.packages[2]", `bad pattern "kesl["`},
				{12, "vendors[0].products[0].match.packages[4]", `empty name or surrounding spaces: " kesl"`},
				{14, "vendors[0].products[0].match.processes[0].image", `pattern "?x" needs at least two literal characters`},
			},
		},
		{
			name: "folders",
			yaml: withHead(
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          folders:",
				"            - /opt/kaspersky",          // 13
				"            - opt/../etc/kaspersky",    // 14
				"            - ../kaspersky",            // 15
				"            - opt//kaspersky",          // 16
				"            - opt/kaspersky/",          // 17
				"            - opt/**/kesl",             // 18
				"            - \"opt/kaspersky/kesl[\"", // 19
				"            - ab/cd/*",                 // 20
				"            - opt/kaspersky/kesl",
			),
			wants: []want{
				{13, "vendors[0].products[0].match.folders[0]", `folder "/opt/kaspersky" must be relative to the scanned root (no leading /)`},
				{14, "vendors[0].products[0].match.folders[1]", `path "opt/../etc/kaspersky" is not a clean path inside the root`},
				{15, "vendors[0].products[0].match.folders[2]", `path "../kaspersky" is not a clean path`},
				{16, "vendors[0].products[0].match.folders[3]", `path "opt//kaspersky" is not a clean path`},
				{17, "vendors[0].products[0].match.folders[4]", `path "opt/kaspersky/" is not a clean path`},
				{18, "vendors[0].products[0].match.folders[5]", `folder patterns cannot use **: "opt/**/kesl"`},
				{19, "vendors[0].products[0].match.folders[6]", `bad pattern "opt/kaspersky/kesl["`},
				{20, "vendors[0].products[0].match.folders[7]", `path pattern "ab/cd/*" needs a literal folder name of three characters or more`},
			},
		},
		{
			name: "process matchers",
			yaml: withHead(
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          processes:",
				"            - {}",                     // 13
				"            - path: \"**/*\"",         // 14
				"            - path: /opt/../x/widget", // 15
				"              image: widgetd",
				"            - path: \"**/ab/**\"",        // 17
				"            - path: /opt/acme/widget/**", // valid
			),
			wants: []want{
				{13, "vendors[0].products[0].match.processes[0]", "a process matcher needs an image, a path or both"},
				{14, "vendors[0].products[0].match.processes[1].path", `path pattern "**/*" needs a literal folder name of three characters or more`},
				{15, "vendors[0].products[0].match.processes[2].path", `path "/opt/../x/widget" is not a clean path inside the root`},
				{17, "vendors[0].products[0].match.processes[3].path", `path pattern "**/ab/**" needs a literal folder name`},
			},
		},
		{
			name: "empty publisher",
			yaml: withHead(
				"    publishers: [Acme, \"«»\", \"\"]", // 8
			),
			wants: []want{
				{8, "vendors[0].publishers[1]", "empty publisher name"},
				{8, "vendors[0].publishers[2]", "empty publisher name"},
			},
		},
		{
			name: "many problems in one go, in file order",
			yaml: doc(
				"schema: banwatch.policy/v0", // 1
				`name: ""`,                   // 2
				"version: 1",
				"default_jurisdiction: usa", // 4
				"vendors:",
				"  - id: Acme", // 6
				"    name: Acme",
				"    severity: {product: severe}", // 8
				"    jurisdictions:",
				"      - code: US",
				"        name: United States",
				"        updates_cut_off: 2024-9-29", // 12
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          packages: [\"w*\"]",     // 17
				"          folders: [/opt/widget]", // 18
			),
			wants: []want{
				{1, "schema", `got "banwatch.policy/v0"`},
				{2, "name", "is required"},
				{4, "default_jurisdiction", `got "usa"`},
				{6, "vendors[0].id", `got "Acme"`},
				{8, "vendors[0].severity.product", `unknown severity "severe"`},
				{12, "vendors[0].jurisdictions[0].updates_cut_off", `got "2024-9-29"`},
				{17, "vendors[0].products[0].match.packages[0]", `pattern "w*" needs at least two literal characters`},
				{18, "vendors[0].products[0].match.folders[0]", `folder "/opt/widget" must be relative`},
			},
		},
		{
			name: "YAML syntax error: a key indented less than its siblings",
			yaml: doc(
				"schema: banwatch.policy/v1",
				"name: test",
				`version: "1"`,
				"default_jurisdiction: US",
				"vendors:",
				"  - id: acme",
				"    name: Acme",
				"   publishers: [Acme]", // 8
				"",
			),
			wants: []want{{8, "", "did not find expected '-' indicator"}},
		},
		{
			name: "YAML syntax error: a key indented more than its siblings",
			yaml: doc(
				"schema: banwatch.policy/v1",
				"name: test",
				`version: "1"`,
				"default_jurisdiction: US",
				"vendors:",
				"  - id: acme",
				"    name: Acme",
				"      publishers: [Acme]", // 8
			),
			wants: []want{{8, "", "mapping values are not allowed in this context"}},
		},
		{
			name: "YAML syntax error: a list item at a mapping's indentation",
			yaml: doc(
				"schema: banwatch.policy/v1",
				"name: test",
				`version: "1"`,
				"default_jurisdiction: US",
				"vendors:",
				"  - id: acme",
				"    name: Acme",
				"    publishers:",
				"      - Acme",
				"    - Acme Inc", // 10
			),
			wants: []want{{10, "", "did not find expected key"}},
		},
		{
			name: "YAML syntax error, CR LF line ends",
			yaml: []byte(strings.ReplaceAll(string(withHead(
				"    publishers:",
				"      - Acme",
				"    - Acme Inc", // 10
			)), "\n", "\r\n")),
			wants: []want{{10, "", "did not find expected key"}},
		},
		{
			name: "YAML syntax error, CR line ends",
			yaml: []byte(strings.ReplaceAll(string(withHead(
				"    publishers:",
				"      - Acme",
				"    - Acme Inc", // 10
			)), "\n", "\r")),
			wants: []want{{10, "", "did not find expected key"}},
		},
		{
			name:  "YAML syntax error, NEL, LS and PS line ends",
			yaml:  []byte("schema: banwatch.policy/v1\u0085name: x\u2028vendors:\u2029  - id: a\n  name: b\n"),
			wants: []want{{5, "", "did not find expected '-' indicator"}},
		},
		{
			name:  "YAML syntax error on the first line",
			yaml:  doc("schema: a: b", "name: x"),
			wants: []want{{1, "", "mapping values are not allowed in this context"}},
		},
		{
			name:  "YAML syntax error in a one-line file",
			yaml:  []byte("schema: a: b"),
			wants: []want{{1, "", "mapping values are not allowed in this context"}},
		},
		{
			name: "YAML syntax error far from its block's start",
			yaml: append(withHead(
				"    products:",
				"      - id: widget",
				"        name: Widget",
				"        match:",
				"          packages:",
				"            - widget",
			), append(bytes.Repeat([]byte("            - widget-extra\n"), 200),
				[]byte("           - widget-odd\n")...)...), // line 214
			wants: []want{{214, "", "did not find expected key"}},
		},
		{
			name:  "YAML syntax error: a tab for indentation",
			yaml:  doc("schema: banwatch.policy/v1", "vendors:", "\t- id: acme"),
			wants: []want{{3, "", "found character that cannot start any token"}},
		},
		{
			name:  "YAML syntax error: an unclosed flow list",
			yaml:  doc("schema: banwatch.policy/v1", "name: test", "vendors: [a, b", `version: "1"`),
			wants: []want{{3, "", "did not find expected ',' or ']'"}},
		},
		{
			name:  "YAML: a key given twice",
			yaml:  doc("schema: banwatch.policy/v1", "name: test", "name: again"),
			wants: []want{{3, "", `mapping key "name" already defined at line 2`}},
		},
		{
			name:  "empty file",
			yaml:  []byte{},
			wants: []want{{1, "", "empty policy"}},
		},
		{
			name:  "blank file",
			yaml:  []byte("\n  \n\t\n"),
			wants: []want{{1, "", "empty policy"}},
		},
		{
			name:  "only comments",
			yaml:  doc("# a policy", "# to be written"),
			wants: []want{{1, "", "empty policy"}},
		},
		{
			name:  "a list instead of a mapping",
			yaml:  doc("# comment", "- schema: banwatch.policy/v1", "- name: test"),
			wants: []want{{2, "", "a policy is a mapping of keys"}},
		},
		{
			name:  "a string instead of a mapping",
			yaml:  doc("banwatch"),
			wants: []want{{1, "", "a policy is a mapping of keys"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.yaml, "t.yaml")
			if c != nil {
				t.Errorf("Load returned a policy with error %v", err)
			}
			checkProblems(t, err, "t.yaml", tt.wants)
		})
	}
}

// TestLoadProblemsStable: the problems come out the same, in the same
// order, every time (severity and remediation are maps).
func TestLoadProblemsStable(t *testing.T) {
	data := withHead(
		"    publishers: [Acme]",
		"    severity: {a: low, b: low, c: low, d: low, e: low, product: x, remnant: y}",
		"    remediation: {a: x, b: x, c: x, d: x, e: x}",
	)
	_, first := Load(data, "t.yaml")
	if first == nil {
		t.Fatal("Load succeeded")
	}
	for range 50 {
		if _, err := Load(data, "t.yaml"); err == nil || err.Error() != first.Error() {
			t.Fatalf("problems differ between loads:\n%v\n---\n%v", first, err)
		}
	}
	want := []string{
		`t.yaml:9: vendors[0].severity.a: unknown finding kind "a" (want product, remnant, updates-cut-off, stale-signatures, updates-after-cut-off, update-traffic, tool)`,
		`t.yaml:9: vendors[0].severity.b: unknown finding kind "b" (want product, remnant, updates-cut-off, stale-signatures, updates-after-cut-off, update-traffic, tool)`,
	}
	if got := strings.Split(first.Error(), "\n"); len(got) != 12 || !slices.Equal(got[:2], want) {
		t.Errorf("problems =\n%s\nwant 12, starting\n%s", first, strings.Join(want, "\n"))
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	valid := withHead("    publishers: [Acme]")

	t.Run("missing file", func(t *testing.T) {
		file := filepath.Join(dir, "missing.yaml")
		c, err := LoadFile(file)
		if c != nil || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("LoadFile = %v, %v; want fs.ErrNotExist", c, err)
		}
		var pe *Error
		if errors.As(err, &pe) {
			t.Errorf("a missing file is reported as a policy problem: %v", err)
		}
		if !strings.Contains(err.Error(), file) {
			t.Errorf("error %q does not name the file", err)
		}
	})
	t.Run("a folder", func(t *testing.T) {
		c, err := LoadFile(dir)
		var pe *Error
		if c != nil || err == nil || errors.As(err, &pe) {
			t.Fatalf("LoadFile(folder) = %v, %v; want an I/O error", c, err)
		}
	})
	t.Run("invalid file names the file", func(t *testing.T) {
		file := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(file, doc("schema: banwatch.policy/v1", "bogus: 1", "name: x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFile(file)
		checkProblems(t, err, file, []want{
			{1, "version", "is required"},
			{1, "default_jurisdiction", `got ""`},
			{1, "vendors", "at least one vendor is required"},
			{2, "", `unknown key "bogus"`},
		})
	})
	t.Run("too large", func(t *testing.T) {
		file := filepath.Join(dir, "large.yaml")
		data := append(slices.Clone(valid), bytes.Repeat([]byte("#"), maxPolicySize+1-len(valid))...)
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadFile(file)
		if c != nil {
			t.Fatal("LoadFile accepted a policy over the size limit")
		}
		checkProblems(t, err, file, []want{{1, "", "larger than 4194304 bytes"}})
	})
	t.Run("exactly the size limit", func(t *testing.T) {
		file := filepath.Join(dir, "limit.yaml")
		data := append(slices.Clone(valid), bytes.Repeat([]byte("#"), maxPolicySize-len(valid))...)
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadFile(file)
		if err != nil || c.Source() != file {
			t.Fatalf("LoadFile at the size limit = %v, %v", c, err)
		}
		sum := sha256.Sum256(data)
		if c.SHA256() != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256() = %s, want the hash of the whole file", c.SHA256())
		}
	})
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "p.yaml", Line: 12, Field: "vendors[0].id", Msg: "bad id"}, "p.yaml:12: vendors[0].id: bad id"},
		{Problem{File: "p.yaml", Line: 3, Msg: `unknown key "x"`}, `p.yaml:3: unknown key "x"`},
		{Problem{File: "p.yaml", Field: "schema", Msg: "is required"}, "p.yaml: schema: is required"},
		{Problem{File: "builtin", Msg: "empty policy"}, "builtin: empty policy"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	err := &Error{Problems: []Problem{tests[0].p, tests[1].p}}
	if want := tests[0].want + "\n" + tests[1].want; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestField(t *testing.T) {
	f := field{}.key("vendors").idx(2).key("products").idx(0)
	g := f.key("id")
	h := f.key("name") // must not overwrite g's last element
	if g.String() != "vendors[2].products[0].id" || h.String() != "vendors[2].products[0].name" {
		t.Errorf("fields = %q, %q", g, h)
	}
	if (field{}).String() != "" {
		t.Errorf("empty field = %q", field{})
	}
}
