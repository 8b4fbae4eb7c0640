package detectors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Spec describes a registered detector.
type Spec struct {
	Name string
	// Live detectors read the running system; offline scans skip them.
	Live bool
	// OS lists the target systems (GOOS names) the detector applies to;
	// empty means all. An offline scan of a Linux image runs the Linux
	// file detectors whatever OS banwatch itself runs on.
	OS       []string
	Detector Detector
}

// specs is the registration table. It is written only from init
// functions, before main runs, and read-only afterwards.
var specs = map[string]Spec{}

func register(s Spec) {
	if _, dup := specs[s.Name]; dup {
		panic("detectors: " + s.Name + " registered twice")
	}
	specs[s.Name] = s
}

// Names returns the registered detector names, sorted.
func Names() []string {
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Result is the outcome of one detector in one scan.
type Result struct {
	Name     string
	Items    []Item
	Err      error
	Skipped  string // why the detector did not run; empty if it ran
	Duration time.Duration
}

// Plan picks the detectors for a scan: the ones named (all registered ones
// when names is empty) that apply to the target. Detectors that do not
// apply come back as skipped results, so the report can say which ran.
func Plan(names []string, env *Env) (run []Spec, skipped []Result, err error) {
	if len(names) == 0 {
		names = Names()
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		s, ok := specs[n]
		if !ok {
			return nil, nil, fmt.Errorf("unknown detector %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		if why := s.skipReason(env); why != "" {
			skipped = append(skipped, Result{Name: n, Skipped: why})
			continue
		}
		run = append(run, s)
	}
	return run, skipped, nil
}

func (s Spec) skipReason(env *Env) string {
	if s.Live && !env.Live {
		return "live only: the root is an offline image"
	}
	if len(s.OS) > 0 && !slices.Contains(s.OS, env.Host.OS) {
		return fmt.Sprintf("does not apply to %s", env.Host.OS)
	}
	return ""
}

// Run runs the detectors concurrently and returns their results in the
// order given. A detector that fails or panics does not stop the others.
func Run(ctx context.Context, env *Env, run []Spec) []Result {
	results := make([]Result, len(run))
	var wg sync.WaitGroup
	for i, s := range run {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(ctx, env, s)
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, env *Env, s Spec) (res Result) {
	start := time.Now()
	res.Name = s.Name
	defer func() {
		if p := recover(); p != nil {
			res.Err = fmt.Errorf("detector %s panicked: %v", s.Name, p)
			if env.Log != nil {
				env.Log.Error("detector panicked", zap.String("detector", s.Name), zap.ByteString("stack", debug.Stack()))
			}
		}
		res.Duration = time.Since(start)
	}()
	items, err := s.Detector.Detect(ctx, env)
	for i := range items {
		items[i].Detector = s.Name
	}
	res.Items, res.Err = items, err
	var un *Unavailable
	if errors.As(err, &un) && len(items) == 0 {
		res.Err, res.Skipped = nil, un.Reason
	}
	return res
}
