package detectors

import (
	"context"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func sysvFixture(name string) string { return filepath.Join("testdata", "sysvinit", name) }

func TestDetectSysVInit(t *testing.T) {
	// The links update-rc.d makes for "Default-Start: 2 3 4 5",
	// "Default-Stop: 0 1 6" (insserv numbers them; S01 is typical).
	keslLinks := map[string]string{
		"etc/rc0.d/K01kesl-supervisor": "../init.d/kesl-supervisor",
		"etc/rc1.d/K01kesl-supervisor": "../init.d/kesl-supervisor",
		"etc/rc2.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
		"etc/rc3.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
		"etc/rc4.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
		"etc/rc5.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
		"etc/rc6.d/K01kesl-supervisor": "../init.d/kesl-supervisor",
	}
	kesl := map[string]string{"etc/init.d/kesl-supervisor": sysvFixture("kesl-supervisor")}
	script := func(name, state, detail string) Item {
		return Item{Kind: KindService, Name: name, Path: "etc/init.d/" + name, State: State(state), Detail: detail}
	}
	tests := []struct {
		name string
		tree diskTree
		want []Item
	}{
		{
			name: "started in runlevels 2 to 5",
			tree: diskTree{copies: kesl, links: keslLinks},
			want: []Item{script("kesl-supervisor", "enabled", "init script, started in rc2.d, rc3.d, rc4.d, rc5.d")},
		},
		{
			name: "started in one runlevel, by an absolute link with another number",
			tree: diskTree{copies: kesl, links: map[string]string{"etc/rc3.d/S20kesl-supervisor": "/etc/init.d/kesl-supervisor"}},
			want: []Item{script("kesl-supervisor", "enabled", "init script, started in rc3.d")},
		},
		{
			name: "boot script started in rcS.d",
			tree: diskTree{
				copies: map[string]string{"etc/init.d/procps": sysvFixture("procps")},
				links:  map[string]string{"etc/rcS.d/S01procps": "../init.d/procps"},
			},
			want: []Item{script("procps", "enabled", "init script, started in rcS.d")},
		},
		{
			name: "script without links",
			tree: diskTree{copies: kesl},
			want: []Item{script("kesl-supervisor", "disabled", "init script, no start link")},
		},
		{
			// update-rc.d disable turns the S links into K links.
			name: "script with only K links",
			tree: diskTree{copies: kesl, links: map[string]string{
				"etc/rc0.d/K01kesl-supervisor": "../init.d/kesl-supervisor",
				"etc/rc2.d/K01kesl-supervisor": "../init.d/kesl-supervisor",
				"etc/rc3.d/K01kesl-supervisor": "../init.d/kesl-supervisor",
			}},
			want: []Item{script("kesl-supervisor", "disabled", "init script, no start link")},
		},
		{
			name: "S links in halt and single-user runlevels do not enable",
			tree: diskTree{copies: kesl, links: map[string]string{
				"etc/rc0.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
				"etc/rc1.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
				"etc/rc6.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
			}},
			want: []Item{script("kesl-supervisor", "disabled", "init script, no start link")},
		},
		{
			name: "names that only look like start links",
			tree: diskTree{copies: kesl, links: map[string]string{
				"etc/rc2.d/Skesl-supervisor":   "../init.d/kesl-supervisor",
				"etc/rc2.d/S1kesl-supervisor":  "../init.d/kesl-supervisor",
				"etc/rc2.d/s01kesl-supervisor": "../init.d/kesl-supervisor",
			}, files: map[string]string{"etc/rc2.d/README": "The scripts in this directory are executed...\n"}},
			want: []Item{script("kesl-supervisor", "disabled", "init script, no start link")},
		},
		{
			name: "README, skeleton, dotfiles and directories are not scripts",
			tree: diskTree{
				copies: map[string]string{"etc/init.d/dbus": sysvFixture("dbus")},
				files: map[string]string{
					"etc/init.d/README":                 "All scripts in this directory ...\n",
					"etc/init.d/skeleton":               "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: skeleton\n",
					"etc/init.d/.depend.boot":           "TARGETS = procps\n",
					"etc/init.d/.legacy-bootordering":   "",
					"etc/init.d/functions.d/kesl-funcs": "#!/bin/sh\n",
				},
				links: map[string]string{"etc/rc2.d/S01dbus": "../init.d/dbus"},
			},
			want: []Item{script("dbus", "enabled", "init script, started in rc2.d")},
		},
		{
			name: "a Debian 12 host with kesl",
			tree: diskTree{
				copies: map[string]string{
					"etc/init.d/dbus":            sysvFixture("dbus"),
					"etc/init.d/procps":          sysvFixture("procps"),
					"etc/init.d/kesl-supervisor": sysvFixture("kesl-supervisor"),
				},
				links: map[string]string{
					"etc/rc2.d/S01dbus":            "../init.d/dbus",
					"etc/rc3.d/S01dbus":            "../init.d/dbus",
					"etc/rcS.d/S01procps":          "../init.d/procps",
					"etc/rc2.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
					"etc/rc5.d/S01kesl-supervisor": "../init.d/kesl-supervisor",
					// A start link whose script was removed names no script.
					"etc/rc2.d/S01kav4fs-supervisor": "../init.d/kav4fs-supervisor",
				},
			},
			want: []Item{
				script("dbus", "enabled", "init script, started in rc2.d, rc3.d"),
				script("kesl-supervisor", "enabled", "init script, started in rc2.d, rc5.d"),
				script("procps", "enabled", "init script, started in rcS.d"),
			},
		},
		{
			name: "no etc/init.d",
			tree: diskTree{dirs: []string{"etc/systemd/system", "etc/rc2.d"}},
			want: nil,
		},
		{
			name: "empty etc/init.d",
			tree: diskTree{dirs: []string{"etc/init.d"}},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := tt.tree.build(t)
			items, err := detectSysVInit(context.Background(), &Env{Root: root})
			if err != nil {
				t.Fatalf("detectSysVInit: %v", err)
			}
			compareItems(t, items, tt.want)
			for _, it := range items {
				if it.Exec != "" || it.ExecMissing {
					t.Errorf("%s: Exec = %q, ExecMissing = %v; want neither", it.Name, it.Exec, it.ExecMissing)
				}
			}
		})
	}
}

func TestDetectSysVInitNoRoot(t *testing.T) {
	items, err := detectSysVInit(context.Background(), &Env{Root: fstest.MapFS{}})
	if err != nil || items != nil {
		t.Fatalf("detectSysVInit on an empty root = %v, %v; want nil, nil", items, err)
	}
}

// etc/init.d that is not a directory is an error, not a silent nothing.
func TestDetectSysVInitNotADirectory(t *testing.T) {
	_, root := diskTree{files: map[string]string{"etc/init.d": "not a directory\n"}}.build(t)
	items, err := detectSysVInit(context.Background(), &Env{Root: root})
	if err == nil {
		t.Fatalf("no error; items %v", items)
	}
}
