package detectors

import (
	"context"
	"testing"
	"testing/fstest"

	"howett.net/plist"
)

func TestMacHostFixtures(t *testing.T) {
	tests := []struct {
		root, hostname, platform string
	}{
		// LocalHostName, as no HostName is set; binary SystemVersion.plist.
		{"root-kav", "Alices-MacBook-Pro", "macos 14.5"},
		// HostName wins; binary preferences, XML SystemVersion.plist.
		{"root-clean", "build-mac-07.example.com", "macos 13.6.7"},
		// Only a ComputerName.
		{"root-leftovers", "Reception iMac", "macos 12.7.5"},
	}
	for _, tc := range tests {
		t.Run(tc.root, func(t *testing.T) {
			root := macFixture(t, tc.root)
			name, id := macHostname(root)
			if name != tc.hostname || id != tc.hostname {
				t.Errorf("macHostname = %q, %q; want %q for both", name, id, tc.hostname)
			}
			if got := macPlatformPlist(root); got != tc.platform {
				t.Errorf("macPlatformPlist = %q, want %q", got, tc.platform)
			}
			h, err := IdentifyHost(context.Background(), root, nil)
			if err != nil || h.OS != "darwin" || h.Hostname != tc.hostname || h.ID != tc.hostname {
				t.Errorf("IdentifyHost = %+v, %v", h, err)
			}
		})
	}
}

func TestMacHostEdgeCases(t *testing.T) {
	prefs := func(v any) fstest.MapFS {
		return fstest.MapFS{macPreferences: macPlist(t, v, plist.XMLFormat)}
	}
	tests := []struct {
		name string
		root fstest.MapFS
		want string
	}{
		{"no preferences", fstest.MapFS{}, ""},
		{"damaged preferences", fstest.MapFS{macPreferences: {Data: []byte("<plist><dict>")}}, ""},
		{"not a dictionary", prefs([]any{"x"}), ""},
		{"names of the wrong type", prefs(map[string]any{"System": map[string]any{"System": map[string]any{"HostName": 3}}}), ""},
		{"blank HostName falls through", prefs(map[string]any{"System": map[string]any{
			"System":  map[string]any{"HostName": "  ", "ComputerName": "Front Desk"},
			"Network": map[string]any{"HostNames": map[string]any{"LocalHostName": "front-desk"}},
		}}), "front-desk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if name, id := macHostname(tc.root); name != tc.want || id != tc.want {
				t.Errorf("macHostname = %q, %q; want %q", name, id, tc.want)
			}
		})
	}
	for name, root := range map[string]fstest.MapFS{
		"missing":    {},
		"damaged":    {macMarker: {Data: []byte("bplist00")}},
		"no version": {macMarker: macPlist(t, map[string]any{"ProductName": "macOS"}, plist.BinaryFormat)},
	} {
		if got := macPlatformPlist(root); got != "macos" {
			t.Errorf("%s SystemVersion.plist: platform %q, want macos", name, got)
		}
	}
}
