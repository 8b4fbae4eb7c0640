package detectors

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

func init() {
	register(Spec{Name: "windows-services", OS: []string{"windows"}, Detector: DetectorFunc(detectWindowsServices)})
}

// Service types (winnt.h SERVICE_*): drivers and processes.
const (
	serviceKernelDriver = 0x01
	serviceFSDriver     = 0x02
	serviceRecognizer   = 0x08
	serviceOwnProcess   = 0x10
	serviceShareProcess = 0x20
)

var startTypes = map[uint64]string{0: "boot start", 1: "system start", 2: "automatic start", 3: "manual start", 4: "disabled"}

// detectWindowsServices lists services and kernel drivers from the
// registry, where the service control manager keeps them
// (HKLM\SYSTEM\CurrentControlSet\Services): the same source live and
// offline. On a live machine the manager then says which run.
func detectWindowsServices(ctx context.Context, env *Env) ([]Item, error) {
	if env.Registry == nil {
		return nil, errors.New("no Windows registry to read")
	}
	sys, err := env.Registry.Hive(ctx, "SYSTEM")
	if err != nil {
		return nil, err
	}
	cs, err := CurrentControlSet(sys)
	if err != nil {
		return nil, err
	}
	services, err := cs.Open("Services")
	if err != nil {
		return nil, err
	}
	names, err := services.Subkeys()
	errs := []error{err}
	var states map[string]ServiceStatus
	if env.Live && env.Services != nil {
		states, err = env.Services.States(ctx)
		errs = append(errs, err)
	}
	var items []Item
	root := newWinFiles(env)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return items, err
		}
		k, err := services.Open(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vals, err := winreg.ReadValues(k)
		errs = append(errs, err)
		if it, ok := serviceItem(root, k.Path(), name, vals); ok {
			items = append(items, withLiveState(it, states))
		}
	}
	return items, errors.Join(errs...)
}

// serviceItem makes an item of one service key. Keys without a service
// type are parameters or event-log sources, not services.
func serviceItem(root *winFiles, keyPath, name string, v winreg.Values) (Item, bool) {
	typ, ok := v.Uint("Type")
	if !ok || typ&(serviceKernelDriver|serviceFSDriver|serviceRecognizer|serviceOwnProcess|serviceShareProcess) == 0 {
		return Item{}, false
	}
	start, hasStart := v.Uint("Start")
	it := Item{Kind: KindService, Name: name, Path: keyPath, State: StateEnabled,
		Attrs: map[string]string{"type": fmt.Sprintf("%#x", typ)}}
	what := "service"
	image := v.String("ImagePath")
	if typ&(serviceKernelDriver|serviceFSDriver|serviceRecognizer) != 0 {
		it.Kind, what = KindDriver, "driver"
		if typ&serviceFSDriver != 0 {
			what = "file system driver"
		}
		if image == "" {
			image = `System32\drivers\` + name + ".sys" // the loader's default
		}
		it.Exec = image
	} else {
		it.Exec = commandProgram(image)
	}
	if image != "" {
		it.Attrs["image_path"] = image
	}
	if d := v.String("DisplayName"); d != "" && !strings.HasPrefix(d, "@") {
		it.Attrs["display_name"] = d
	}
	startText := "start type not set"
	if hasStart {
		startText = startTypes[start]
		it.Attrs["start"] = startText
		if start == 4 {
			it.State = StateDisabled
		}
	}
	it.Detail = fmt.Sprintf("%s, %s", what, startText)
	if it.Exec != "" && root.missing(it.Exec) {
		it.ExecMissing = true
		it.Detail += ", its file is missing"
	}
	return it, true
}

// withLiveState marks what the service control manager reports running:
// services running, drivers loaded.
func withLiveState(it Item, states map[string]ServiceStatus) Item {
	st, ok := states[strings.ToLower(it.Name)]
	if !ok || !st.Running {
		return it
	}
	it.State = StateRunning
	if it.Kind == KindDriver {
		it.State = StateLoaded
	}
	it.Detail += ", " + string(it.State)
	if st.PID != 0 {
		it.Detail += fmt.Sprintf(" (pid %d)", st.PID)
		it.Process = &Process{PID: int32(st.PID)}
	}
	return it
}
