// Package detectors observes a machine, or an offline image of one, and
// returns typed inventory items with their evidence. It knows nothing of
// policy: deciding what an item means is the policy package's job.
//
// Each detector lives in its own file (dpkg.go, rpm.go, ...) and registers
// itself from init, the way Prometheus node_exporter's collectors do; the
// part that differs per OS sits in files with build tags
// (kernelmodules_linux.go). File-based detectors read only through
// Env.Root, an fs.FS rooted at the scanned root, so a live scan, an offline
// image and a test fixture are read the same way.
package detectors

import (
	"context"
	"io/fs"
	"time"

	"go.uber.org/zap"

	"github.com/banwatch/banwatch/detectors/winreg"
)

// Detector enumerates one source of inventory.
//
// A detector returns what it could read even when it also returns an error:
// a damaged database yields the packages before the damage and an error
// naming the file and line, and the scan reports both.
type Detector interface {
	Detect(ctx context.Context, env *Env) ([]Item, error)
}

// DetectorFunc adapts a function to Detector.
type DetectorFunc func(ctx context.Context, env *Env) ([]Item, error)

// Detect calls f.
func (f DetectorFunc) Detect(ctx context.Context, env *Env) ([]Item, error) { return f(ctx, env) }

// Env is what a detector may use. The scan builds one per run.
type Env struct {
	// Root is the scanned root: "/" on a live machine, a mounted image
	// otherwise. Paths in it are slash-separated and relative ("etc/hostname").
	Root fs.FS
	// RootDir is the root as the user gave it, for messages.
	RootDir string
	// Live is true when Root is the running system, so live sources
	// (processes, loaded modules) describe the same machine.
	Live bool
	// Host is the identified target system.
	Host Host
	// Paths are path patterns (fs.Glob syntax, relative to Root) that the
	// files detector looks up. The scan fills them from the policy, so
	// this package needs no knowledge of which products matter.
	Paths []string
	// RegistryKeys are Windows registry key patterns
	// (HKLM\SOFTWARE\Vendor\*) that the windows-registry detector looks
	// up; the scan fills them from the policy.
	RegistryKeys []string
	// Proc is the live /proc, for detectors that read kernel state.
	Proc fs.FS
	// Processes lists live processes.
	Processes ProcessLister
	// Registry is the Windows registry of the target: the live one, or
	// the hives of an offline image. Nil when the target is not Windows.
	Registry winreg.Machine
	// Services reports the live state of Windows services and drivers
	// (the service control manager). Nil offline and off Windows.
	Services ServiceManager
	// UpdateHosts are the update and reputation hosts of the policy's
	// vendors: exact names, and patterns with * that can only be matched
	// against names seen (hosts files, DNS answers), never resolved.
	UpdateHosts []string
	// ManagedPorts are TCP ports of management servers that hand out
	// updates (Kaspersky Security Center: 13000, 14000, 13111, 15111).
	ManagedPorts []int
	// Resolver resolves update hosts for the update-traffic detector.
	// Nil means the system resolver.
	Resolver Resolver
	// Connections lists live network connections. Nil off live scans.
	Connections ConnectionLister
	// ProbeUpdates allows the update-traffic detector to connect to the
	// update hosts (TCP and TLS) to tell whether they are reachable.
	ProbeUpdates bool
	// TempDir is where a detector may copy a database it must not open in
	// place (see rpm.go). Empty means os.TempDir().
	TempDir string
	Log     *zap.Logger
	Now     func() time.Time
}

// Kind says what an item is.
type Kind string

// Kinds of inventory items. They appear as evidence "type" in reports.
const (
	KindPackage      Kind = "package"
	KindService      Kind = "service"
	KindProcess      Kind = "process"
	KindKernelModule Kind = "kernel-module"
	KindFolder       Kind = "folder"
	KindFile         Kind = "file"
	// KindProgram is a Windows installed program (an Uninstall entry).
	KindProgram Kind = "program"
	// KindDriver is a Windows kernel driver, a macOS kernel or system
	// extension.
	KindDriver Kind = "driver"
	// KindApplication is a macOS application bundle.
	KindApplication Kind = "application"
	// KindRegistryKey is a Windows registry key.
	KindRegistryKey Kind = "registry-key"
	// KindCertificate is a trusted root or CA certificate the machine
	// added (a registry certificate store, a Linux trust anchor).
	KindCertificate Kind = "certificate"
	// KindSignatures is what a source says about an install's signature
	// (anti-virus database) date. Name is the source's id ("avstate",
	// "kesl-control", "kesl-bases"); Attrs carry "last_update" (RFC 3339,
	// UTC), "confidence" (high, medium, low) and "source" (where, in
	// words), and may carry "update_source" (the server it updates from).
	KindSignatures Kind = "signatures"
	// KindConnection is a live network connection to a vendor's update
	// host or to a management server port. Name is the update host it
	// matched ("" when only the port did); Exec and Process name the
	// process; Attrs carry "remote" (host:port or ip:port), "remote_ip",
	// "remote_port", "status" (the TCP state), "channel" ("vendor" or
	// "managed"), "blocked" ("true"/"false") and "reason", and "sinkhole"
	// ("true") when the address is a sinkhole answer for the host (a
	// loopback address): then only a vendor's process makes it update
	// traffic.
	KindConnection Kind = "connection"
	// KindHostsEntry is a hosts-file line for an update host. Attrs carry
	// "address" and "sinkhole" ("true" when it points nowhere: 0.0.0.0,
	// 127.0.0.0/8, ::, ::1).
	KindHostsEntry Kind = "hosts-entry"
	// KindProbe is the outcome of an active probe of an update host
	// (scan --probe-updates). Attrs carry "reachable" and "error".
	KindProbe Kind = "probe"
	// KindSecurityProduct is an anti-virus product registered with the
	// Windows Security Center.
	KindSecurityProduct Kind = "security-product"
)

// State is what the source says about an item.
type State string

// States. Packages, programs and applications use installed, partial and leftover;
// services and drivers enabled, disabled, masked, leftover, running
// (services) or loaded (drivers, modules); processes running; files,
// folders and registry keys present; security products installed.
const (
	StateInstalled State = "installed"
	// StatePartial: the package manager stopped half way (unpacked,
	// half-installed, half-configured): its files are on disk.
	StatePartial  State = "partial"
	StateLeftover State = "leftover"
	StateEnabled  State = "enabled"
	StateDisabled State = "disabled"
	StateMasked   State = "masked"
	StateRunning  State = "running"
	StateLoaded   State = "loaded"
	StatePresent  State = "present"
)

// Item is one thing a detector saw.
type Item struct {
	// Detector is filled in by Run with the detector's name.
	Detector string
	Kind     Kind
	// Name is the package, unit, process, module name, or for files and
	// folders the path relative to the root.
	Name    string
	Version string
	// Publisher is the package's vendor or maintainer, as recorded.
	Publisher string
	// Path is where the evidence was read: "var/lib/dpkg/status",
	// "lib/systemd/system/kesl.service", "/proc/812".
	Path string
	// Exec is the executable as the machine sees it: a unit's ExecStart
	// program, a process's image.
	Exec string
	// ExecMissing is set when Exec does not exist under the root.
	ExecMissing bool
	State       State
	// Detail is the raw line or short text that proves the item, such as
	// "Status: install ok installed".
	Detail string
	// Process is set for processes.
	Process *Process
	// BundleID is the reverse-DNS identifier of a macOS application,
	// package receipt or extension ("com.kaspersky.kav").
	BundleID string
	// Attrs holds named facts a source gives beyond the fields above
	// (a registry key's values, a security product's decoded state),
	// for later evaluation steps such as signature dates.
	Attrs map[string]string
}

// Process is what a process snapshot records.
type Process struct {
	PID     int32
	PPID    int32
	User    string
	Cmdline string
	Started time.Time
}

// Unavailable is returned by a detector whose source does not exist on
// this target (the Security Center on Windows Server). The scan lists the
// detector as skipped with the reason instead of as an error.
type Unavailable struct{ Reason string }

func (u *Unavailable) Error() string { return u.Reason }

// ServiceManager reports which services and drivers are running right
// now. scm_windows.go is the real one.
type ServiceManager interface {
	// States returns the state of every service and driver, keyed by
	// lower-case service name.
	States(ctx context.Context) (map[string]ServiceStatus, error)
}

// ServiceStatus is the live state of one service or driver.
type ServiceStatus struct {
	Running bool
	PID     uint32
	// Type is the SERVICE_* type bits (1 kernel driver, 2 file system
	// driver, 0x10 own process, 0x20 shared process).
	Type uint32
}

// Resolver looks up host names; net.Resolver satisfies it.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Connection is one socket of a live connection snapshot.
type Connection struct {
	PID        int32
	Status     string // ESTABLISHED, SYN_SENT, ... as the OS names it
	LocalIP    string
	LocalPort  uint32
	RemoteIP   string
	RemotePort uint32
}

// ConnectionLister takes one snapshot of the machine's TCP connections.
// net_gopsutil.go is the real one.
type ConnectionLister interface {
	Connections(ctx context.Context) ([]Connection, error)
}
