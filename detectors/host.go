package detectors

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

// Host is the scanned system as far as the scan can tell.
type Host struct {
	Hostname string
	// OS is a GOOS name: linux, windows or darwin.
	OS string
	// Platform is the distribution or product and its version, "debian 12".
	Platform string
	Arch     string
	// ID identifies the machine across scans (its machine-id, else its
	// hostname). Finding ids are derived from it; it is not reported.
	ID string
	// Marker is the file that told the OS.
	Marker string
	// SystemDrive is the drive Windows is installed on ("C:"), which the
	// scanned root stands for. Windows only.
	SystemDrive string
}

// LiveHost is what the running OS says about itself.
type LiveHost struct {
	Hostname        string
	Platform        string
	PlatformVersion string
	KernelArch      string
}

// HostSource reports the running host. host_gopsutil.go is the real one.
type HostSource interface {
	LiveHost(ctx context.Context) (LiveHost, error)
}

// OS markers, as DESIGN.md lists them. Windows volumes mounted elsewhere
// keep their case but may differ in it, so those are looked up
// case-insensitively.
const (
	windowsMarker = "Windows/System32/config/SOFTWARE"
	macMarker     = "System/Library/CoreServices/SystemVersion.plist"
	// A Windows volume whose SOFTWARE hive is missing is still Windows;
	// the detectors then say which hive they could not read.
	windowsSystemHive = "Windows/System32/config/SYSTEM"
	// Since macOS 10.15 apps, settings and receipts live on the Data
	// volume and SystemVersion.plist on the sealed System volume; a
	// Data volume mounted alone is known by its system preferences.
	macDataMarker = "Library/Preferences/SystemConfiguration/preferences.plist"
)

// macDataVolume says whether root is a macOS Data volume mounted alone:
// it has the system preferences or the receipts folder, and no
// os-release.
func macDataVolume(root fs.FS) bool {
	if fileExists(root, "etc/os-release") || fileExists(root, "usr/lib/os-release") {
		return false
	}
	return fileExists(root, macDataMarker) || fileExists(root, "private/var/db/receipts")
}

// IdentifyHost tells which OS lives under root and names the host. On a
// live scan (live != nil) the hostname, platform and architecture come from
// the running OS. The returned error describes what could not be read; the
// Host is still as complete as the sources allow.
func IdentifyHost(ctx context.Context, root fs.FS, live HostSource) (Host, error) {
	var h Host
	var errs []error
	windows := winreg.LookupFold(root, windowsMarker)
	if windows == "" {
		windows = winreg.LookupFold(root, windowsSystemHive)
	}
	switch {
	case windows != "":
		h.OS, h.Platform, h.Marker = "windows", "windows", windows
	case live != nil && runtime.GOOS == "windows":
		// The running system is Windows even when the hive files cannot
		// be seen (a user without access to System32\config).
		h.OS, h.Platform, h.Marker = "windows", "windows", "the running system"
	case fileExists(root, macMarker) || macDataVolume(root):
		h.OS, h.Marker = "darwin", macMarker
		if !fileExists(root, macMarker) {
			h.Marker = macDataMarker
		}
		h.Platform = macPlatformPlist(root)
		h.Hostname, h.ID = macHostname(root)
	default:
		h.OS = "linux"
		platform, marker, err := linuxPlatform(root)
		h.Platform, h.Marker = platform, marker
		errs = append(errs, err)
	}
	if h.OS == "linux" {
		h.Hostname = firstLine(root, "etc/hostname")
		h.ID = firstLine(root, "etc/machine-id")
	}
	if live != nil {
		lh, err := live.LiveHost(ctx)
		errs = append(errs, err)
		h = mergeLive(h, lh)
	}
	if h.ID == "" {
		h.ID = h.Hostname
	}
	return h, errors.Join(errs...)
}

func mergeLive(h Host, lh LiveHost) Host {
	if lh.Hostname != "" {
		h.Hostname = lh.Hostname
	}
	if lh.Platform != "" {
		h.Platform = strings.TrimSpace(lh.Platform + " " + lh.PlatformVersion)
	}
	if lh.KernelArch != "" {
		h.Arch = goArch(lh.KernelArch)
	}
	return h
}

// goArch maps kernel machine names to Go's, as the report uses Go's.
func goArch(machine string) string {
	switch machine {
	case "x86_64", "x64", "AMD64":
		return "amd64"
	case "aarch64", "ARM64":
		return "arm64"
	case "i386", "i686", "x86":
		return "386"
	}
	return machine
}

// linuxPlatform reads os-release as "ID VERSION_ID".
func linuxPlatform(root fs.FS) (platform, marker string, err error) {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, rerr := fs.ReadFile(root, name)
		if rerr != nil {
			continue
		}
		kv := ParseOSRelease(b)
		id := kv["ID"]
		if id == "" {
			return "unknown", name, fmt.Errorf("%s: no ID field", name)
		}
		return strings.TrimSpace(id + " " + kv["VERSION_ID"]), name, nil
	}
	return "unknown", "", nil
}

// ParseOSRelease parses os-release(5): KEY=value lines, values optionally
// quoted with shell quoting. Unparseable lines are skipped, as systemd does.
func ParseOSRelease(b []byte) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		kv[strings.TrimSpace(k)] = unquoteShell(strings.TrimSpace(v))
	}
	return kv
}

func unquoteShell(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '\'' {
			return v
		}
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func firstLine(root fs.FS, name string) string {
	b, err := fs.ReadFile(root, name)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func fileExists(root fs.FS, name string) bool {
	_, err := fs.Stat(root, name)
	return err == nil
}
