package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"howett.net/plist"
)

// macApp is the item for a readable bundle.
func macApp(bundle, name, id, version, exe string, missing bool) Item {
	return Item{
		Kind: KindApplication, Name: name, Version: version, BundleID: id,
		Path: bundle + "/Contents/Info.plist", Exec: "/" + bundle + "/Contents/MacOS/" + exe,
		ExecMissing: missing, State: StateInstalled,
		Detail: strings.Join(nonEmpty("bundle", id, version), " "),
	}
}

// macBrokenApp is the item for a bundle whose Info.plist cannot be read.
func macBrokenApp(bundle, name string) Item {
	return Item{Kind: KindApplication, Name: name, Path: bundle + "/Contents/Info.plist",
		State: StateInstalled, Detail: "application bundle, Info.plist unreadable"}
}

func TestMacAppsFixtures(t *testing.T) {
	tests := map[string][]Item{
		"root-kav": {
			// XML Info.plist, CFBundleDisplayName, only CFBundleVersion, executable gone.
			macApp("Applications/Kaspersky Anti-Virus For Mac.app", "Kaspersky Anti-Virus", "com.kaspersky.kav", "16.0.0.255", "kav", true),
			// Binary Info.plist.
			macApp("Applications/Kaspersky Internet Security.app", "Kaspersky Internet Security", "com.kaspersky.kav", "21.0.1", "Kaspersky Internet Security", false),
			// One folder down.
			macApp("Applications/Kaspersky Lab/Kaspersky Agent.app", "Kaspersky Agent", "com.kaspersky.kav_agent", "21.0.1", "Kaspersky Agent", false),
			macApp("Applications/Safari.app", "Safari", "com.apple.Safari", "17.5", "Safari", false),
			// A user's own Applications.
			macApp("Users/alice/Applications/Kaspersky Downloader.app", "Kaspersky Downloader", "com.kaspersky.kav.downloader", "21.0.0", "Kaspersky Downloader", false),
		},
		"root-clean": {
			macApp("Applications/Google Chrome.app", "Google Chrome", "com.google.Chrome", "126.0.6478.127", "Google Chrome", false),
			macApp("Applications/Safari.app", "Safari", "com.apple.Safari", "16.6.1", "Safari", false),
			macApp("Users/bob/Applications/Chrome Apps.localized/Google Docs.app", "Google Docs", "com.google.Chrome.app.aohghmighlieiainnegkcijnfilokake", "0.10", "app_mode_loader", false),
		},
		"root-leftovers": {
			macApp("Applications/Safari.app", "Safari", "com.apple.Safari", "17.5", "Safari", false),
		},
	}
	for root, want := range tests {
		t.Run(root, func(t *testing.T) {
			items, err := macDetect(t, detectMacApps, macFixture(t, root))
			if err != nil {
				t.Errorf("error: %v", err)
			}
			macCheckItems(t, items, want)
		})
	}
}

func TestMacAppsEdgeCases(t *testing.T) {
	info := map[string]any{"CFBundleIdentifier": "com.kaspersky.kav", "CFBundleName": "KIS",
		"CFBundleExecutable": "kis", "CFBundleShortVersionString": "21.0.1"}
	good := macPlist(t, info, plist.BinaryFormat)
	truncated := &fstest.MapFile{Data: good.Data[:len(good.Data)-7]}
	stub := &fstest.MapFile{Data: []byte("#!/bin/sh\n")}
	dir := &fstest.MapFile{Mode: fs.ModeDir | 0o755}
	link := func(target string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
	}
	kis := macApp("Applications/KIS.app", "KIS", "com.kaspersky.kav", "21.0.1", "kis", false)
	tests := []struct {
		name    string
		root    fstest.MapFS
		want    []Item
		errFile string // a file the error must name; "" for no error
	}{
		{"no Applications folder", fstest.MapFS{}, nil, ""},
		{"empty Applications folder", fstest.MapFS{"Applications": dir, "Users/alice/Applications": dir}, nil, ""},
		{
			"truncated Info.plist, the next bundle still read",
			fstest.MapFS{
				"Applications/Broken.app/Contents/Info.plist": truncated,
				"Applications/KIS.app/Contents/Info.plist":    good,
				"Applications/KIS.app/Contents/MacOS/kis":     stub,
			},
			[]Item{macBrokenApp("Applications/Broken.app", "Broken"), kis},
			"Applications/Broken.app/Contents/Info.plist",
		},
		{
			"garbage Info.plist",
			fstest.MapFS{"Applications/Junk.app/Contents/Info.plist": {Data: []byte("<plist><dict><key>")}},
			[]Item{macBrokenApp("Applications/Junk.app", "Junk")},
			"Applications/Junk.app/Contents/Info.plist",
		},
		{
			"bundle without Info.plist",
			fstest.MapFS{"Applications/Kaspersky.app/Contents/Resources/x": stub},
			[]Item{macBrokenApp("Applications/Kaspersky.app", "Kaspersky")},
			"Applications/Kaspersky.app/Contents/Info.plist",
		},
		{
			"symlinked app",
			fstest.MapFS{
				"Applications/KIS.app": link("../Library/Application Support/KL/KIS.app"),
				"Library/Application Support/KL/KIS.app/Contents/Info.plist": good,
				"Library/Application Support/KL/KIS.app/Contents/MacOS/kis":  stub,
			},
			[]Item{kis},
			"",
		},
		{
			"symlinked folder of apps, link to a file ignored",
			fstest.MapFS{
				"Applications/Kaspersky Lab":                    link("../Library/KL"),
				"Applications/README":                           link("../Library/KL/readme.txt"),
				"Library/KL/readme.txt":                         stub,
				"Library/KL/KIS.app/Contents/Info.plist":        good,
				"Library/KL/KIS.app/Contents/MacOS/kis":         stub,
				"Applications/Kaspersky Lab Notes.txt/contents": stub, // a folder, no apps
			},
			[]Item{macApp("Applications/Kaspersky Lab/KIS.app", "KIS", "com.kaspersky.kav", "21.0.1", "kis", false)},
			"",
		},
		{
			"no name, version or executable: named after its folder",
			fstest.MapFS{"Applications/Bare.app/Contents/Info.plist": macPlist(t, map[string]any{"CFBundleName": 7}, plist.XMLFormat)},
			[]Item{{Kind: KindApplication, Name: "Bare", Path: "Applications/Bare.app/Contents/Info.plist", State: StateInstalled, Detail: "bundle"}},
			"",
		},
		{
			"executable naming a path out of the bundle stays in the root",
			fstest.MapFS{
				"Applications/X.app/Contents/Info.plist": macPlist(t, map[string]any{"CFBundleExecutable": "../../../../../../bin/sh"}, plist.XMLFormat),
				"bin/sh":                                 stub,
			},
			[]Item{{Kind: KindApplication, Name: "X", Path: "Applications/X.app/Contents/Info.plist", Exec: "/bin/sh", State: StateInstalled, Detail: "bundle"}},
			"",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := macDetect(t, detectMacApps, tc.root)
			macCheckItems(t, items, tc.want)
			switch {
			case tc.errFile == "" && err != nil:
				t.Errorf("error: %v", err)
			case tc.errFile != "" && (err == nil || !strings.Contains(err.Error(), tc.errFile)):
				t.Errorf("error %v does not name %s", err, tc.errFile)
			}
		})
	}
}

// An absolute link, as installers make them, resolves inside the root.
func TestMacAppsAbsoluteLink(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(macFixtures, "root-kav", "Applications", "Kaspersky Internet Security.app")
	kl := filepath.Join(dir, "Library", "Kaspersky Lab")
	if err := os.CopyFS(filepath.Join(kl, "KIS.app"), os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "Applications"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/Library/Kaspersky Lab/KIS.app", filepath.Join(dir, "Applications", "Kaspersky.app")); err != nil {
		t.Skipf("cannot make links here: %v", err)
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	items, err := macDetect(t, detectMacApps, root)
	if err != nil {
		t.Fatal(err)
	}
	macCheckItems(t, items, []Item{macApp("Applications/Kaspersky.app", "Kaspersky Internet Security", "com.kaspersky.kav", "21.0.1", "Kaspersky Internet Security", false)})
}

func TestMacAppsBounded(t *testing.T) {
	root := fstest.MapFS{}
	for i := range maxPlistFiles + 1 {
		root[fmt.Sprintf("Applications/A%05d.app/Contents/Info.plist", i)] = &fstest.MapFile{Data: []byte("x")}
	}
	items, err := macDetect(t, detectMacApps, root)
	if len(items) != maxPlistFiles {
		t.Errorf("%d items, want %d", len(items), maxPlistFiles)
	}
	if err == nil || !strings.Contains(err.Error(), "application bundles, read the first") {
		t.Errorf("error %v does not say the list was cut", err)
	}
}

func TestMacAppsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := detectMacApps(ctx, &Env{Root: macFixture(t, "root-kav")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
