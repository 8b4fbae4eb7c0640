package detectors

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
)

func init() {
	register(Spec{Name: "systemd", OS: []string{"linux"}, Detector: DetectorFunc(detectSystemd)})
}

// unitDirs are systemd's system unit directories, highest precedence
// first (systemd.unit(5), "Unit File Load Path").
var unitDirs = []string{
	"etc/systemd/system",
	"run/systemd/system",
	"usr/local/lib/systemd/system",
	"lib/systemd/system",
	"usr/lib/systemd/system",
}

// unit is what the scan learns of one service unit.
type unit struct {
	name     string
	file     string // where its unit file is, "" if only links name it
	masked   bool
	wantedBy []string // the links in .wants/.requires directories that name it
	dropIns  []string
}

func detectSystemd(ctx context.Context, env *Env) ([]Item, error) {
	units := map[string]*unit{}
	get := func(name string) *unit {
		if u := units[name]; u != nil {
			return u
		}
		u := &unit{name: name}
		units[name] = u
		return u
	}
	var errs []error
	for _, dir := range unitDirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if isUnitDirAlias(env.Root, dir) {
			continue
		}
		if err := scanUnitDir(env.Root, dir, get); err != nil {
			errs = append(errs, err)
		}
	}
	names := make([]string, 0, len(units))
	for n := range units {
		names = append(names, n)
	}
	sort.Strings(names)
	items := make([]Item, 0, len(names))
	for _, n := range names {
		it, err := unitItem(env.Root, units[n])
		if err != nil {
			errs = append(errs, err)
		}
		items = append(items, it)
	}
	return items, errors.Join(errs...)
}

// scanUnitDir records the service units, enablement links and drop-ins in
// one directory. Directories earlier in unitDirs win.
func scanUnitDir(root fs.FS, dir string, get func(string) *unit) error {
	entries, err := fs.ReadDir(root, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, full := e.Name(), path.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(name, ".wants") || strings.HasSuffix(name, ".requires"):
			for _, link := range namesWithSuffix(root, full, ".service") {
				u := get(templateOf(link))
				u.wantedBy = append(u.wantedBy, path.Join(full, link))
			}
		case strings.HasSuffix(name, ".service.d"):
			confs := namesWithSuffix(root, full, ".conf")
			if len(confs) == 0 {
				continue // an empty drop-in directory says nothing
			}
			u := get(strings.TrimSuffix(name, ".d"))
			for _, conf := range confs {
				u.dropIns = append(u.dropIns, path.Join(full, conf))
			}
		case strings.HasSuffix(name, ".service"):
			u := get(name)
			if u.file != "" || u.masked {
				continue // shadowed by a directory of higher precedence
			}
			if target, err := fs.ReadLink(root, full); err == nil && target == "/dev/null" {
				u.masked, u.file = true, full // the mask link is the evidence
				continue
			}
			u.file = full
		}
	}
	return nil
}

// namesWithSuffix lists the entries of dir whose names end in suffix, in
// ReadDir's sorted order (the order drop-ins apply in).
func namesWithSuffix(root fs.FS, dir, suffix string) []string {
	entries, _ := fs.ReadDir(root, dir)
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// templateOf maps an instance "getty@tty1.service" to its template
// "getty@.service", whose file is the one on disk.
func templateOf(name string) string {
	at := strings.IndexByte(name, '@')
	if at < 0 {
		return name
	}
	return name[:at+1] + ".service"
}

func unitItem(root fs.FS, u *unit) (Item, error) {
	it := Item{Kind: KindService, Name: u.name, Path: u.file}
	var err error
	switch {
	case u.masked:
		it.State, it.Detail = StateMasked, "masked (linked to /dev/null)"
		return it, nil
	case u.file == "" && len(u.wantedBy) > 0:
		// Only an enablement link is left: the unit file is gone.
		it.State = StateLeftover
		it.Path = u.wantedBy[0]
		it.Detail = "enablement link in " + path.Base(path.Dir(u.wantedBy[0])) + " without a unit file"
		return it, nil
	case u.file == "":
		// Only drop-ins are left (run/ holds drop-ins for units of any
		// directory, so this is common and harmless).
		it.State = StateLeftover
		it.Path = u.dropIns[0]
		it.Detail = "drop-in without a unit file"
		return it, nil
	case len(u.wantedBy) > 0:
		var targets []string // one per directory, though instances repeat it
		for _, w := range u.wantedBy {
			if t := path.Base(path.Dir(w)); !slices.Contains(targets, t) {
				targets = append(targets, t)
			}
		}
		it.State, it.Detail = StateEnabled, "enabled ("+strings.Join(targets, ", ")+")"
	default:
		it.State, it.Detail = StateDisabled, "not enabled"
	}
	it.Exec, err = unitExecStart(root, append([]string{u.file}, u.dropIns...))
	if errors.Is(err, fs.ErrNotExist) {
		// A link to a unit file that is gone: a leftover, not a failure.
		it.State, it.Detail = StateLeftover, "unit file links to a missing file"
		return it, nil
	}
	if it.Exec != "" {
		it.Detail += ", ExecStart=" + it.Exec
		it.ExecMissing = !execExists(root, it.Exec)
	}
	return it, err
}

// unitExecStart returns the program of the first ExecStart= in the
// [Service] section of the unit and its drop-ins, in order; an empty
// "ExecStart=" clears what came before, as in systemd.
func unitExecStart(root fs.FS, files []string) (string, error) {
	var execs []string
	for _, f := range files {
		b, err := fs.ReadFile(root, f)
		if err != nil {
			return firstOf(execs), err
		}
		for _, v := range serviceValues(string(b), "ExecStart") {
			if v == "" {
				execs = nil
				continue
			}
			execs = append(execs, v)
		}
	}
	return execProgram(firstOf(execs)), nil
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// serviceValues returns the values of key in the [Service] section,
// joining lines continued with a backslash.
func serviceValues(text, key string) []string {
	var out []string
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	var cont strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		if cont.Len() > 0 {
			line = cont.String() + line
			cont.Reset()
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = line
		case section == "[Service]":
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == key {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// execProgram takes the program from an ExecStart value, dropping the
// special prefixes (systemd.service(5): "@-:+!") and the arguments.
func execProgram(v string) string {
	v = strings.TrimLeft(v, "@-:+!")
	if v == "" {
		return ""
	}
	if v[0] == '"' || v[0] == '\'' {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : end+1]
		}
	}
	if end := strings.IndexAny(v, " \t"); end >= 0 {
		return v[:end]
	}
	return v
}

// execSearchPath is where systemd looks up a program named without a
// directory (systemd.service(5), "Command lines"), as root-relative paths.
var execSearchPath = []string{"usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin"}

// execExists reports whether a unit's program exists under root.
func execExists(root fs.FS, prog string) bool {
	if path.IsAbs(prog) {
		return fileExists(root, strings.TrimPrefix(prog, "/"))
	}
	for _, dir := range execSearchPath {
		if fileExists(root, path.Join(dir, prog)) {
			return true
		}
	}
	return false
}

// isUnitDirAlias reports whether dir is another name, through a link on its
// way, for a unit directory scanned under its own name: lib/systemd/system
// on a merged-/usr system, where lib links to usr/lib. Scanning both would
// count each vendor enablement link and drop-in twice.
func isUnitDirAlias(root fs.FS, dir string) bool {
	for p := dir; p != "."; p = path.Dir(p) {
		target, err := fs.ReadLink(root, p)
		if err != nil {
			continue
		}
		if path.IsAbs(target) {
			target = strings.TrimPrefix(path.Clean(target), "/")
		} else {
			target = path.Join(path.Dir(p), target)
		}
		resolved := path.Join(target, strings.TrimPrefix(dir, p))
		return resolved != dir && slices.Contains(unitDirs, resolved)
	}
	return false
}
