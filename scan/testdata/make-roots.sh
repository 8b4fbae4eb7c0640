#!/usr/bin/env bash
# Builds the offline host images under roots/ that the scan and CLI tests
# (and the README's examples) scan. Each is a small but faithful slice of a
# real system: real os-release files, merged-/usr links, absolute systemd
# enablement links, real dpkg status stanzas (taken from a Debian 12
# machine's /var/lib/dpkg/status) with Kaspersky stanzas added, and real rpm
# databases from ../../detectors/testdata/rpm (made by rpm and Berkeley DB,
# see the README there). Binaries are tiny shell stubs.
#
# Usage: scan/testdata/make-roots.sh [DEBIAN_STATUS]   (run from anywhere)
# DEBIAN_STATUS defaults to /var/lib/dpkg/status; it was run on Debian 12.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
status_src=${1:-/var/lib/dpkg/status}
rpmfix="$here/../../detectors/testdata/rpm"
roots="$here/roots"
rm -rf "$roots"
mkdir -p "$roots"

# The first N stanzas of a real status file.
real_stanzas() { awk -v n="$1" 'BEGIN{RS=""; ORS="\n\n"} NR<=n' "$status_src"; }

os_release() { # dir id
  mkdir -p "$1/usr/lib" "$1/etc"
  case "$2" in
  debian12) cat >"$1/usr/lib/os-release" <<'X'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
X
  ;;
  ubuntu2204) cat >"$1/usr/lib/os-release" <<'X'
PRETTY_NAME="Ubuntu 22.04.4 LTS"
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
X
  ;;
  rhel94) cat >"$1/usr/lib/os-release" <<'X'
NAME="Red Hat Enterprise Linux"
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
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 9"
REDHAT_BUGZILLA_PRODUCT_VERSION=9.4
REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.4"
X
  ;;
  centos7) cat >"$1/usr/lib/os-release" <<'X'
NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"
X
  ;;
  sles15) cat >"$1/usr/lib/os-release" <<'X'
NAME="SLES"
VERSION="15-SP5"
VERSION_ID="15.5"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"
ID="sles"
ID_LIKE="suse"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:suse:sles:15:sp5"
DOCUMENTATION_URL="https://documentation.suse.com/"
X
  ;;
  esac
  ln -s ../usr/lib/os-release "$1/etc/os-release"
}

host() { # dir hostname machine-id
  printf '%s\n' "$2" >"$1/etc/hostname"
  printf '%s\n' "$3" >"$1/etc/machine-id"
}

merged_usr() { # dir
  mkdir -p "$1/usr/lib" "$1/usr/bin" "$1/usr/sbin"
  ln -s usr/lib "$1/lib"; ln -s usr/bin "$1/bin"; ln -s usr/sbin "$1/sbin"
}

stub() { # file [text]
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\n# test stub: %s\nexit 0\n' "${2:-$(basename "$1")}" >"$1"
  chmod 755 "$1"
}

unit() { # dir name exec description
  mkdir -p "$1"
  cat >"$1/$2" <<X
[Unit]
Description=$4
After=network.target

[Service]
Type=forking
ExecStart=$3
Restart=on-failure
KillMode=process

[Install]
WantedBy=multi-user.target
X
}

want() { # root unitdir-as-seen-by-the-system name
  mkdir -p "$1/etc/systemd/system/multi-user.target.wants"
  ln -s "$2/$3" "$1/etc/systemd/system/multi-user.target.wants/$3"
}

# Real unit files from this machine, so the unit dirs hold more than ours.
real_units() { # root dir
  mkdir -p "$1/$2"
  for u in dbus.service e2scrub_reap.service getty@.service man-db.service; do
    cp "/lib/systemd/system/$u" "$1/$2/$u"
  done
  want "$1" /lib/systemd/system e2scrub_reap.service
  mkdir -p "$1/etc/systemd/system/getty.target.wants"
  ln -s /lib/systemd/system/getty@.service "$1/etc/systemd/system/getty.target.wants/getty@tty1.service"
}

kesl_stanza() { # status version
cat <<X
Package: kesl
Status: $1
Priority: optional
Section: non-free/misc
Installed-Size: 1286536
Maintainer: AO Kaspersky Lab <support@kaspersky.com>
Architecture: amd64
Version: $2
Depends: libc6 (>= 2.17), perl, lsb-base
Conffiles:
 /etc/opt/kaspersky/kesl.conf 6c8b4f1ad8b1e0f7f6bbf0f8de3a2a10
Description: Kaspersky Endpoint Security for Linux
 Kaspersky Endpoint Security for Linux protects Linux computers
 against malware.
 .
 Copyright (c) AO Kaspersky Lab.

X
}

kaspersky_stanzas() {
  kesl_stanza "install ok installed" "12.1.0-1297"
  cat <<'X'
Package: kesl-gui
Status: install ok installed
Priority: optional
Section: non-free/misc
Installed-Size: 104212
Maintainer: AO Kaspersky Lab <support@kaspersky.com>
Architecture: amd64
Version: 12.1.0-1297
Depends: kesl (= 12.1.0-1297)
Description: Kaspersky Endpoint Security for Linux graphical interface

Package: klnagent64
Status: install ok installed
Priority: optional
Section: non-free/misc
Installed-Size: 198210
Maintainer: AO Kaspersky Lab <support@kaspersky.com>
Architecture: amd64
Version: 15.0.0-12
Description: Kaspersky Security Center Network Agent

X
}

lookalike_stanzas() {
  local p
  for p in "klavaro 3.13-4 Debian Games Team <pkg-games-devel@lists.alioth.debian.org>" \
           "kleopatra 4:22.12.3-1 Debian Qt/KDE Maintainers <debian-qt-kde@lists.debian.org>" \
           "klibc-utils 2.0.12-1 Debian Kernel Team <debian-kernel@lists.debian.org>" \
           "libklibc 2.0.12-1 Debian Kernel Team <debian-kernel@lists.debian.org>" \
           "avahi-daemon 0.8-10 Utopia Maintenance Team <pkg-utopia-maintainers@lists.alioth.debian.org>" \
           "avr-libc 1:2.1.0+Atmel3.7.0-1 Debian Electronics Team <pkg-electronics-devel@lists.alioth.debian.org>" \
           "clamav 1.0.7+dfsg-1~deb12u1 ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>" \
           "clamav-daemon 1.0.7+dfsg-1~deb12u1 ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>" \
           "nagios-nrpe-server 4.1.0-1 Debian Nagios Maintainer Group <pkg-nagios-devel@lists.alioth.debian.org>"; do
    set -- $p
    local name=$1 ver=$2; shift 2
    printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nSection: misc\nInstalled-Size: 512\nMaintainer: %s\nArchitecture: amd64\nVersion: %s\nDescription: %s\n\n' "$name" "$*" "$ver" "$name (look-alike for tests)"
  done
}

dpkg_status() { # root stanzas...
  mkdir -p "$1/var/lib/dpkg/updates"
  { real_stanzas 30; cat; } >"$1/var/lib/dpkg/status"
}

kesl_tree() { # root
  stub "$1/opt/kaspersky/kesl/bin/kesl-control"
  stub "$1/opt/kaspersky/kesl/libexec/kesl"
  stub "$1/opt/kaspersky/kesl/libexec/kesl_launcher.sh"
  mkdir -p "$1/var/opt/kaspersky/kesl/private/updates" "$1/var/log/kaspersky/kesl" "$1/etc/opt/kaspersky"
  printf 'u1313g.xml\n' >"$1/var/opt/kaspersky/kesl/private/updates/index.txt"
  printf '2024-09-27 04:11:00 Update task completed\n' >"$1/var/log/kaspersky/kesl/kesl.log"
  printf '[General]\nInstallDir=/opt/kaspersky/kesl\n' >"$1/etc/opt/kaspersky/kesl.conf"
  mkdir -p "$1/usr/bin"
  ln -s /opt/kaspersky/kesl/bin/kesl-control "$1/usr/bin/kesl-control"
}

klnagent_tree() { # root
  stub "$1/opt/kaspersky/klnagent64/sbin/klnagent"
  stub "$1/opt/kaspersky/klnagent64/bin/klnagchk"
  mkdir -p "$1/var/opt/kaspersky/klnagent64"
  printf 'server=ksc.example.internal:13000\n' >"$1/var/opt/kaspersky/klnagent64/settings.txt"
}

# 1. Debian 12 with KESL 12.1 and the Network Agent installed.
r="$roots/debian12-kesl"; mkdir -p "$r"
merged_usr "$r"; os_release "$r" debian12; host "$r" deb-kesl-01 3f1e0c9a6b2d4e8f9a0b1c2d3e4f5a6b
{ kaspersky_stanzas; } | dpkg_status "$r"
real_units "$r" usr/lib/systemd/system
unit "$r/usr/lib/systemd/system" kesl.service /opt/kaspersky/kesl/libexec/kesl_launcher.sh "Kaspersky Endpoint Security for Linux"
unit "$r/usr/lib/systemd/system" klnagent64.service /opt/kaspersky/klnagent64/sbin/klnagent "Kaspersky Security Center Network Agent"
want "$r" /lib/systemd/system kesl.service
want "$r" /lib/systemd/system klnagent64.service
kesl_tree "$r"; klnagent_tree "$r"

# 2. Ubuntu 22.04 after "apt remove kesl": config files, data and an
# enablement link to the removed unit are left behind.
r="$roots/ubuntu2204-kesl-removed"; mkdir -p "$r"
merged_usr "$r"; os_release "$r" ubuntu2204; host "$r" ubu-kesl-gone 9b8a7c6d5e4f30211f2e3d4c5b6a7980
{ kesl_stanza "deinstall ok config-files" "12.1.0-1297"; lookalike_stanzas; } | dpkg_status "$r"
real_units "$r" usr/lib/systemd/system
want "$r" /lib/systemd/system kesl.service
mkdir -p "$r/etc/opt/kaspersky" "$r/var/opt/kaspersky/kesl/private/updates" "$r/var/log/kaspersky/kesl"
printf '[General]\nInstallDir=/opt/kaspersky/kesl\n' >"$r/etc/opt/kaspersky/kesl.conf"
printf 'u1313g.xml\n' >"$r/var/opt/kaspersky/kesl/private/updates/index.txt"
printf '2024-09-27 04:11:00 Update task completed\n' >"$r/var/log/kaspersky/kesl/kesl.log"

# 3. RHEL 9.4 with KESL and the Network Agent (sqlite rpm database).
r="$roots/rhel94-kesl"; mkdir -p "$r"
merged_usr "$r"; os_release "$r" rhel94; host "$r" rhel-kesl-01 0a1b2c3d4e5f60718293a4b5c6d7e8f9
mkdir -p "$r/var/lib/rpm"; cp "$rpmfix/sqlite/rpmdb.sqlite" "$r/var/lib/rpm/rpmdb.sqlite"
real_units "$r" usr/lib/systemd/system
unit "$r/usr/lib/systemd/system" kesl.service /opt/kaspersky/kesl/libexec/kesl_launcher.sh "Kaspersky Endpoint Security for Linux"
unit "$r/usr/lib/systemd/system" klnagent64.service /opt/kaspersky/klnagent64/sbin/klnagent "Kaspersky Security Center Network Agent"
want "$r" /usr/lib/systemd/system kesl.service
want "$r" /usr/lib/systemd/system klnagent64.service
kesl_tree "$r"; klnagent_tree "$r"

# 4. CentOS 7 with KESL 10 style SysV scripts (Berkeley DB rpm database).
r="$roots/centos7-kesl"; mkdir -p "$r"
merged_usr "$r"; os_release "$r" centos7; host "$r" c7-kesl 5d4c3b2a19080706f5e4d3c2b1a09f8e
mkdir -p "$r/var/lib/rpm"; cp "$rpmfix/bdb/Packages" "$r/var/lib/rpm/Packages"
stub "$r/etc/init.d/kesl-supervisor" "Kaspersky Endpoint Security supervisor"
for l in 2 3 4 5; do mkdir -p "$r/etc/rc$l.d"; ln -s ../init.d/kesl-supervisor "$r/etc/rc$l.d/S50kesl-supervisor"; done
kesl_tree "$r"; klnagent_tree "$r"

# 5. SLES 15 SP5 (ndb rpm database in usr/lib/sysimage/rpm, var/lib/rpm a link).
r="$roots/sles15-kesl"; mkdir -p "$r"
merged_usr "$r"; os_release "$r" sles15; host "$r" sles-kesl 77665544332211000011223344556677
mkdir -p "$r/usr/lib/sysimage/rpm" "$r/var/lib"; cp "$rpmfix/ndb/Packages.db" "$r/usr/lib/sysimage/rpm/Packages.db"
ln -s ../../usr/lib/sysimage/rpm "$r/var/lib/rpm"
kesl_tree "$r"; klnagent_tree "$r"

# 6. Debian 12 with look-alikes only: names that start like Kaspersky's,
# another anti-virus, files that mention Kaspersky, a downloaded removal
# tool, a Rescue Disk image, and the UltraAV folder of a migrated machine.
r="$roots/debian12-lookalikes"; mkdir -p "$r"
merged_usr "$r"; os_release "$r" debian12; host "$r" deb-clean 1234567890abcdef1234567890abcdef
lookalike_stanzas | dpkg_status "$r"
real_units "$r" usr/lib/systemd/system
unit "$r/usr/lib/systemd/system" clamav-daemon.service /usr/sbin/clamd "Clam AntiVirus userspace daemon"
want "$r" /lib/systemd/system clamav-daemon.service
stub "$r/usr/sbin/clamd"
mkdir -p "$r/usr/share/doc/nagios-nrpe-server" "$r/home/alice/Downloads" "$r/home/alice/Documents" "$r/opt/UltraAV/bin" "$r/opt/kaspersky-rescue"
printf 'acl.c: Copyright (c) 2011 Kaspersky Lab ZAO\nLicensed under the GPL-2.\n' >"$r/usr/share/doc/nagios-nrpe-server/copyright"
printf 'MZ test stub of kavremover.exe\n' >"$r/home/alice/Downloads/kavremover.exe"
printf 'CD001 test stub of Kaspersky Rescue Disk\n' >"$r/home/alice/Downloads/krd.iso"
printf 'CD001 test stub of Kaspersky Rescue Disk\n' >"$r/opt/kaspersky-rescue/krd.iso"
printf 'Notes on the Kaspersky ban (2024-09-29 cut-off).\n' >"$r/home/alice/Documents/kaspersky-ban-notes.txt"
stub "$r/opt/UltraAV/bin/ultraav" "UltraAV"
echo "roots written to $roots"
