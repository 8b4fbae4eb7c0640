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
	register(Spec{Name: "launchd", OS: []string{"darwin"}, Detector: DetectorFunc(detectLaunchd)})
}

// launchdOverrides is launchd's record of "launchctl disable/enable" for
// the system domain, where the daemons run. It wins over a job's own
// Disabled key.
const launchdOverrides = "var/db/com.apple.xpc.launchd/disabled.plist"

// jobDir is a folder of launchd job plists.
type jobDir struct {
	dir, kind string
	system    bool // in the system domain, which launchdOverrides governs
}

// jobDirs are where installers put launchd jobs. System/Library holds
// Apple's own, on the sealed system volume: skipped.
func jobDirs(root fs.FS) []jobDir {
	dirs := []jobDir{
		{dir: "Library/LaunchDaemons", kind: "launch daemon", system: true},
		{dir: "Library/LaunchAgents", kind: "launch agent"},
	}
	for _, d := range userDirs(root, "Library/LaunchAgents") {
		user := strings.Split(d, "/")[1]
		dirs = append(dirs, jobDir{dir: d, kind: "launch agent of " + user})
	}
	return dirs
}

func detectLaunchd(ctx context.Context, env *Env) ([]Item, error) {
	overrides, err := readLaunchdOverrides(env.Root)
	errs := []error{err}
	var items []Item
	for _, d := range jobDirs(env.Root) {
		files, err := namesWithExt(env.Root, d.dir, ".plist")
		errs = append(errs, err)
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return items, errors.Join(append(errs, err)...)
			}
			if len(items) == maxPlistFiles {
				errs = append(errs, fmt.Errorf("more than %d launchd jobs, read the first %d", maxPlistFiles, maxPlistFiles))
				return items, errors.Join(errs...)
			}
			var ov map[string]bool
			if d.system {
				ov = overrides
			}
			it, err := jobItem(env.Root, f, d.kind, ov)
			items = append(items, it)
			errs = append(errs, err)
		}
	}
	return items, errors.Join(errs...)
}

// launchdJob is what the scan reads from a job plist (launchd.plist(5)).
type launchdJob struct {
	Label, Program string
	Disabled       bool
}

// decodeLaunchdJob reads a job plist. The program is Program, else the
// first of ProgramArguments, as launchd runs it.
func decodeLaunchdJob(b []byte) (launchdJob, error) {
	m, err := plistDict(b)
	if err != nil {
		return launchdJob{}, err
	}
	job := launchdJob{Label: plistString(m, "Label"), Program: plistString(m, "Program")}
	job.Disabled, _ = plistBool(m, "Disabled")
	if args, ok := m["ProgramArguments"].([]any); ok && job.Program == "" && len(args) > 0 {
		job.Program, _ = args[0].(string)
	}
	return job, nil
}

// decodeLaunchdOverrides reads disabled.plist: label -> disabled.
func decodeLaunchdOverrides(b []byte) (map[string]bool, error) {
	m, err := plistDict(b)
	if err != nil {
		return nil, err
	}
	ov := make(map[string]bool, len(m))
	for label, v := range m {
		if disabled, ok := v.(bool); ok {
			ov[label] = disabled
		}
	}
	return ov, nil
}

func readLaunchdOverrides(root fs.FS) (map[string]bool, error) {
	name := macVarPath(root, launchdOverrides)
	b, err := readPlistBytes(root, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ov, err := decodeLaunchdOverrides(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ov, nil
}

func jobItem(root fs.FS, file, kind string, overrides map[string]bool) (Item, error) {
	it := Item{Kind: KindService, Name: strings.TrimSuffix(path.Base(file), ".plist"), Path: file}
	b, err := readPlistBytes(root, file)
	var job launchdJob
	if err == nil {
		if job, err = decodeLaunchdJob(b); err != nil {
			err = fmt.Errorf("%s: %w", file, err)
		}
	}
	if err != nil {
		// launchd does not load a job it cannot read: only the file is left.
		it.State, it.Detail = StateLeftover, kind+", plist unreadable"
		return it, err
	}
	if job.Label != "" {
		it.Name = job.Label
	}
	it.State, it.Detail = StateEnabled, kind
	if job.Program != "" {
		it.Exec = job.Program
		it.ExecMissing = !execUnder(root, job.Program)
		it.Detail += ", runs " + job.Program
	}
	disabled, overridden := overrides[it.Name]
	switch {
	case overridden && disabled:
		it.State, it.Detail = StateDisabled, it.Detail+", disabled by launchctl"
	case !overridden && job.Disabled:
		it.State, it.Detail = StateDisabled, it.Detail+", disabled in its plist"
	}
	return it, nil
}
