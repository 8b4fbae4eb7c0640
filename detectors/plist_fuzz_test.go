package detectors

import (
	"context"
	"testing"
	"testing/fstest"
	"time"
)

// plistFuzzBudget is how long one input may take through every decoder.
// Inputs that reach the library are bounded in size, depth and expansion,
// so even a slow machine stays far below it; a hang shows as a failure.
const plistFuzzBudget = 5 * time.Second

// FuzzPlist feeds arbitrary bytes to the plist helper, to each detector's
// per-file decoder, and to the detectors themselves through a root where
// every file they read holds the bytes. None may panic or hang.
func FuzzPlist(f *testing.F) {
	for _, seed := range plistAttackSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		var v any
		_ = decodePlist(b, &v)
		_, _ = decodeInfoPlist(b)
		_, _ = decodeReceipt(b)
		_, _ = decodeLaunchdJob(b)
		_, _ = decodeLaunchdOverrides(b)
		_, _ = decodeSysextDB(b)
		if m, err := plistDict(b); err == nil {
			_ = macHostnameOf(m)
		}
		root := plistFuzzRoot(b)
		_ = macPlatformPlist(root)
		_, _ = macHostname(root)
		env := &Env{Root: root}
		for _, d := range []DetectorFunc{detectMacApps, detectMacReceipts, detectLaunchd, detectMacExtensions} {
			_, _ = d(context.Background(), env)
		}
		if d := time.Since(start); d > plistFuzzBudget {
			t.Fatalf("%d bytes took %v", len(b), d)
		}
	})
}

// plistFuzzRoot is a macOS root whose every plist holds b.
func plistFuzzRoot(b []byte) fstest.MapFS {
	root := fstest.MapFS{}
	for _, name := range []string{
		macMarker,
		macPreferences,
		"Applications/A.app/Contents/Info.plist",
		"Applications/A.app/Contents/MacOS/A",
		receiptsDir + "/com.example.pkg.plist",
		launchdOverrides,
		"Library/LaunchDaemons/com.example.d.plist",
		"Users/u/Library/LaunchAgents/com.example.a.plist",
		sysextDB,
		"Library/Extensions/x.kext/Contents/Info.plist",
	} {
		root[name] = &fstest.MapFile{Data: b}
	}
	return root
}
