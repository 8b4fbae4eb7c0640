package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

func init() {
	register(Spec{Name: "macos-extensions", OS: []string{"darwin"}, Detector: DetectorFunc(detectMacExtensions)})
}

// sysextDB is sysextd's database of system extensions, every one it has
// seen and in what state (what "systemextensionsctl list" prints).
const sysextDB = "Library/SystemExtensions/db.plist"

// kextDirs hold third-party kernel extensions; macOS 11+ copies approved
// ones into StagedExtensions before loading them.
var kextDirs = []string{"Library/Extensions", "Library/StagedExtensions/Library/Extensions"}

// detectMacExtensions reports system extensions, kernel extensions on
// disk, and the kext approvals the user gave (mackextpolicy.go).
func detectMacExtensions(ctx context.Context, env *Env) ([]Item, error) {
	items, err := sysextItems(env.Root)
	errs := []error{err}
	for _, dir := range kextDirs {
		kexts, err := namesWithExt(env.Root, dir, ".kext")
		errs = append(errs, err)
		for _, k := range kexts {
			if err := ctx.Err(); err != nil {
				return items, errors.Join(append(errs, err)...)
			}
			if len(items) >= maxPlistFiles {
				errs = append(errs, fmt.Errorf("more than %d extensions, read the first %d", maxPlistFiles, maxPlistFiles))
				return items, errors.Join(errs...)
			}
			it, err := kextItem(env.Root, k)
			items = append(items, it)
			errs = append(errs, err)
		}
	}
	approvals, err := kextPolicyItems(ctx, env)
	return append(items, approvals...), errors.Join(append(errs, err)...)
}

// sysext is one entry of the system extension database.
type sysext struct {
	ID, Team, State, Version, Origin string
	Categories                       []string
}

// decodeSysextDB reads the "extensions" array of db.plist; entries that
// are not dictionaries are skipped.
func decodeSysextDB(b []byte) ([]sysext, error) {
	m, err := plistDict(b)
	if err != nil {
		return nil, err
	}
	list, _ := m["extensions"].([]any)
	var out []sysext
	for _, e := range list {
		d, ok := e.(map[string]any)
		if !ok {
			continue
		}
		bv := plistMap(d, "bundleVersion")
		x := sysext{
			ID:      plistString(d, "identifier"),
			Team:    plistString(d, "teamID"),
			State:   plistString(d, "state"),
			Version: plistString(bv, "CFBundleShortVersionString"),
			Origin:  plistString(d, "originPath"),
		}
		if x.Version == "" {
			x.Version = plistString(bv, "CFBundleVersion")
		}
		cats, _ := d["categories"].([]any)
		for _, c := range cats {
			if s, ok := c.(string); ok {
				x.Categories = append(x.Categories, s)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

func sysextItems(root fs.FS) ([]Item, error) {
	b, err := readPlistBytes(root, sysextDB)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // before macOS 10.15, or none ever installed
	}
	if err != nil {
		return nil, err
	}
	exts, err := decodeSysextDB(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sysextDB, err)
	}
	items := make([]Item, 0, len(exts))
	for _, x := range exts {
		it := Item{
			Kind: KindDriver, Name: x.ID, BundleID: x.ID, Publisher: x.Team,
			Version: x.Version, Path: sysextDB, State: sysextState(x.State),
			Detail: strings.Join(nonEmpty("system extension", x.State, teamText(x.Team)), ", "),
		}
		if x.Origin != "" || len(x.Categories) > 0 {
			it.Attrs = map[string]string{}
			if x.Origin != "" {
				it.Attrs["originPath"] = x.Origin
			}
			if len(x.Categories) > 0 {
				it.Attrs["categories"] = strings.Join(x.Categories, ",")
			}
		}
		items = append(items, it)
	}
	return items, nil
}

func teamText(team string) string {
	if team == "" {
		return ""
	}
	return "team " + team
}

// sysextState maps sysextd's states. One waiting for the user's approval
// or still being validated is installed but not running: disabled.
func sysextState(s string) State {
	switch {
	case s == "activated_enabled":
		return StateEnabled
	case s == "activated_disabled",
		strings.HasPrefix(s, "activated_waiting"),
		strings.HasPrefix(s, "validating"):
		return StateDisabled
	case strings.HasPrefix(s, "terminated"),
		strings.HasPrefix(s, "deactivated"),
		strings.HasPrefix(s, "uninstalled"):
		return StateLeftover
	}
	return StatePresent
}

func kextItem(root fs.FS, kext string) (Item, error) {
	info, bi, err := readInfoPlist(root, kext)
	kind := "kernel extension "
	if strings.HasPrefix(kext, "Library/StagedExtensions/") {
		kind = "staged kernel extension "
	}
	it := Item{Kind: KindDriver, Name: path.Base(kext), Path: info, State: StatePresent,
		Detail: kind + path.Base(kext)}
	if err != nil {
		return it, err
	}
	if bi.ID != "" {
		it.Name = bi.ID
	}
	it.BundleID, it.Version = bi.ID, bi.Version
	return it, nil
}
