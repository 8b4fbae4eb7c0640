package detectors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

// WindowsHost completes h from a Windows registry: the computer name
// (when the live OS did not give one), the edition and build (always, so
// live and offline scans agree), and the
// MachineGuid as the host id, so a live scan and an offline scan of the
// same disk give the same finding ids.
func WindowsHost(ctx context.Context, reg winreg.Machine, h Host) (Host, error) {
	var errs []error
	if sys, err := reg.Hive(ctx, "SYSTEM"); err != nil {
		errs = append(errs, err)
	} else if cs, err := CurrentControlSet(sys); err != nil {
		errs = append(errs, err)
	} else if h.Hostname == "" {
		h.Hostname = keyString(cs, `Control\ComputerName\ComputerName`, "ComputerName", &errs)
	}
	sw, err := reg.Hive(ctx, "SOFTWARE")
	if err != nil {
		return h, errors.Join(append(errs, err)...)
	}
	if id := keyString(sw, `Microsoft\Cryptography`, "MachineGuid", &errs); id != "" {
		h.ID = id
	}
	h.SystemDrive = winreg.SystemDrive(sw)
	// The registry's name for the edition wins over the live OS's, so a
	// live and an offline scan of one machine describe it alike.
	if p := windowsPlatform(sw, &errs); p != "windows" || h.Platform == "" {
		h.Platform = p
	}
	return h, errors.Join(errs...)
}

// windowsPlatform names the edition as people know it. ProductName still
// says "Windows 10" on Windows 11, whose builds start at 22000.
func windowsPlatform(sw winreg.Key, errs *[]error) string {
	k, err := sw.Open(`Microsoft\Windows NT\CurrentVersion`)
	if err != nil {
		*errs = append(*errs, err)
		return "windows"
	}
	v, err := winreg.ReadValues(k)
	*errs = append(*errs, err)
	name := v.String("ProductName")
	if name == "" {
		return "windows"
	}
	build := v.String("CurrentBuild")
	if n, err := strconv.Atoi(build); err == nil && n >= 22000 {
		name = strings.Replace(name, "Windows 10", "Windows 11", 1)
	}
	parts := []string{name}
	if d := v.String("DisplayVersion"); d != "" {
		parts = append(parts, d)
	}
	if build != "" {
		parts = append(parts, "(build "+build+")")
	}
	return strings.Join(parts, " ")
}

// CurrentControlSet opens the control set Windows boots with
// (Select\Current), as HKLM\SYSTEM\CurrentControlSet points to on a
// running system. A hive without Select (one assembled by hand, Wine's)
// falls back to a CurrentControlSet key, then to the first ControlSetNNN.
func CurrentControlSet(sys winreg.Key) (winreg.Key, error) {
	var errs []error
	if sel, err := sys.Open("Select"); err == nil {
		v, err := winreg.ReadValues(sel)
		if n, ok := v.Uint("Current"); ok {
			cs, err := sys.Open(fmt.Sprintf("ControlSet%03d", n))
			if err == nil {
				return cs, nil
			}
			errs = append(errs, err)
		} else {
			errs = append(errs, err, fmt.Errorf(`%s: no Current value`, sel.Path()))
		}
	} else {
		errs = append(errs, err)
	}
	if cs, err := sys.Open("CurrentControlSet"); err == nil {
		return cs, nil
	}
	names, err := sys.Subkeys()
	errs = append(errs, err)
	slices.Sort(names)
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), "controlset") {
			return sys.Open(n)
		}
	}
	return nil, errors.Join(append(errs, fmt.Errorf("%s: no control set", sys.Path()))...)
}

// keyString reads one string value, recording why it could not.
func keyString(k winreg.Key, path, name string, errs *[]error) string {
	sub, err := k.Open(path)
	if err != nil {
		*errs = append(*errs, err)
		return ""
	}
	v, err := winreg.ReadValues(sub)
	*errs = append(*errs, err)
	return v.String(name)
}
