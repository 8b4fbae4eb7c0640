package scan

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/banwatch/banwatch/policy"
)

// macImages are offline macOS roots with real XML and binary plists,
// built by detectors/testdata/macos/make-fixtures.py.
const macImages = "../detectors/testdata/macos"

func TestOfflineMacImages(t *testing.T) {
	tests := []struct {
		image, hostname, platform string
		want                      []want
		evidence                  map[string][]string
	}{
		{"root-kav", "Alices-MacBook-Pro", "macos 14.5",
			[]want{
				{policy.KindProduct, "kaspersky-mac", policy.SeverityHigh, "21.0.1.425"},
				{policy.KindUpdatesCutOff, "kaspersky-mac", policy.SeverityCritical, "21.0.1.425"},
				{policy.KindTool, "kaspersky-downloader-mac", policy.SeverityLow, "21.0.0"},
			},
			map[string][]string{"kaspersky-mac": {
				"package com.kaspersky.kav.core", "application Kaspersky Internet Security",
				"service com.kaspersky.kav", "service com.kaspersky.kav.gui",
				"driver com.kaspersky.kav.sysext", "driver com.kaspersky.kext.klif",
				"folder Library/Application Support/Kaspersky Lab",
			}}},
		{"root-leftovers", "Reception iMac", "macos 12.7.5",
			[]want{{policy.KindRemnant, "kaspersky-mac", policy.SeverityLow, ""}},
			map[string][]string{"kaspersky-mac": {"service com.kaspersky.kav", "driver com.kaspersky.kav.sysext"}}},
		{"root-clean", "build-mac-07.example.com", "macos 13.6.7", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			r := offline(t, filepath.Join(macImages, tt.image))
			checkImage(t, r, imageWant{"darwin", tt.hostname, tt.platform, tt.want, tt.evidence})
		})
	}
}

// TestMacDataVolume: since macOS 10.15 the apps, settings and receipts
// are on the Data volume; mounted alone (no System folder, no var link),
// it is still a Mac with the same findings.
func TestMacDataVolume(t *testing.T) {
	root := copyTree(t, filepath.Join(macImages, "root-kav"))
	for _, p := range []string{"System", "var"} {
		if err := os.RemoveAll(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	r := offline(t, root)
	if g, w := got(r), wants(
		want{policy.KindProduct, "kaspersky-mac", policy.SeverityHigh, "21.0.1.425"},
		want{policy.KindUpdatesCutOff, "kaspersky-mac", policy.SeverityCritical, "21.0.1.425"},
		want{policy.KindTool, "kaspersky-downloader-mac", policy.SeverityLow, "21.0.0"},
	); !slices.Equal(g, w) {
		t.Errorf("findings:\n got  %q\n want %q", g, w)
	}
	if r.Host.OS != "darwin" || r.Host.Hostname != "Alices-MacBook-Pro" || len(r.Errors) != 0 {
		t.Errorf("host %+v, errors %v", r.Host, r.Errors)
	}
	if !hasEvidence(r, "kaspersky-mac", "package com.kaspersky.kav.core") {
		t.Error("the receipt under private/var was not read")
	}
}
