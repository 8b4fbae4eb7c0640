// Package scan runs one scan: it opens the root, identifies the host, runs
// the detectors, evaluates the policy and builds the report
// (banwatch.scan/v1). The CLI and the agent both scan through it.
package scan

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/detectors"
	"github.com/banwatch/banwatch/detectors/winreg"
	"github.com/banwatch/banwatch/policy"
)

// Options configure a scan.
type Options struct {
	// Root is the directory to scan; empty means the running system.
	Root   string
	Policy *policy.Compiled
	// AsOf is the day cut-off rules are evaluated for; zero means today.
	AsOf time.Time
	// Jurisdiction is an ISO 3166 code; empty means the policy's default.
	Jurisdiction string
	// Detectors limits the scan to these detectors; empty means all.
	Detectors []string
	// ProbeUpdates lets a live scan connect to the vendors' update hosts
	// (TCP and a TLS handshake, nothing sent) to tell whether they are
	// reachable from here.
	ProbeUpdates bool
	Log          *zap.Logger
	Now          func() time.Time

	// Live sources; nil means the real ones. Tests may substitute them
	// where the real one cannot run.
	Host        detectors.HostSource
	Processes   detectors.ProcessLister
	Proc        fs.FS
	Connections detectors.ConnectionLister
	Resolver    detectors.Resolver
}

// ConfigError is a problem with the scan's own options (a root that does
// not exist, an unknown detector): the scan did not run.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Run scans and returns the report. Detector failures are listed in the
// report; only a bad option is an error, and it is a *ConfigError.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	started := o.Now()
	env, err := o.env(ctx)
	if err != nil {
		return nil, &ConfigError{err}
	}
	herr := identifyHost(ctx, env, o)
	if env.Registry != nil {
		defer env.Registry.Close()
	}
	run, skipped, err := detectors.Plan(o.Detectors, env)
	if err != nil {
		return nil, &ConfigError{err}
	}
	r := newReport(o, env, started)
	if herr != nil {
		r.Errors = append(r.Errors, Error{Detector: "host", Message: herr.Error()})
	}
	var items []detectors.Item
	for _, res := range detectors.Run(ctx, env, run) {
		r.addResult(res)
		items = append(items, res.Items...)
		if res.Err != nil {
			o.Log.Warn("detector failed", zap.String("detector", res.Name), zap.Error(res.Err))
		}
	}
	for _, res := range skipped {
		r.addResult(res)
	}
	if w, ok := env.Registry.(winreg.Warner); ok {
		for _, msg := range w.Warnings() {
			r.Errors = append(r.Errors, Error{Detector: "registry", Message: msg})
		}
	}
	r.Findings = o.Policy.Evaluate(items, policy.Options{
		AsOf: o.AsOf, Jurisdiction: r.Scan.Jurisdiction, HostID: env.Host.ID, OS: env.Host.OS,
	})
	if r.Findings == nil {
		r.Findings = []policy.Finding{}
	}
	r.Scan.DurationMS = o.Now().Sub(started).Milliseconds()
	return r, ctx.Err()
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Policy == nil {
		o.Policy = policy.Builtin()
	}
	if o.AsOf.IsZero() {
		o.AsOf = o.Now()
	}
	if o.Jurisdiction == "" {
		o.Jurisdiction = o.Policy.Policy().DefaultJurisdiction
	}
	o.Jurisdiction = strings.ToUpper(o.Jurisdiction)
	return o
}

// env opens the root and decides whether the scan is live.
func (o Options) env(ctx context.Context) (*detectors.Env, error) {
	dir := o.Root
	if dir == "" {
		dir = LiveRoot()
	}
	root, err := detectors.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	env := &detectors.Env{
		Root: root, RootDir: dir, Live: isLiveRoot(root.Dir()),
		Paths: o.Policy.FolderPatterns(), RegistryKeys: o.Policy.RegistryKeyPatterns(),
		UpdateHosts: o.Policy.UpdateHosts(), ManagedPorts: o.Policy.ManagedPorts(),
		Log: o.Log, Now: o.Now,
	}
	if env.Live {
		env.Processes = o.Processes
		if env.Processes == nil {
			env.Processes = detectors.NewProcessLister()
		}
		env.Proc = o.Proc
		if env.Proc == nil && runtime.GOOS == "linux" {
			env.Proc = os.DirFS("/proc")
		}
		env.Connections, env.Resolver, env.ProbeUpdates = o.Connections, o.Resolver, o.ProbeUpdates
		if env.Connections == nil {
			env.Connections = detectors.NewConnectionLister()
		}
	}
	return env, nil
}

// identifyHost fills env.Host and returns what could not be read.
func identifyHost(ctx context.Context, env *detectors.Env, o Options) error {
	var live detectors.HostSource
	if env.Live {
		live = o.Host
		if live == nil {
			live = detectors.NewHostSource()
		}
	}
	h, err := detectors.IdentifyHost(ctx, env.Root, live)
	env.Host = h
	if h.OS != "windows" {
		return err
	}
	errs := []error{err}
	env.Registry, err = openRegistry(env)
	errs = append(errs, err)
	if env.Registry != nil {
		env.Host, err = detectors.WindowsHost(ctx, env.Registry, env.Host)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// openRegistry opens the target's registry: the Windows API on a live
// Windows machine, the hive files of an offline image otherwise.
func openRegistry(env *detectors.Env) (winreg.Machine, error) {
	if !env.Live || runtime.GOOS != "windows" {
		return winreg.OpenImage(env.Root), nil
	}
	env.Services = detectors.NewServiceManager()
	return winreg.Live(env.Root)
}

// LiveRoot is the root of the running system: "/", or the system drive
// on Windows.
func LiveRoot() string {
	if runtime.GOOS != "windows" {
		return "/"
	}
	drive := os.Getenv("SystemDrive")
	if drive == "" {
		drive = "C:"
	}
	return drive + `\`
}

// isLiveRoot says whether dir is the running system's root, however the
// user spelled it.
func isLiveRoot(dir string) bool {
	a, err1 := os.Stat(dir)
	b, err2 := os.Stat(LiveRoot())
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// FailsOn says whether any finding is at or above min.
func FailsOn(r *Report, min policy.Severity) bool {
	for _, f := range r.Findings {
		if f.Severity.Rank() >= min.Rank() {
			return true
		}
	}
	return false
}
