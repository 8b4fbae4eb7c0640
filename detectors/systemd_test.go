package detectors

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
)

// sdFixture names a unit file in testdata/systemd (see its README.md).
func sdFixture(name string) string { return filepath.Join("testdata", "systemd", name) }

// sdMergedUsr is a merged-/usr root (Debian 12, Fedora, RHEL 9): lib, bin
// and sbin are relative links into usr.
var sdMergedUsr = diskTree{
	links: map[string]string{"lib": "usr/lib", "bin": "usr/bin", "sbin": "usr/sbin", "lib64": "usr/lib64"},
	dirs:  []string{"usr/lib/systemd/system", "usr/bin", "usr/sbin", "usr/lib64", "etc/systemd/system"},
}

// plus returns base with extra's entries added.
func (tr diskTree) plus(extra diskTree) diskTree {
	out := diskTree{files: map[string]string{}, copies: map[string]string{}, links: map[string]string{}}
	for _, t := range []diskTree{tr, extra} {
		for k, v := range t.files {
			out.files[k] = v
		}
		for k, v := range t.copies {
			out.copies[k] = v
		}
		for k, v := range t.links {
			out.links[k] = v
		}
		out.dirs = append(out.dirs, t.dirs...)
	}
	return out
}

func compareItems(t *testing.T, got, want []Item) {
	t.Helper()
	if len(got) == len(want) && (len(got) == 0 || reflect.DeepEqual(got, want)) {
		return
	}
	t.Errorf("got %d items, want %d", len(got), len(want))
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w any = "(none)", "(none)"
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestDetectSystemd(t *testing.T) {
	const (
		keslExec  = "/opt/kaspersky/kesl/libexec/kesl_launcher.sh"
		keslLib   = "usr/lib/systemd/system/kesl.service"
		keslEtc   = "etc/systemd/system/kesl.service"
		keslWants = "etc/systemd/system/multi-user.target.wants/kesl.service"
		gettyWant = "etc/systemd/system/getty.target.wants/"
	)
	keslUnit := map[string]string{keslLib: sdFixture("kesl.service")}
	keslEnabled := map[string]string{keslWants: "/lib/systemd/system/kesl.service"}
	keslItem := func(it Item) Item {
		it.Kind, it.Name = KindService, "kesl.service"
		return it
	}
	tests := []struct {
		name    string
		layout  diskTree // sdMergedUsr unless set
		tree    diskTree
		want    []Item
		wantErr bool
	}{
		{
			name: "kesl enabled by an absolute link, program missing",
			tree: diskTree{copies: keslUnit, links: keslEnabled},
			want: []Item{keslItem(Item{Path: keslLib, Exec: keslExec, ExecMissing: true, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=" + keslExec})},
		},
		{
			name: "kesl enabled by an absolute link, program present",
			tree: diskTree{copies: keslUnit, links: keslEnabled,
				files: map[string]string{"opt/kaspersky/kesl/libexec/kesl_launcher.sh": "#!/bin/sh\n"}},
			want: []Item{keslItem(Item{Path: keslLib, Exec: keslExec, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=" + keslExec})},
		},
		{
			name: "program reached through an absolute link inside the root",
			tree: diskTree{copies: keslUnit, links: map[string]string{
				keslWants:            "/lib/systemd/system/kesl.service",
				"opt/kaspersky/kesl": "/opt/kaspersky/kesl-12.1.0",
			}, files: map[string]string{"opt/kaspersky/kesl-12.1.0/libexec/kesl_launcher.sh": "#!/bin/sh\n"}},
			want: []Item{keslItem(Item{Path: keslLib, Exec: keslExec, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=" + keslExec})},
		},
		{
			// /bin/sh exists on the scanning machine but not in the image.
			name: "program a link to a file only the scanning machine has",
			tree: diskTree{copies: keslUnit, links: map[string]string{
				keslWants: "/lib/systemd/system/kesl.service",
				"opt/kaspersky/kesl/libexec/kesl_launcher.sh": "/bin/sh",
			}},
			want: []Item{keslItem(Item{Path: keslLib, Exec: keslExec, ExecMissing: true, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=" + keslExec})},
		},
		{
			name: "disabled unit",
			tree: diskTree{copies: map[string]string{"usr/lib/systemd/system/fstrim.service": sdFixture("fstrim.service")}},
			want: []Item{{Kind: KindService, Name: "fstrim.service", Path: "usr/lib/systemd/system/fstrim.service",
				Exec: "/sbin/fstrim", ExecMissing: true, State: StateDisabled, Detail: "not enabled, ExecStart=/sbin/fstrim"}},
		},
		{
			name: "disabled unit, program in usr/sbin found through the sbin link",
			tree: diskTree{copies: map[string]string{"usr/lib/systemd/system/fstrim.service": sdFixture("fstrim.service")},
				files: map[string]string{"usr/sbin/fstrim": "\x7fELF"}},
			want: []Item{{Kind: KindService, Name: "fstrim.service", Path: "usr/lib/systemd/system/fstrim.service",
				Exec: "/sbin/fstrim", State: StateDisabled, Detail: "not enabled, ExecStart=/sbin/fstrim"}},
		},
		{
			name: "masked unit without a unit file",
			tree: diskTree{links: map[string]string{"etc/systemd/system/foo.service": "/dev/null"}},
			want: []Item{{Kind: KindService, Name: "foo.service", Path: "etc/systemd/system/foo.service",
				State: StateMasked, Detail: "masked (linked to /dev/null)"}},
		},
		{
			name: "masked vendor unit that is also enabled",
			tree: diskTree{copies: keslUnit, links: map[string]string{keslEtc: "/dev/null", keslWants: "/lib/systemd/system/kesl.service"}},
			want: []Item{keslItem(Item{Path: keslEtc, State: StateMasked, Detail: "masked (linked to /dev/null)"})},
		},
		{
			name: "enablement link whose unit file apt remove deleted",
			tree: diskTree{links: keslEnabled},
			want: []Item{keslItem(Item{Path: keslWants, State: StateLeftover,
				Detail: "enablement link in multi-user.target.wants without a unit file"})},
		},
		{
			name: "instance link of a removed template",
			tree: diskTree{links: map[string]string{gettyWant + "getty@tty1.service": "/lib/systemd/system/getty@.service"}},
			want: []Item{{Kind: KindService, Name: "getty@.service", Path: gettyWant + "getty@tty1.service",
				State: StateLeftover, Detail: "enablement link in getty.target.wants without a unit file"}},
		},
		{
			name: "drop-in clears and replaces ExecStart",
			tree: diskTree{copies: keslUnit, links: keslEnabled, files: map[string]string{
				"etc/systemd/system/kesl.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/opt/other/bin --foreground\n",
			}},
			want: []Item{keslItem(Item{Path: keslLib, Exec: "/opt/other/bin", ExecMissing: true, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=/opt/other/bin"})},
		},
		{
			name: "drop-ins apply in name order, other files in .d are ignored",
			tree: diskTree{copies: keslUnit, links: keslEnabled, files: map[string]string{
				"etc/systemd/system/kesl.service.d/20-second.conf":       "[Service]\nExecStart=\nExecStart=/opt/second/bin\n",
				"etc/systemd/system/kesl.service.d/10-first.conf":        "[Service]\nExecStart=\nExecStart=/opt/first/bin\n",
				"etc/systemd/system/kesl.service.d/30-old.conf.dpkg-old": "[Service]\nExecStart=\nExecStart=/opt/old/bin\n",
				"etc/systemd/system/kesl.service.d/README":               "[Service]\nExecStart=\nExecStart=/opt/readme/bin\n",
				"opt/second/bin": "#!/bin/sh\n",
				"etc/systemd/system/kesl.service.d/40-environment.conf":     "[Service]\nEnvironment=KESL_DEBUG=1\n",
				"etc/systemd/system/kesl.service.d/50-not-service.conf":     "[Unit]\nExecStart=\n",
				"etc/systemd/system/kesl.service.d/60-commented-out.conf":   "[Service]\n#ExecStart=\n;ExecStart=\n",
				"etc/systemd/system/kesl.service.d/70-start-pre-only.conf":  "[Service]\nExecStartPre=/bin/true\n",
				"etc/systemd/system/kesl.service.d/80-install-section.conf": "[Install]\nWantedBy=graphical.target\n",
			}},
			want: []Item{keslItem(Item{Path: keslLib, Exec: "/opt/second/bin", State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=/opt/second/bin"})},
		},
		{
			name: "template enabled through an instance link",
			tree: diskTree{
				copies: map[string]string{"usr/lib/systemd/system/getty@.service": sdFixture("getty@.service")},
				links:  map[string]string{gettyWant + "getty@tty1.service": "/lib/systemd/system/getty@.service"},
				files:  map[string]string{"usr/sbin/agetty": "\x7fELF"},
			},
			want: []Item{{Kind: KindService, Name: "getty@.service", Path: "usr/lib/systemd/system/getty@.service",
				Exec: "/sbin/agetty", State: StateEnabled, Detail: "enabled (getty.target.wants), ExecStart=/sbin/agetty"}},
		},
		{
			name: "template enabled for two instances",
			tree: diskTree{
				copies: map[string]string{"usr/lib/systemd/system/getty@.service": sdFixture("getty@.service")},
				links: map[string]string{
					gettyWant + "getty@tty1.service": "/lib/systemd/system/getty@.service",
					gettyWant + "getty@tty2.service": "/lib/systemd/system/getty@.service",
				},
			},
			want: []Item{{Kind: KindService, Name: "getty@.service", Path: "usr/lib/systemd/system/getty@.service",
				Exec: "/sbin/agetty", ExecMissing: true, State: StateEnabled, Detail: "enabled (getty.target.wants), ExecStart=/sbin/agetty"}},
		},
		{
			name: "unit in etc/ and in lib/: etc/ wins",
			tree: diskTree{copies: keslUnit, links: keslEnabled, files: map[string]string{
				keslEtc: "[Unit]\nDescription=local copy\n\n[Service]\nExecStart=/usr/local/sbin/kesl-local --config /etc/kesl.conf\n",
			}},
			want: []Item{keslItem(Item{Path: keslEtc, Exec: "/usr/local/sbin/kesl-local", ExecMissing: true, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=/usr/local/sbin/kesl-local"})},
		},
		{
			name: "unit file is a link to a missing file",
			tree: diskTree{links: map[string]string{keslEtc: "/opt/kaspersky/kesl/share/kesl.service"}},
			want: []Item{keslItem(Item{Path: keslEtc, State: StateLeftover, Detail: "unit file links to a missing file"})},
		},
		{
			name: "enabled unit file that links to a missing file",
			tree: diskTree{links: map[string]string{keslEtc: "/opt/kaspersky/kesl/share/kesl.service", keslWants: "/etc/systemd/system/kesl.service"}},
			want: []Item{keslItem(Item{Path: keslEtc, State: StateLeftover, Detail: "unit file links to a missing file"})},
		},
		{
			name: "unit file linked into etc/ (systemctl link) is read inside the root",
			tree: diskTree{
				copies: map[string]string{"opt/kaspersky/kesl/share/kesl.service": sdFixture("kesl.service")},
				links:  map[string]string{keslEtc: "/opt/kaspersky/kesl/share/kesl.service", keslWants: "/etc/systemd/system/kesl.service"},
			},
			want: []Item{keslItem(Item{Path: keslEtc, Exec: keslExec, ExecMissing: true, State: StateEnabled,
				Detail: "enabled (multi-user.target.wants), ExecStart=" + keslExec})},
		},
		{
			// Debian ships these links in /lib/systemd/system, which is
			// /usr/lib/systemd/system: one directory, seen under two names.
			name: "vendor-enabled units on merged /usr are seen once",
			tree: diskTree{
				copies: map[string]string{
					"usr/lib/systemd/system/dbus.service":         sdFixture("dbus.service"),
					"usr/lib/systemd/system/getty-static.service": sdFixture("getty-static.service"),
				},
				links: map[string]string{
					"usr/lib/systemd/system/multi-user.target.wants/dbus.service":    "../dbus.service",
					"usr/lib/systemd/system/getty.target.wants/getty-static.service": "../getty-static.service",
					"usr/lib/systemd/system/multi-user.target.wants/getty.target":    "../getty.target",
					"usr/lib/systemd/system/sockets.target.wants/dbus.socket":        "../dbus.socket",
				},
				files: map[string]string{"usr/bin/dbus-daemon": "\x7fELF", "usr/bin/systemctl": "\x7fELF"},
			},
			want: []Item{
				{Kind: KindService, Name: "dbus.service", Path: "usr/lib/systemd/system/dbus.service", Exec: "/usr/bin/dbus-daemon",
					State: StateEnabled, Detail: "enabled (multi-user.target.wants), ExecStart=/usr/bin/dbus-daemon"},
				// systemd looks a program without a directory up in its
				// fixed search path (systemd.service(5), "Command lines").
				{Kind: KindService, Name: "getty-static.service", Path: "usr/lib/systemd/system/getty-static.service", Exec: "systemctl",
					State: StateEnabled, Detail: "enabled (getty.target.wants), ExecStart=systemctl"},
			},
		},
		{
			name: "program without a directory, in no directory of the search path",
			tree: diskTree{copies: map[string]string{"usr/lib/systemd/system/getty-static.service": sdFixture("getty-static.service")},
				files: map[string]string{"opt/bin/systemctl": "\x7fELF", "systemctl": "\x7fELF"}},
			want: []Item{{Kind: KindService, Name: "getty-static.service", Path: "usr/lib/systemd/system/getty-static.service",
				Exec: "systemctl", ExecMissing: true, State: StateDisabled, Detail: "not enabled, ExecStart=systemctl"}},
		},
		{
			name: "real Debian units with ExecStart prefixes",
			tree: diskTree{
				copies: map[string]string{
					"usr/lib/systemd/system/man-db.service":       sdFixture("man-db.service"),
					"usr/lib/systemd/system/postgresql@.service":  sdFixture("postgresql@.service"),
					"usr/lib/systemd/system/e2scrub_reap.service": sdFixture("e2scrub_reap.service"),
				},
				links: map[string]string{
					"etc/systemd/system/multi-user.target.wants/e2scrub_reap.service":       "/lib/systemd/system/e2scrub_reap.service",
					"etc/systemd/system/multi-user.target.wants/postgresql@15-main.service": "/lib/systemd/system/postgresql@.service",
				},
				files: map[string]string{"usr/bin/install": "\x7fELF", "usr/sbin/e2scrub_all": "#!/bin/bash\n"},
			},
			want: []Item{
				{Kind: KindService, Name: "e2scrub_reap.service", Path: "usr/lib/systemd/system/e2scrub_reap.service", Exec: "/sbin/e2scrub_all",
					State: StateEnabled, Detail: "enabled (multi-user.target.wants), ExecStart=/sbin/e2scrub_all"},
				{Kind: KindService, Name: "man-db.service", Path: "usr/lib/systemd/system/man-db.service", Exec: "/usr/bin/install",
					State: StateDisabled, Detail: "not enabled, ExecStart=/usr/bin/install"},
				{Kind: KindService, Name: "postgresql@.service", Path: "usr/lib/systemd/system/postgresql@.service", Exec: "/usr/bin/pg_ctlcluster",
					ExecMissing: true, State: StateEnabled, Detail: "enabled (multi-user.target.wants), ExecStart=/usr/bin/pg_ctlcluster"},
			},
		},
		{
			name: "empty drop-in directory of a removed unit",
			tree: diskTree{dirs: []string{"etc/systemd/system/kesl.service.d"}},
			want: nil,
		},
		{
			name: "drop-in of a removed unit",
			tree: diskTree{files: map[string]string{"etc/systemd/system/kesl.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/opt/other/bin\n"}},
			want: []Item{keslItem(Item{Path: "etc/systemd/system/kesl.service.d/override.conf", State: StateLeftover,
				Detail: "drop-in without a unit file"})},
		},
		{
			name: "units of other types are not services",
			tree: diskTree{
				files: map[string]string{
					"usr/lib/systemd/system/fstrim.timer": "[Timer]\nOnCalendar=weekly\n",
					"usr/lib/systemd/system/dbus.socket":  "[Socket]\nListenStream=/run/dbus/system_bus_socket\n",
				},
				links: map[string]string{
					"etc/systemd/system/timers.target.wants/fstrim.timer":         "/lib/systemd/system/fstrim.timer",
					"etc/systemd/system/multi-user.target.wants/remote-fs.target": "/lib/systemd/system/remote-fs.target",
				},
			},
			want: nil,
		},
		{
			name:   "no systemd at all",
			layout: diskTree{dirs: []string{"etc/init.d"}},
			want:   nil,
		},
		{
			// Debian 11 and older: lib and usr/lib are two directories;
			// lib/systemd/system comes first in systemd's search path.
			name:   "split /usr: lib/systemd/system before usr/lib/systemd/system",
			layout: diskTree{dirs: []string{"lib/systemd/system", "usr/lib/systemd/system", "etc/systemd/system"}},
			tree: diskTree{
				copies: map[string]string{
					"lib/systemd/system/kesl.service":       sdFixture("kesl.service"),
					"usr/lib/systemd/system/fstrim.service": sdFixture("fstrim.service"),
				},
				files: map[string]string{
					"usr/lib/systemd/system/kesl.service": "[Service]\nExecStart=/usr/lib/shadowed\n",
					"sbin/fstrim":                         "\x7fELF",
				},
				links: keslEnabled,
			},
			want: []Item{
				{Kind: KindService, Name: "fstrim.service", Path: "usr/lib/systemd/system/fstrim.service", Exec: "/sbin/fstrim",
					State: StateDisabled, Detail: "not enabled, ExecStart=/sbin/fstrim"},
				keslItem(Item{Path: "lib/systemd/system/kesl.service", Exec: keslExec, ExecMissing: true, State: StateEnabled,
					Detail: "enabled (multi-user.target.wants), ExecStart=" + keslExec}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layout := sdMergedUsr
			if tt.layout.dirs != nil || tt.layout.links != nil {
				layout = tt.layout
			}
			_, root := layout.plus(tt.tree).build(t)
			items, err := detectSystemd(context.Background(), &Env{Root: root})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			compareItems(t, items, tt.want)
		})
	}
}

// The same merged-/usr layout as an fstest.MapFS, which follows relative
// links only.
func TestDetectSystemdMapFS(t *testing.T) {
	unit := "[Service]\nExecStart=/opt/kaspersky/kesl/libexec/kesl_launcher.sh\n"
	root := fstest.MapFS{
		"lib":                                 {Mode: fs.ModeSymlink, Data: []byte("usr/lib")},
		"usr/lib/systemd/system/kesl.service": {Data: []byte(unit)},
		"usr/lib/systemd/system/multi-user.target.wants/kesl.service": {Mode: fs.ModeSymlink, Data: []byte("../kesl.service")},
		"etc/systemd/system/foo.service":                              {Mode: fs.ModeSymlink, Data: []byte("/dev/null")},
		"opt/kaspersky/kesl/libexec/kesl_launcher.sh":                 {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
	}
	items, err := detectSystemd(context.Background(), &Env{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	compareItems(t, items, []Item{
		{Kind: KindService, Name: "foo.service", Path: "etc/systemd/system/foo.service", State: StateMasked,
			Detail: "masked (linked to /dev/null)"},
		{Kind: KindService, Name: "kesl.service", Path: "usr/lib/systemd/system/kesl.service",
			Exec: "/opt/kaspersky/kesl/libexec/kesl_launcher.sh", State: StateEnabled,
			Detail: "enabled (multi-user.target.wants), ExecStart=/opt/kaspersky/kesl/libexec/kesl_launcher.sh"},
	})
}

func TestDetectSystemdCancelled(t *testing.T) {
	_, root := sdMergedUsr.plus(diskTree{copies: map[string]string{"usr/lib/systemd/system/fstrim.service": sdFixture("fstrim.service")}}).build(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items, err := detectSystemd(ctx, &Env{Root: root})
	if !errors.Is(err, context.Canceled) || len(items) != 0 {
		t.Fatalf("detectSystemd = %v, %v; want no items, context.Canceled", items, err)
	}
}

// unitExecStart on unit text: prefixes, quoting, continuations, sections.
func TestUnitExecStart(t *testing.T) {
	tests := []struct {
		name string
		unit string
		want string
	}{
		{"plain", "[Service]\nExecStart=/usr/sbin/kesl --daemon\n", "/usr/sbin/kesl"},
		{"no arguments", "[Service]\nExecStart=/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{"- ignores the exit status", "[Service]\nExecStart=-/usr/sbin/kesl -d\n", "/usr/sbin/kesl"},
		{"@ passes argv[0]", "[Service]\nExecStart=@/usr/sbin/kesl kesl-daemon -d\n", "/usr/sbin/kesl"},
		{"+ full privileges", "[Service]\nExecStart=+/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{"! without credentials", "[Service]\nExecStart=!/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{"!! ambient capabilities", "[Service]\nExecStart=!!/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{": no environment expansion", "[Service]\nExecStart=:/usr/sbin/kesl $X\n", "/usr/sbin/kesl"},
		{"combined prefixes", "[Service]\nExecStart=-@:/usr/sbin/kesl kesl\n", "/usr/sbin/kesl"},
		{"double-quoted program with a space", "[Service]\nExecStart=\"/opt/my app/bin/daemon\" --flag\n", "/opt/my app/bin/daemon"},
		{"single-quoted program with a space", "[Service]\nExecStart='/opt/my app/bin/daemon' --flag\n", "/opt/my app/bin/daemon"},
		{"prefix before a quoted program", "[Service]\nExecStart=-\"/opt/my app/bin/daemon\"\n", "/opt/my app/bin/daemon"},
		{"tab after the program", "[Service]\nExecStart=/usr/sbin/kesl\t--daemon\n", "/usr/sbin/kesl"},
		{"spaces around =", "[Service]\nExecStart = /usr/sbin/kesl -d\n", "/usr/sbin/kesl"},
		{"CRLF line ends", "[Service]\r\nExecStart=/usr/sbin/kesl -d\r\n", "/usr/sbin/kesl"},
		{
			"arguments continued with backslashes",
			"[Service]\nExecStart=/opt/kaspersky/klnagent64/sbin/klnagent \\\n    -d \\\n    --foreground\nType=simple\n",
			"/opt/kaspersky/klnagent64/sbin/klnagent",
		},
		{"program on a continuation line", "[Service]\nExecStart=\\\n    /opt/kaspersky/klnagent64/sbin/klnagent -d\n", "/opt/kaspersky/klnagent64/sbin/klnagent"},
		{"first of several", "[Service]\nType=oneshot\nExecStart=/usr/bin/first\nExecStart=/usr/bin/second\n", "/usr/bin/first"},
		{"ExecStartPre is another key", "[Service]\nExecStartPre=/usr/bin/pre\nExecStart=/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{"only in [Service]", "[Unit]\nExecStart=/usr/bin/unit\n[Install]\nExecStart=/usr/bin/install\n", ""},
		{"commented out", "[Service]\n#ExecStart=/usr/bin/hash\n; ExecStart=/usr/bin/semicolon\nExecStart=/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{"cleared and not set again", "[Service]\nExecStart=/usr/sbin/kesl\nExecStart=\n", ""},
		{"section header with spaces", "  [Service]  \n  ExecStart=/usr/sbin/kesl\n", "/usr/sbin/kesl"},
		{"no ExecStart", "[Service]\nType=oneshot\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fstest.MapFS{"u.service": {Data: []byte(tt.unit)}}
			got, err := unitExecStart(root, []string{"u.service"})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("unitExecStart = %q, want %q", got, tt.want)
			}
		})
	}
}
