package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

func init() {
	register(Spec{Name: "dpkg", OS: []string{"linux"}, Detector: DetectorFunc(detectDpkg)})
}

const (
	dpkgStatusFile = "var/lib/dpkg/status"
	// dpkg writes each change to a journal file here first and folds the
	// journal into status on its next run; until then the journal is the
	// truth (dpkg(1), "updates" directory).
	dpkgUpdatesDir = "var/lib/dpkg/updates"
)

// dpkgPackage is one stanza of the status database.
type dpkgPackage struct {
	Name       string
	Version    string
	Arch       string
	Maintainer string
	Status     string // the raw Status field: "want flag state"
	State      State
	File       string
	Line       int // where the stanza starts
}

func detectDpkg(ctx context.Context, env *Env) ([]Item, error) {
	pkgs, err := readDpkgFile(env.Root, dpkgStatusFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no dpkg on this root
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	pkgs, err = applyDpkgJournal(ctx, env.Root, pkgs)
	if err != nil {
		errs = append(errs, err)
	}
	items := make([]Item, 0, len(pkgs))
	for _, p := range pkgs {
		if p.State == "" { // not-installed: dpkg only remembers it
			continue
		}
		items = append(items, Item{
			Kind:      KindPackage,
			Name:      p.Name,
			Version:   p.Version,
			Publisher: p.Maintainer,
			Path:      p.File,
			State:     p.State,
			Detail:    "Status: " + p.Status,
		})
	}
	return items, errors.Join(errs...)
}

func readDpkgFile(root fs.FS, name string) ([]dpkgPackage, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseDpkgStatus(f, name)
}

// applyDpkgJournal overlays the pending journal entries, in the numeric
// order dpkg applies them, on the status stanzas.
func applyDpkgJournal(ctx context.Context, root fs.FS, pkgs []dpkgPackage) ([]dpkgPackage, error) {
	entries, err := fs.ReadDir(root, dpkgUpdatesDir)
	if err != nil {
		return pkgs, nil // no journal: nothing pending
	}
	var names []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, _ := strconv.Atoi(names[i])
		b, _ := strconv.Atoi(names[j])
		return a < b
	})
	index := make(map[string]int, len(pkgs))
	for i, p := range pkgs {
		index[p.Name+":"+p.Arch] = i
	}
	var errs []error
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return pkgs, err
		}
		updates, err := readDpkgFile(root, path.Join(dpkgUpdatesDir, n))
		if err != nil {
			errs = append(errs, err)
		}
		for _, u := range updates {
			if i, ok := index[u.Name+":"+u.Arch]; ok {
				pkgs[i] = u
				continue
			}
			index[u.Name+":"+u.Arch] = len(pkgs)
			pkgs = append(pkgs, u)
		}
	}
	return pkgs, errors.Join(errs...)
}

// dpkgStates maps the third word of Status to our states. Packages whose
// triggers are pending are configured and working; unpacked,
// half-configured and half-installed packages have files on disk but the
// package manager did not finish. "not-installed" maps to "" and is
// dropped.
var dpkgStates = map[string]State{
	"installed":        StateInstalled,
	"triggers-pending": StateInstalled,
	"triggers-awaited": StateInstalled,
	"half-configured":  StatePartial,
	"unpacked":         StatePartial,
	"half-installed":   StatePartial,
	"config-files":     StateLeftover,
	"not-installed":    "",
}

var (
	dpkgWants = map[string]bool{"unknown": true, "install": true, "hold": true, "deinstall": true, "purge": true}
	dpkgFlags = map[string]bool{"ok": true, "reinstreq": true}
)

// parseDpkgStatusField checks a Status value ("install ok installed").
func parseDpkgStatusField(v string) (State, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return "", fmt.Errorf("Status %q: want three words (want flag state)", v)
	}
	state, ok := dpkgStates[f[2]]
	if !ok || !dpkgWants[f[0]] || !dpkgFlags[f[1]] {
		return "", fmt.Errorf("Status %q: unknown value", v)
	}
	if f[1] == "reinstreq" && state != "" {
		// A failed install or removal: dpkg wants it reinstalled.
		state = StatePartial
	}
	return state, nil
}

// maintainerName drops the address from "Name <mail>".
func maintainerName(m string) string {
	if i := strings.IndexByte(m, '<'); i >= 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}
