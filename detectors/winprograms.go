package detectors

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

func init() {
	register(Spec{Name: "windows-programs", OS: []string{"windows"}, Detector: DetectorFunc(detectWindowsPrograms)})
}

// uninstallKey lists installed programs, as "Apps" and "Programs and
// Features" show them. 32-bit programs on 64-bit Windows register under
// WOW6432Node, per-user installs in each user's hive.
const uninstallKey = `Microsoft\Windows\CurrentVersion\Uninstall`

var uninstallViews = []struct{ path, view string }{
	{uninstallKey, "64-bit"},
	{`WOW6432Node\` + uninstallKey, "32-bit"},
}

// detectWindowsPrograms reads the Uninstall keys of the machine and of
// every user, logged on or not.
func detectWindowsPrograms(ctx context.Context, env *Env) ([]Item, error) {
	if env.Registry == nil {
		return nil, errors.New("no Windows registry to read")
	}
	var items []Item
	var errs []error
	root := newWinFiles(env)
	sw, err := env.Registry.Hive(ctx, "SOFTWARE")
	if err != nil {
		errs = append(errs, err)
	} else {
		for _, v := range uninstallViews {
			items = append(items, programs(root, sw, v.path, "machine, "+v.view, &errs)...)
		}
	}
	users, err := env.Registry.Users(ctx)
	errs = append(errs, err)
	for _, u := range users {
		scope := "user " + userName(u)
		for _, v := range uninstallViews {
			items = append(items, programs(root, u.Key, `Software\`+v.path, scope, &errs)...)
		}
	}
	return items, errors.Join(errs...)
}

func userName(u winreg.User) string {
	switch {
	case u.Profile != "" && u.SID != "":
		return fmt.Sprintf("%s (%s)", u.Profile[strings.LastIndex(u.Profile, "/")+1:], u.SID)
	case u.SID != "":
		return u.SID
	}
	return u.Profile
}

// programs reads the entries under one Uninstall key. A missing key is
// normal (no 32-bit view on 32-bit Windows).
func programs(root *winFiles, hive winreg.Key, path, scope string, errs *[]error) []Item {
	k, err := hive.Open(path)
	if err != nil {
		if !winreg.IsNotExist(err) {
			*errs = append(*errs, err)
		}
		return nil
	}
	names, err := k.Subkeys()
	*errs = append(*errs, err)
	var items []Item
	for _, name := range names {
		sub, err := k.Open(name)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		vals, err := winreg.ReadValues(sub)
		*errs = append(*errs, err)
		if it, ok := programItem(root, sub.Path(), name, scope, vals); ok {
			items = append(items, it)
		}
	}
	return items
}

// programItem makes an item of one Uninstall entry. Entries without a
// display name are hidden by Windows too (patches, parts of bundles).
func programItem(root *winFiles, keyPath, keyName, scope string, v winreg.Values) (Item, bool) {
	name := strings.TrimSpace(v.String("DisplayName"))
	if name == "" {
		return Item{}, false
	}
	it := Item{
		Kind: KindProgram, Name: name, Version: v.String("DisplayVersion"),
		Publisher: v.String("Publisher"), Path: keyPath, State: StateInstalled,
		Attrs: map[string]string{"uninstall_key": keyName, "scope": scope},
	}
	loc := v.String("InstallLocation")
	uninstaller := uninstallProgram(v.String("UninstallString"))
	if loc != "" {
		it.Attrs["install_location"] = loc
	}
	it.Detail = "installed program (" + scope + ")"
	switch {
	case root.missing(loc):
		it.State = StateLeftover
		it.Detail = fmt.Sprintf("program entry left behind (%s): its folder %s is gone", scope, loc)
	case loc == "" && root.missing(uninstaller):
		// Only without an install location: the uninstaller may sit in
		// a cache that cleaners empty while the product stays.
		it.State = StateLeftover
		it.Detail = fmt.Sprintf("program entry left behind (%s): its uninstaller %s is gone", scope, uninstaller)
	case loc != "":
		it.Detail += ", in " + loc
	}
	if uninstaller != "" {
		it.Exec = uninstaller
	}
	return it, true
}

// uninstallProgram extracts the program of an UninstallString, unless it
// is Windows Installer's (MsiExec.exe /X{...}), which says nothing about
// the product's own files.
func uninstallProgram(cmd string) string {
	exe := commandProgram(cmd)
	base := strings.ToLower(exe[strings.LastIndexAny(exe, `\/`)+1:])
	if base == "msiexec.exe" || base == "msiexec" {
		return ""
	}
	return exe
}

// commandProgram returns the program of a Windows command line: the quoted
// first part, or everything up to ".exe" (paths with spaces are often
// left unquoted), or the first word.
func commandProgram(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if strings.HasPrefix(cmd, `"`) {
		if end := strings.Index(cmd[1:], `"`); end >= 0 {
			return cmd[1 : end+1]
		}
		return strings.Trim(cmd, `"`)
	}
	if i := strings.Index(strings.ToLower(cmd), ".exe"); i >= 0 {
		return cmd[:i+4]
	}
	first, _, _ := strings.Cut(cmd, " ")
	return first
}

// winFiles checks Windows paths against the scanned root, which stands
// for the system drive.
type winFiles struct {
	fold  *winreg.FoldLookup
	drive string
}

func newWinFiles(env *Env) *winFiles {
	return &winFiles{fold: &winreg.FoldLookup{Root: env.Root}, drive: env.Host.SystemDrive}
}

// missing says whether a Windows path on the system drive is absent from
// the root. Paths elsewhere (another drive, a share) and empty ones are
// not known to be missing, nor are paths whose top folder ("Program
// Files (x86)") the root lacks: a partial copy of a drive, or an image
// holding only the registry, says nothing about them.
func (w *winFiles) missing(winPath string) bool {
	rel := winreg.RootPath(winPath, w.drive)
	if rel == "" {
		return false
	}
	top, _, _ := strings.Cut(rel, "/")
	if w.fold.Find(top) == "" {
		return false
	}
	return w.fold.Find(rel) == ""
}
