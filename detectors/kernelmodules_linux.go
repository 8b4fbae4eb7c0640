package detectors

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

func init() {
	register(Spec{Name: "kernel-modules", Live: true, OS: []string{"linux"}, Detector: DetectorFunc(detectKernelModules)})
}

// detectKernelModules lists the loaded modules from /proc/modules
// ("name size refcount deps state address", proc(5)).
func detectKernelModules(ctx context.Context, env *Env) ([]Item, error) {
	if env.Proc == nil {
		return nil, errors.New("no /proc to read")
	}
	b, err := fs.ReadFile(env.Proc, "modules")
	if errors.Is(err, fs.ErrNotExist) {
		// A kernel built without module support, or a sandbox (gVisor)
		// that hides them: no module can be loaded.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("/proc/modules: %w", err)
	}
	return parseProcModules(b)
}

func parseProcModules(b []byte) ([]Item, error) {
	perr := &ParseError{File: "/proc/modules"}
	var items []Item
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 5 {
			perr.add(line, "expected at least 5 fields, got %d", len(f))
			continue
		}
		items = append(items, Item{
			Kind: KindKernelModule, Name: f[0], Path: "/proc/modules", State: StateLoaded,
			Detail: fmt.Sprintf("loaded, state %s, used by %s", f[4], strings.TrimSuffix(f[3], ",")),
		})
	}
	return items, perr.orNil()
}
