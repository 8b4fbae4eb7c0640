package detectors

import (
	"strings"
	"testing"
	"testing/fstest"

	"howett.net/plist"
)

// macJob is the item for a readable job plist.
func macJob(file, label, kind, exec string, missing bool, state State, why string) Item {
	detail := kind
	if exec != "" {
		detail += ", runs " + exec
	}
	if why != "" {
		detail += ", " + why
	}
	return Item{Kind: KindService, Name: label, Path: file, Exec: exec, ExecMissing: missing,
		State: state, Detail: detail}
}

func TestLaunchdFixtures(t *testing.T) {
	const (
		kis      = "/Applications/Kaspersky Internet Security.app/Contents/MacOS/Kaspersky Internet Security"
		kavBin   = "/Library/Application Support/Kaspersky Lab/KAV/Binaries"
		keystone = "/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle/Contents/Helpers/GoogleSoftwareUpdateDaemon"
		agent    = "/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle/Contents/Helpers/GoogleSoftwareUpdateAgent.app/Contents/MacOS/GoogleSoftwareUpdateAgent"
		alice    = "/Users/alice/Library/Google/GoogleSoftwareUpdate/GoogleSoftwareUpdate.bundle/Contents/Resources/GoogleSoftwareUpdateAgent.app/Contents/MacOS/GoogleSoftwareUpdateAgent"
	)
	tests := map[string][]Item{
		"root-kav": {
			// Disabled in its plist, enabled again with launchctl.
			macJob("Library/LaunchDaemons/com.google.keystone.daemon.plist", "com.google.keystone.daemon", "launch daemon", keystone, true, StateEnabled, ""),
			macJob("Library/LaunchDaemons/com.kaspersky.avscan.plist", "com.kaspersky.avscan", "launch daemon", kavBin+"/avscan", true, StateDisabled, "disabled by launchctl"),
			macJob("Library/LaunchDaemons/com.kaspersky.kav.plist", "com.kaspersky.kav", "launch daemon", kis, false, StateEnabled, ""),
			// Binary plist, Program rather than ProgramArguments.
			macJob("Library/LaunchDaemons/com.kaspersky.sysextctrld.plist", "com.kaspersky.sysextctrld", "launch daemon", kavBin+"/sysextctrld", false, StateEnabled, ""),
			macJob("Library/LaunchAgents/com.kaspersky.kav.gui.plist", "com.kaspersky.kav.gui", "launch agent", kis, false, StateEnabled, ""),
			macJob("Users/alice/Library/LaunchAgents/com.google.keystone.agent.plist", "com.google.keystone.agent", "launch agent of alice", alice, true, StateDisabled, "disabled in its plist"),
		},
		"root-clean": {
			macJob("Library/LaunchDaemons/com.google.keystone.daemon.plist", "com.google.keystone.daemon", "launch daemon", keystone, false, StateEnabled, ""),
			macJob("Library/LaunchAgents/com.google.keystone.agent.plist", "com.google.keystone.agent", "launch agent", agent, true, StateEnabled, ""),
		},
		"root-leftovers": {
			macJob("Library/LaunchDaemons/com.kaspersky.kav.plist", "com.kaspersky.kav", "launch daemon", kis, true, StateDisabled, "disabled by launchctl"),
		},
	}
	for root, want := range tests {
		t.Run(root, func(t *testing.T) {
			items, err := macDetect(t, detectLaunchd, macFixture(t, root))
			if err != nil {
				t.Errorf("error: %v", err)
			}
			macCheckItems(t, items, want)
		})
	}
}

func TestLaunchdEdgeCases(t *testing.T) {
	job := func(m map[string]any) *fstest.MapFile { return macPlist(t, m, plist.XMLFormat) }
	stub := &fstest.MapFile{Data: []byte("#!/bin/sh\n")}
	tests := []struct {
		name    string
		root    fstest.MapFS
		want    []Item
		errFile string
	}{
		{"no launchd folders", fstest.MapFS{}, nil, ""},
		{
			"unreadable job: a leftover named after its file, the next job still read",
			fstest.MapFS{
				"Library/LaunchDaemons/com.kaspersky.kav.plist": {Data: []byte("bplist00 truncated")},
				"Library/LaunchDaemons/com.kaspersky.x.plist":   job(map[string]any{"Label": "com.kaspersky.x", "Program": "kav"}),
				"Library/LaunchDaemons/.DS_Store":               stub,
				"Library/LaunchDaemons/README.txt":              stub,
				"usr/bin/kav":                                   stub,
			},
			[]Item{
				{Kind: KindService, Name: "com.kaspersky.kav", Path: "Library/LaunchDaemons/com.kaspersky.kav.plist", State: StateLeftover, Detail: "launch daemon, plist unreadable"},
				// A bare program name is looked up in launchd's PATH.
				macJob("Library/LaunchDaemons/com.kaspersky.x.plist", "com.kaspersky.x", "launch daemon", "kav", false, StateEnabled, ""),
			},
			"Library/LaunchDaemons/com.kaspersky.kav.plist",
		},
		{
			"no label, no program",
			fstest.MapFS{"Library/LaunchAgents/com.kaspersky.kav.gui.plist": job(map[string]any{"RunAtLoad": true})},
			[]Item{macJob("Library/LaunchAgents/com.kaspersky.kav.gui.plist", "com.kaspersky.kav.gui", "launch agent", "", false, StateEnabled, "")},
			"",
		},
		{
			"Program wins over ProgramArguments",
			fstest.MapFS{"Library/LaunchDaemons/j.plist": job(map[string]any{"Label": "j", "Program": "/a", "ProgramArguments": []any{"/b"}})},
			[]Item{macJob("Library/LaunchDaemons/j.plist", "j", "launch daemon", "/a", true, StateEnabled, "")},
			"",
		},
		{
			"overrides govern daemons, not agents; a damaged overrides file is an error",
			fstest.MapFS{
				"Library/LaunchDaemons/d.plist": job(map[string]any{"Label": "x"}),
				"Library/LaunchAgents/a.plist":  job(map[string]any{"Label": "x"}),
				launchdOverrides:                {Data: []byte("<plist><dict><key>x</key><true/></dict></plist>")},
			},
			[]Item{
				macJob("Library/LaunchDaemons/d.plist", "x", "launch daemon", "", false, StateDisabled, "disabled by launchctl"),
				macJob("Library/LaunchAgents/a.plist", "x", "launch agent", "", false, StateEnabled, ""),
			},
			"",
		},
		{
			"damaged overrides file",
			fstest.MapFS{
				"Library/LaunchDaemons/d.plist": job(map[string]any{"Label": "x", "Disabled": true}),
				launchdOverrides:                {Data: []byte("<plist><dict><key>x</key>")},
			},
			[]Item{macJob("Library/LaunchDaemons/d.plist", "x", "launch daemon", "", false, StateDisabled, "disabled in its plist")},
			launchdOverrides,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := macDetect(t, detectLaunchd, tc.root)
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
