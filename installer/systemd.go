package installer

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// UnitName is the systemd unit Install writes.
const UnitName = Name + ".service"

// UnitParams are what the systemd unit names.
type UnitParams struct {
	Binary     string // ExecStart's program
	ConfigPath string // passed as run --config
	// WritablePaths are made writable under ProtectSystem=strict: the
	// state directory, and the log directory when it is elsewhere. The
	// first must exist when the unit starts; the others may not.
	WritablePaths []string
}

// SystemdUnit renders the unit. It replaces kardianos/service's
// built-in one, whose RestartSec=120 keeps a crashed agent down for two
// minutes, and adds hardening that still lets a root scanner read the
// whole system: /proc, /var/lib/dpkg, /opt, /usr/lib/modules and the
// home folders (read-only) for per-user installs. It has no template
// actions, so handed to kardianos as the SystemdScript option it
// renders to itself.
func SystemdUnit(p UnitParams) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by \"banwatch install\"; \"banwatch uninstall\" removes it.")
	w("[Unit]")
	w("Description=banwatch agent: finds banned security software (Kaspersky) and reports it")
	w("ConditionFileIsExecutable=%s", unitEscape(p.Binary))
	w("Wants=network-online.target")
	w("After=network-online.target")
	w("")
	w("[Service]")
	w("Type=simple")
	w("ExecStart=%s run --config %s", unitEscape(p.Binary), unitEscape(p.ConfigPath))
	w("ExecReload=/bin/kill -HUP $MAINPID")
	w("Restart=always")
	w("RestartSec=5")
	w("TimeoutStopSec=15")
	w("# Hardening: the system is read-only to the agent but for its state")
	w("# (and log) directory; home folders are readable for per-user installs.")
	w("ProtectSystem=strict")
	w("ProtectHome=read-only")
	seen := map[string]bool{}
	for i, dir := range p.WritablePaths {
		dir = filepath.Clean(dir)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		prefix := ""
		if i > 0 {
			prefix = "-" // a log directory that is not there yet is no reason not to start
		}
		w("ReadWritePaths=%s%s", prefix, unitEscape(dir))
	}
	w("NoNewPrivileges=yes")
	w("PrivateTmp=yes")
	w("ProtectControlGroups=yes")
	w("ProtectKernelTunables=yes")
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String()
}

// unitEscape quotes a path for a unit file when it has spaces or
// characters systemd treats specially; kardianos' cmdEscape does the
// same for its own template.
func unitEscape(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$%;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}

// writablePaths is the state directory and the log file's directory.
func writablePaths(stateDir, logFile string) []string {
	out := []string{filepath.Clean(stateDir)}
	if logFile != "" {
		if d := filepath.Clean(filepath.Dir(logFile)); d != out[0] && !strings.HasPrefix(d, out[0]+string(filepath.Separator)) {
			out = append(out, d)
		}
	}
	sort.Strings(out[1:])
	return out
}
