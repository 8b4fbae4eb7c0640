package detectors

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"howett.net/plist"
)

func macReceipt(id, version, day string) Item {
	it := Item{Kind: KindPackage, Name: id, BundleID: id, Version: version,
		Path: receiptsDir + "/" + id + ".plist", State: StateInstalled, Detail: "receipt"}
	if day != "" {
		it.Detail += ", installed " + day
		it.Attrs = map[string]string{"InstallPrefixPath": "/"}
	}
	return it
}

func TestMacReceiptsFixtures(t *testing.T) {
	tests := map[string][]Item{
		// var links to private/var here, as on macOS. Binary and XML receipts.
		"root-kav": {
			macReceipt("com.apple.pkg.XProtectPayloads_10_15.16U4211", "2.0.0.1.1714755540", "2024-05-10"),
			macReceipt("com.kaspersky.kav.core", "21.0.1.425", "2023-04-01"),
		},
		"root-clean": {
			macReceipt("com.apple.pkg.XProtectPlistConfigData_10_15.16U4211", "2.0.0.1.1714755540", "2024-05-10"),
		},
		"root-leftovers": nil,
	}
	for root, want := range tests {
		t.Run(root, func(t *testing.T) {
			items, err := macDetect(t, detectMacReceipts, macFixture(t, root))
			if err != nil {
				t.Errorf("error: %v", err)
			}
			macCheckItems(t, items, want)
		})
	}
}

func TestMacReceiptsEdgeCases(t *testing.T) {
	root := fstest.MapFS{
		receiptsDir + "/com.kaspersky.kav.core.plist": {Data: []byte("bplist00")},
		receiptsDir + "/com.kaspersky.kav.core.bom":   {Data: []byte("BOMStore")},
		receiptsDir + "/com.kaspersky.nokeys.plist":   macPlist(t, map[string]any{"PackageVersion": "1"}, plist.BinaryFormat),
		receiptsDir + "/x.plist": macPlist(t, map[string]any{
			"PackageIdentifier": "com.kaspersky.real", "PackageVersion": "2",
			"InstallDate": time.Date(2020, 1, 2, 23, 59, 0, 0, time.UTC),
		}, plist.XMLFormat),
	}
	items, err := macDetect(t, detectMacReceipts, root)
	macCheckItems(t, items, []Item{
		{Kind: KindPackage, Name: "com.kaspersky.kav.core", BundleID: "com.kaspersky.kav.core",
			Path: receiptsDir + "/com.kaspersky.kav.core.plist", State: StateInstalled, Detail: "receipt, unreadable"},
		macReceipt("com.kaspersky.nokeys", "1", ""),
		{Kind: KindPackage, Name: "com.kaspersky.real", BundleID: "com.kaspersky.real", Version: "2",
			Path: receiptsDir + "/x.plist", State: StateInstalled, Detail: "receipt, installed 2020-01-02"},
	})
	if err == nil || !strings.Contains(err.Error(), receiptsDir+"/com.kaspersky.kav.core.plist") {
		t.Errorf("error %v does not name the damaged receipt", err)
	}
}

// TestMacReceiptsDataVolume: a Data volume mounted alone has no var link,
// only private/var.
func TestMacReceiptsDataVolume(t *testing.T) {
	root := fstest.MapFS{
		"private/var/db/receipts/com.kaspersky.kav.core.plist": macPlist(t, map[string]any{
			"PackageIdentifier": "com.kaspersky.kav.core", "PackageVersion": "21.0.1.425"}, plist.XMLFormat),
	}
	items, err := detectMacReceipts(t.Context(), &Env{Root: root})
	if err != nil || len(items) != 1 || items[0].BundleID != "com.kaspersky.kav.core" ||
		items[0].Path != "private/var/db/receipts/com.kaspersky.kav.core.plist" {
		t.Errorf("items %+v, %v", items, err)
	}
}
