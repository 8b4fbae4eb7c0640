package detectors

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"howett.net/plist"
)

const (
	kavSysextOrigin = "/Applications/Kaspersky Internet Security.app/Contents/Library/SystemExtensions/com.kaspersky.kav.sysext.systemextension"
	kavSysextCats   = "com.apple.system_extension.endpoint_security,com.apple.system_extension.network_extension"
)

func macSysext(id, team, version, state string, st State, origin, cats string) Item {
	return Item{Kind: KindDriver, Name: id, BundleID: id, Publisher: team, Version: version,
		Path: sysextDB, State: st, Detail: "system extension, " + state + ", team " + team,
		Attrs: map[string]string{"originPath": origin, "categories": cats}}
}

func macKext(dir, id, version, detail string) Item {
	return Item{Kind: KindDriver, Name: id, BundleID: id, Version: version,
		Path: dir + "/Contents/Info.plist", State: StatePresent, Detail: detail}
}

func TestMacExtensionsFixtures(t *testing.T) {
	lulu := macSysext("com.objective-see.lulu.extension", "VBG97UB4TA", "2.6.3", "activated_enabled", StateEnabled,
		"/Applications/LuLu.app/Contents/Library/SystemExtensions/com.objective-see.lulu.extension.systemextension",
		"com.apple.system_extension.network_extension")
	tests := map[string][]Item{
		"root-kav": { // XML db.plist
			macSysext("com.kaspersky.kav.sysext", "2Y8XE5CQ94", "21.0.1", "activated_enabled", StateEnabled, kavSysextOrigin, kavSysextCats),
			lulu,
			macKext("Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "21.0.1", "kernel extension klif.kext"),
		},
		"root-clean": { // binary db.plist
			lulu,
			macKext("Library/Extensions/SoftRAID.kext", "com.softraid.driver.SoftRAID", "8.1", "kernel extension SoftRAID.kext"),
		},
		"root-leftovers": {
			macSysext("com.kaspersky.kav.sysext", "2Y8XE5CQ94", "20.0.3", "uninstalled", StateLeftover, kavSysextOrigin, kavSysextCats),
			macSysext("com.kaspersky.kav.sysext", "2Y8XE5CQ94", "21.0.1", "terminated_waiting_to_uninstall_on_reboot", StateLeftover, kavSysextOrigin, kavSysextCats),
			macKext("Library/StagedExtensions/Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "11.2.9", "staged kernel extension klif.kext"),
		},
	}
	for root, want := range tests {
		t.Run(root, func(t *testing.T) {
			items, err := macDetect(t, detectMacExtensions, macFixture(t, root))
			if err != nil {
				t.Errorf("error: %v", err)
			}
			macCheckItems(t, items, want)
		})
	}
}

func TestSysextState(t *testing.T) {
	tests := map[string]State{
		"activated_enabled":                         StateEnabled,
		"activated_disabled":                        StateDisabled,
		"activated_waiting_for_user":                StateDisabled,
		"validating_by_category":                    StateDisabled,
		"terminated_waiting_to_uninstall_on_reboot": StateLeftover,
		"deactivated_waiting_for_reboot":            StateLeftover,
		"uninstalled":                               StateLeftover,
		"":                                          StatePresent,
		"something_new":                             StatePresent,
	}
	for s, want := range tests {
		if got := sysextState(s); got != want {
			t.Errorf("sysextState(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestMacExtensionsEdgeCases(t *testing.T) {
	db := macPlist(t, map[string]any{"extensions": []any{
		"not a dictionary",
		map[string]any{"identifier": "com.kaspersky.kav.sysext", "state": "activated_disabled",
			"bundleVersion": map[string]any{"CFBundleVersion": "21.0.1.425"}},
	}}, plist.BinaryFormat)
	tests := []struct {
		name    string
		root    fstest.MapFS
		want    []Item
		errFile string
	}{
		{"nothing installed", fstest.MapFS{}, nil, ""},
		{
			"entries that are no dictionaries are skipped; no team, no short version",
			fstest.MapFS{sysextDB: db},
			[]Item{{Kind: KindDriver, Name: "com.kaspersky.kav.sysext", BundleID: "com.kaspersky.kav.sysext",
				Version: "21.0.1.425", Path: sysextDB, State: StateDisabled, Detail: "system extension, activated_disabled"}},
			"",
		},
		{
			"damaged db.plist and kext Info.plist: the other kexts still read",
			fstest.MapFS{
				sysextDB: {Data: []byte("bplist00\x00\x01")},
				"Library/Extensions/klnke.kext/Contents/Info.plist": {Data: []byte("<plist>")},
				"Library/Extensions/klif.kext/Contents/Info.plist": macPlist(t, map[string]any{
					"CFBundleIdentifier": "com.kaspersky.kext.klif", "CFBundleVersion": "21.0.1"}, plist.XMLFormat),
				"Library/Extensions/notes.txt": {Data: []byte("x")},
			},
			[]Item{
				macKext("Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "21.0.1", "kernel extension klif.kext"),
				{Kind: KindDriver, Name: "klnke.kext", Path: "Library/Extensions/klnke.kext/Contents/Info.plist",
					State: StatePresent, Detail: "kernel extension klnke.kext"},
			},
			sysextDB,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := macDetect(t, detectMacExtensions, tc.root)
			macCheckItems(t, items, tc.want)
			switch {
			case tc.errFile == "" && err != nil:
				t.Errorf("error: %v", err)
			case tc.errFile != "" && (err == nil || !strings.Contains(err.Error(), tc.errFile)):
				t.Errorf("error %v does not name %s", err, tc.errFile)
			}
			if tc.errFile == sysextDB && !strings.Contains(err.Error(), "klnke.kext/Contents/Info.plist") {
				t.Errorf("error %v does not name the damaged kext", err)
			}
		})
	}
}

// macKextPolicyRoot makes a root whose KextPolicy database holds rows.
func macKextPolicyRoot(t *testing.T, rows [][]any) *RootFS {
	t.Helper()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, filepath.FromSlash(kextPolicyDB))
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The schema of macOS 10.13-14.
	_, err = db.Exec(`CREATE TABLE kext_policy (team_id TEXT, bundle_id TEXT, allowed BOOLEAN,
		developer_name TEXT, flags INTEGER, PRIMARY KEY (team_id, bundle_id))`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if _, err := db.Exec(`INSERT INTO kext_policy VALUES (?, ?, ?, ?, ?)`, r...); err != nil {
			t.Fatal(err)
		}
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestMacKextPolicy(t *testing.T) {
	root := macKextPolicyRoot(t, [][]any{
		{"2Y8XE5CQ94", "com.kaspersky.kext.klif", 1, "Kaspersky Lab UK Limited", 1},
		{"2Y8XE5CQ94", "com.kaspersky.nke", 0, "Kaspersky Lab UK Limited", 0},
		{"VB5E2TV963", "com.example.kext", nil, nil, 8},
	})
	items, err := macDetect(t, detectMacExtensions, root)
	if err != nil {
		t.Fatal(err)
	}
	kl := map[string]string{"developer": "Kaspersky Lab UK Limited"}
	macCheckItems(t, items, []Item{
		{Kind: KindDriver, Name: "com.kaspersky.kext.klif", BundleID: "com.kaspersky.kext.klif", Publisher: "2Y8XE5CQ94",
			Path: kextPolicyDB, State: StateEnabled, Detail: "kext approval, allowed", Attrs: kl},
		{Kind: KindDriver, Name: "com.kaspersky.nke", BundleID: "com.kaspersky.nke", Publisher: "2Y8XE5CQ94",
			Path: kextPolicyDB, State: StateDisabled, Detail: "kext approval, not allowed", Attrs: kl},
		{Kind: KindDriver, Name: "com.example.kext", BundleID: "com.example.kext", Publisher: "VB5E2TV963",
			Path: kextPolicyDB, State: StateDisabled, Detail: "kext approval, not allowed"},
	})
}

func TestMacKextPolicyDamaged(t *testing.T) {
	for name, data := range map[string]string{
		"not a database": "SQLite format 3\x00 and then nothing",
		"no such table":  "",
	} {
		t.Run(name, func(t *testing.T) {
			root := macKextPolicyRoot(t, nil)
			dbPath := filepath.Join(root.Dir(), filepath.FromSlash(kextPolicyDB))
			if data != "" {
				if err := os.WriteFile(dbPath, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				db, err := sql.Open("sqlite", dbPath)
				if err != nil {
					t.Fatal(err)
				}
				_, err = db.Exec("DROP TABLE kext_policy")
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			kext := filepath.Join(root.Dir(), "Library", "Extensions", "klif.kext", "Contents")
			if err := os.MkdirAll(kext, 0o755); err != nil {
				t.Fatal(err)
			}
			info := `<plist><dict><key>CFBundleIdentifier</key><string>com.kaspersky.kext.klif</string></dict></plist>`
			if err := os.WriteFile(filepath.Join(kext, "Info.plist"), []byte(info), 0o644); err != nil {
				t.Fatal(err)
			}
			items, err := macDetect(t, detectMacExtensions, root)
			if err == nil || !strings.Contains(err.Error(), kextPolicyDB) {
				t.Errorf("error %v does not name %s", err, kextPolicyDB)
			}
			macCheckItems(t, items, []Item{macKext("Library/Extensions/klif.kext", "com.kaspersky.kext.klif", "", "kernel extension klif.kext")})
		})
	}
}
