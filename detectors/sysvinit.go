package detectors

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
)

func init() {
	register(Spec{Name: "sysvinit", OS: []string{"linux"}, Detector: DetectorFunc(detectSysVInit)})
}

// Older Kaspersky products for Linux (KESL 10 and 11, kav4fs) install
// System V init scripts such as /etc/init.d/kesl-supervisor; systemd runs
// them through generated units that an offline image does not have.
const initDir = "etc/init.d"

// runLevelDirs hold the S (start) links that enable a script.
var runLevelDirs = []string{"etc/rc2.d", "etc/rc3.d", "etc/rc4.d", "etc/rc5.d", "etc/rcS.d"}

func detectSysVInit(ctx context.Context, env *Env) ([]Item, error) {
	entries, err := fs.ReadDir(env.Root, initDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	started := startLinks(env.Root)
	var items []Item
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || name == "README" || name == "skeleton" {
			continue
		}
		// Exec stays empty: the script is not the program it starts, and
		// a removed package leaves its script behind as a conffile.
		it := Item{Kind: KindService, Name: name, Path: path.Join(initDir, name),
			State: StateDisabled, Detail: "init script, no start link"}
		if dirs := started[name]; len(dirs) > 0 {
			it.State, it.Detail = StateEnabled, "init script, started in "+strings.Join(dirs, ", ")
		}
		items = append(items, it)
	}
	return items, ctx.Err()
}

// startLinks maps script names to the runlevel directories whose S links
// start them ("S50kesl-supervisor" starts "kesl-supervisor").
func startLinks(root fs.FS) map[string][]string {
	started := map[string][]string{}
	for _, dir := range runLevelDirs {
		entries, _ := fs.ReadDir(root, dir)
		for _, e := range entries {
			n := e.Name()
			if len(n) > 3 && n[0] == 'S' && isDigit(n[1]) && isDigit(n[2]) {
				started[n[3:]] = append(started[n[3:]], path.Base(dir))
			}
		}
	}
	return started
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
