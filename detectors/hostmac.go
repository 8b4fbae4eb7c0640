package detectors

import (
	"io/fs"
	"strings"
)

// macPreferences is where configd keeps the names scutil sets.
const macPreferences = "Library/Preferences/SystemConfiguration/preferences.plist"

// macHostname names a macOS image and gives its machine id.
//
// The name is HostName if the administrator set one, else the Bonjour
// LocalHostName (what the running system reports, less ".local"), else
// the free-form ComputerName. The id is the hostname: the hardware UUID
// is not kept in a system file (only in the names of per-user ByHost
// preference files, which Migration Assistant carries between machines).
func macHostname(root fs.FS) (hostname, id string) {
	m, err := readPlistDict(root, macPreferences)
	if err != nil {
		return "", ""
	}
	name := macHostnameOf(m)
	return name, name
}

// macHostnameOf reads the names from a decoded preferences.plist.
func macHostnameOf(m map[string]any) string {
	sys := plistMap(m, "System")
	names := plistMap(sys, "System")
	local := plistString(plistMap(plistMap(sys, "Network"), "HostNames"), "LocalHostName")
	for _, name := range []string{plistString(names, "HostName"), local, plistString(names, "ComputerName")} {
		if name = strings.TrimSpace(name); name != "" {
			return name
		}
	}
	return ""
}

// macPlatformPlist reads SystemVersion.plist, XML or binary, as
// "macos 14.5"; "macos" when it cannot be read.
func macPlatformPlist(root fs.FS) string {
	m, err := readPlistDict(root, macMarker)
	if err != nil {
		return "macos"
	}
	return strings.TrimSpace("macos " + plistString(m, "ProductVersion"))
}

// macVarPath finds a path under /var on a macOS root. On a whole system
// var is a link to private/var; a Data volume mounted alone has only
// private/var.
func macVarPath(root fs.FS, rel string) string {
	if _, err := fs.Stat(root, "var"); err == nil {
		return rel
	}
	if alt := "private/" + rel; fileExists(root, alt) {
		return alt
	}
	return rel
}
