package detectors

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// os-release files as the distributions ship them (/usr/lib/os-release;
// /etc/os-release links to it). Debian's is this build machine's.
const (
	osReleaseDebian12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`
	osReleaseUbuntu2204 = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
`
	osReleaseRHEL94 = `NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"
HOME_URL="https://www.redhat.com/"
DOCUMENTATION_URL="https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9"
BUG_REPORT_URL="https://issues.redhat.com/"

REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 9"
REDHAT_BUGZILLA_PRODUCT_VERSION=9.4
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
`
	osReleaseRocky94 = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
`
	osReleaseAlma94 = `NAME="AlmaLinux"
VERSION="9.4 (Seafoam Ocelot)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"
ANSI_COLOR="0;34"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"
HOME_URL="https://almalinux.org/"
DOCUMENTATION_URL="https://wiki.almalinux.org/"
BUG_REPORT_URL="https://bugs.almalinux.org/"

ALMALINUX_MANTISBT_PROJECT="AlmaLinux-9"
ALMALINUX_MANTISBT_PROJECT_VERSION="9.4"
REDHAT_SUPPORT_PRODUCT="AlmaLinux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
SUPPORT_END=2032-06-01
`
)

// A real macOS 14.5 SystemVersion.plist (XML form).
const macSystemVersion145 = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>BuildID</key>
	<string>6E4E8B4C-1E2B-11EF-A7B9-2E3E0C1A6A5D</string>
	<key>ProductBuildVersion</key>
	<string>23F79</string>
	<key>ProductCopyright</key>
	<string>1983-2024 Apple Inc.</string>
	<key>ProductName</key>
	<string>macOS</string>
	<key>ProductUserVisibleVersion</key>
	<string>14.5</string>
	<key>ProductVersion</key>
	<string>14.5</string>
	<key>iOSSupportVersion</key>
	<string>17.5</string>
</dict>
</plist>
`

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string // keys to check; all must match exactly
		n    int               // number of keys expected
	}{
		{"debian 12", osReleaseDebian12, map[string]string{
			"ID": "debian", "VERSION_ID": "12", "VERSION_CODENAME": "bookworm",
			"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "NAME": "Debian GNU/Linux",
		}, 9},
		{"ubuntu 22.04", osReleaseUbuntu2204, map[string]string{
			"ID": "ubuntu", "ID_LIKE": "debian", "VERSION_ID": "22.04",
			"VERSION": "22.04.4 LTS (Jammy Jellyfish)", "UBUNTU_CODENAME": "jammy",
		}, 12},
		{"rhel 9.4", osReleaseRHEL94, map[string]string{
			"ID": "rhel", "ID_LIKE": "fedora", "VERSION_ID": "9.4", "PLATFORM_ID": "platform:el9",
			"CPE_NAME": "cpe:/o:redhat:enterprise_linux:9::baseos", "REDHAT_BUGZILLA_PRODUCT_VERSION": "9.4",
		}, 17},
		{"rocky 9.4", osReleaseRocky94, map[string]string{
			"ID": "rocky", "ID_LIKE": "rhel centos fedora", "VERSION_ID": "9.4",
			"PRETTY_NAME": "Rocky Linux 9.4 (Blue Onyx)", "SUPPORT_END": "2032-05-31",
		}, 17},
		{"almalinux 9.4", osReleaseAlma94, map[string]string{
			"ID": "almalinux", "VERSION_ID": "9.4", "NAME": "AlmaLinux",
			"VERSION": "9.4 (Seafoam Ocelot)", "SUPPORT_END": "2032-06-01",
		}, 18},
		{"comments, quoting and escapes", `# This file is part of systemd.
  # indented comment
NAME='Kaspersky "Test" $OS'
PRETTY_NAME="Astra Linux \"Orel\" \\ \$HOME \` + "`x`" + `"
ID=astra
VARIANT="with = sign"
EMPTY=
QUOTED_EMPTY=""
not a line
VERSION_ID=1.7_x86-64
ID=astra2
`, map[string]string{
			"NAME":         `Kaspersky "Test" $OS`,
			"PRETTY_NAME":  "Astra Linux \"Orel\" \\ $HOME `x`",
			"ID":           "astra2", // the last assignment wins
			"VARIANT":      "with = sign",
			"EMPTY":        "",
			"QUOTED_EMPTY": "",
			"VERSION_ID":   "1.7_x86-64",
		}, 7},
		{"CRLF", "ID=\"debian\"\r\nVERSION_ID=\"12\"\r\n", map[string]string{"ID": "debian", "VERSION_ID": "12"}, 2},
		{"empty", "", map[string]string{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseOSRelease([]byte(tc.in))
			for k, v := range tc.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %q (present %v), want %q", k, g, ok, v)
				}
			}
			if len(got) != tc.n {
				t.Errorf("got %d keys, want %d: %q", len(got), tc.n, got)
			}
		})
	}
}

func TestIdentifyHostOffline(t *testing.T) {
	const machineID = "3f1c2d9e8b7a4c5d9e0f1a2b3c4d5e6f"
	tests := []struct {
		name    string
		files   map[string]string
		want    Host
		wantErr string
	}{
		{
			name: "debian 12",
			files: map[string]string{
				"etc/os-release": osReleaseDebian12,
				"etc/hostname":   "bw-deb12\n",
				"etc/machine-id": machineID + "\n",
			},
			want: Host{Hostname: "bw-deb12", OS: "linux", Platform: "debian 12", ID: machineID, Marker: "etc/os-release"},
		},
		{
			name: "ubuntu 22.04",
			files: map[string]string{
				"etc/os-release": osReleaseUbuntu2204,
				"etc/hostname":   "ubuntu-ws\n",
			},
			// no machine-id: the hostname identifies the host
			want: Host{Hostname: "ubuntu-ws", OS: "linux", Platform: "ubuntu 22.04", ID: "ubuntu-ws", Marker: "etc/os-release"},
		},
		{
			name: "usr/lib/os-release fallback (rhel 9.4)",
			files: map[string]string{
				"usr/lib/os-release": osReleaseRHEL94,
				"etc/hostname":       "rhel9.example.com\n",
				"etc/machine-id":     machineID + "\n",
			},
			want: Host{Hostname: "rhel9.example.com", OS: "linux", Platform: "rhel 9.4", ID: machineID, Marker: "usr/lib/os-release"},
		},
		{
			name: "etc/os-release wins over usr/lib",
			files: map[string]string{
				"etc/os-release":     osReleaseAlma94,
				"usr/lib/os-release": osReleaseRocky94,
			},
			want: Host{OS: "linux", Platform: "almalinux 9.4", Marker: "etc/os-release"},
		},
		{
			name:  "no os-release",
			files: map[string]string{"etc/hostname": "bare\n", "etc/machine-id": machineID + "\n"},
			want:  Host{Hostname: "bare", OS: "linux", Platform: "unknown", ID: machineID},
		},
		{
			name:  "empty root",
			files: map[string]string{},
			want:  Host{OS: "linux", Platform: "unknown"},
		},
		{
			name:    "os-release without ID",
			files:   map[string]string{"etc/os-release": "NAME=\"Linux\"\nVERSION_ID=1\n", "etc/hostname": "x\n"},
			want:    Host{Hostname: "x", OS: "linux", Platform: "unknown", ID: "x", Marker: "etc/os-release"},
			wantErr: "etc/os-release: no ID field",
		},
		{
			name:  "windows, canonical case",
			files: map[string]string{"Windows/System32/config/SOFTWARE": "regf"},
			want:  Host{OS: "windows", Platform: "windows", Marker: "Windows/System32/config/SOFTWARE"},
		},
		{
			name:  "windows, upper case directory",
			files: map[string]string{"WINDOWS/system32/config/SOFTWARE": "regf", "WINDOWS/system32/config/SYSTEM": "regf"},
			want:  Host{OS: "windows", Platform: "windows", Marker: "WINDOWS/system32/config/SOFTWARE"},
		},
		{
			name:  "windows, lower case hive",
			files: map[string]string{"windows/SYSTEM32/CONFIG/software": "regf", "etc/hostname": "ignored\n"},
			want:  Host{OS: "windows", Platform: "windows", Marker: "windows/SYSTEM32/CONFIG/software"},
		},
		{
			name:  "windows directory without the hive is linux",
			files: map[string]string{"Windows/System32/drivers/etc/hosts": "127.0.0.1 localhost\n"},
			want:  Host{OS: "linux", Platform: "unknown"},
		},
		{
			name:  "windows, SOFTWARE hive missing",
			files: map[string]string{"Windows/System32/config/SYSTEM": "regf"},
			want:  Host{OS: "windows", Platform: "windows", Marker: "Windows/System32/config/SYSTEM"},
		},
		{
			name:  "macos data volume mounted alone",
			files: map[string]string{"private/var/db/receipts/com.apple.pkg.X.plist": "", "Applications/Safari.app/Contents/Info.plist": ""},
			want:  Host{OS: "darwin", Platform: "macos", Marker: "Library/Preferences/SystemConfiguration/preferences.plist"},
		},
		{
			name: "linux with a receipts folder stays linux",
			files: map[string]string{"etc/os-release": osReleaseDebian12, "private/var/db/receipts/x.plist": "",
				"Library/Preferences/SystemConfiguration/preferences.plist": ""},
			want: Host{OS: "linux", Platform: "debian 12", Marker: "etc/os-release"},
		},
		{
			name:  "macos 14.5",
			files: map[string]string{"System/Library/CoreServices/SystemVersion.plist": macSystemVersion145},
			want:  Host{OS: "darwin", Platform: "macos 14.5", Marker: "System/Library/CoreServices/SystemVersion.plist"},
		},
		{
			name:  "macos, binary plist",
			files: map[string]string{"System/Library/CoreServices/SystemVersion.plist": "bplist00\xd1\x01\x02_\x10\x0eProductVersion"},
			want:  Host{OS: "darwin", Platform: "macos", Marker: "System/Library/CoreServices/SystemVersion.plist"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
			}
			got, err := IdentifyHost(context.Background(), fsys, nil)
			if tc.wantErr == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestIdentifyHostRootFS reads os-release through the links real images
// have, on disk: the relative Debian link and an absolute one whose
// target, on the scanning host, is another distribution's file.
func TestIdentifyHostRootFS(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the image uses POSIX absolute link targets")
	}
	tests := []struct {
		name, target, content, want string
	}{
		{"relative link", "../usr/lib/os-release", osReleaseDebian12, "debian 12"},
		{"absolute link", "/usr/lib/os-release", osReleaseRocky94, "rocky 9.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, root := rootfsTree(t,
				map[string]string{"usr/lib/os-release": tc.content, "etc/hostname": "img\n"},
				map[string]string{"etc/os-release": tc.target})
			h, err := IdentifyHost(context.Background(), root, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := Host{Hostname: "img", OS: "linux", Platform: tc.want, ID: "img", Marker: "etc/os-release"}
			if h != want {
				t.Errorf("got %+v, want %+v", h, want)
			}
		})
	}
	// A Windows volume on disk, spelled in upper case.
	dir := t.TempDir()
	hive := filepath.Join(dir, "WINDOWS", "system32", "config", "SOFTWARE")
	if err := os.MkdirAll(filepath.Dir(hive), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hive, []byte("regf"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := IdentifyHost(context.Background(), root, nil)
	if err != nil || h.OS != "windows" || h.Marker != "WINDOWS/system32/config/SOFTWARE" {
		t.Errorf("windows volume: %+v, %v", h, err)
	}
}

// fixedHostSource is a HostSource that reports a fixed answer.
type fixedHostSource struct {
	lh  LiveHost
	err error
}

func (s fixedHostSource) LiveHost(context.Context) (LiveHost, error) { return s.lh, s.err }

func TestIdentifyHostMergeLive(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/os-release": {Data: []byte(osReleaseDebian12)},
		"etc/hostname":   {Data: []byte("from-file\n")},
		"etc/machine-id": {Data: []byte("abc\n")},
	}
	tests := []struct {
		name string
		lh   LiveHost
		want Host
	}{
		{"all fields", LiveHost{Hostname: "live", Platform: "debian", PlatformVersion: "12.7", KernelArch: "x86_64"},
			Host{Hostname: "live", OS: "linux", Platform: "debian 12.7", Arch: "amd64", ID: "abc", Marker: "etc/os-release"}},
		{"aarch64", LiveHost{KernelArch: "aarch64"},
			Host{Hostname: "from-file", OS: "linux", Platform: "debian 12", Arch: "arm64", ID: "abc", Marker: "etc/os-release"}},
		{"i686", LiveHost{KernelArch: "i686"},
			Host{Hostname: "from-file", OS: "linux", Platform: "debian 12", Arch: "386", ID: "abc", Marker: "etc/os-release"}},
		{"unknown arch kept", LiveHost{KernelArch: "riscv64"},
			Host{Hostname: "from-file", OS: "linux", Platform: "debian 12", Arch: "riscv64", ID: "abc", Marker: "etc/os-release"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := IdentifyHost(context.Background(), fsys, fixedHostSource{lh: tc.lh})
			if err != nil {
				t.Fatal(err)
			}
			if h != tc.want {
				t.Errorf("got  %+v\nwant %+v", h, tc.want)
			}
		})
	}
}

func TestIdentifyHostLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the live check reads / as a Linux root")
	}
	root, err := OpenRoot("/")
	if err != nil {
		t.Fatal(err)
	}
	h, err := IdentifyHost(context.Background(), root, NewHostSource())
	if err != nil {
		t.Fatalf("IdentifyHost: %v", err)
	}
	name, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if h.Hostname != name {
		t.Errorf("Hostname = %q, want os.Hostname() %q", h.Hostname, name)
	}
	if h.Arch != runtime.GOARCH {
		t.Errorf("Arch = %q, want %q", h.Arch, runtime.GOARCH)
	}
	if h.OS != "linux" || h.ID == "" {
		t.Errorf("OS %q ID %q", h.OS, h.ID)
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if id := ParseOSRelease(b)["ID"]; id != "" && !strings.HasPrefix(h.Platform, id+" ") {
			t.Errorf("Platform = %q, want %q and its version", h.Platform, id)
		}
	}
}
