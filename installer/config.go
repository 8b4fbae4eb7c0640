package installer

import (
	"fmt"
	"strings"
	"time"

	"github.com/banwatch/banwatch/agent"
)

// DefaultConfigYAML is the config file Install writes when there is none:
// agent.DefaultConfig(goos) with the state directory stateDir, written
// out as YAML with a comment on each setting and the optional sinks
// shown commented out. It parses back to the defaults.
func DefaultConfigYAML(goos, stateDir string) string {
	d := agent.DefaultConfig(goos)
	if stateDir == "" {
		stateDir = d.StateDir
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# banwatch agent configuration, written by \"banwatch install\".")
	w("# Check it with \"banwatch config check\"; see the effective values with")
	w("# \"banwatch config show\". It may hold a fleet token: keep it readable by")
	w("# the service's account only.")
	w("")
	w("# Time between scheduled scans; each wait is interval * (1 +- jitter).")
	w("interval: %s", durationText(d.Interval))
	w("jitter: %g", d.Jitter)
	w("")
	w("# A policy file; empty means the built-in policy.")
	w("policy: ''")
	w("# ISO 3166 alpha-2 code (US, DE, ...); empty means the policy's default.")
	w("jurisdiction: ''")
	w("")
	w("# State, status, log and fleet spool. \"banwatch uninstall\" keeps it;")
	w("# \"banwatch uninstall --purge\" removes it.")
	w("state_dir: %s", yamlQuote(stateDir))
	w("")
	w("log:")
	w("  # Defaults to banwatch.log in state_dir.")
	w("  # file: %s", yamlQuote(joinPath(goos, stateDir, "banwatch.log")))
	w("  max_size_mb: %d", d.Log.MaxSizeMB)
	w("  max_backups: %d", d.Log.MaxBackups)
	w("  max_age_days: %d", d.Log.MaxAgeDays)
	w("")
	w("# A notice to the person at the machine when something is found.")
	w("notice:")
	w("  enabled: %t", d.Notice.Enabled)
	w("")
	w("# Reports to the fleet endpoint (https; plain http only to loopback).")
	w("# fleet:")
	w("#   url: https://fleet.example.com/api/banwatch")
	w("#   token_file: /path/to/token        # or token: ..., not both")
	w("#   client_cert: /path/to/client.pem  # with client_key")
	w("#   client_key: /path/to/client.key")
	w("#   ca_file: /path/to/ca.pem")
	w("#   spool_max_mb: %d", d.Fleet.SpoolMaxMB)
	w("#   format: banwatch                # or ocsf: OCSF Detection Findings (class 2004)")
	w("")
	w("# Findings and heartbeats to syslog: udp://, tcp:// or tls://host:port.")
	w("# syslog:")
	w("#   address: tls://siem.example.com:6514")
	w("#   format: rfc5424                 # or cef")
	w("")
	w("# Events appended to a file as JSON lines, rotated like the log.")
	w("# file:")
	w("#   path: %s", yamlQuote(joinPath(goos, stateDir, "events.jsonl")))
	w("#   format: banwatch                # or ocsf: one Detection Finding per line")
	return b.String()
}

// durationText writes 1h0m0s as 1h and 30m0s as 30m.
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// yamlQuote single-quotes s, in which YAML takes backslashes (Windows
// paths) literally.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// joinPath joins with goos's separator, whatever this machine's is.
func joinPath(goos, dir, name string) string {
	sep := "/"
	if goos == "windows" {
		sep = `\`
	}
	return strings.TrimRight(dir, sep) + sep + name
}
