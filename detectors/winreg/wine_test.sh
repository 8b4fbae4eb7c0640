#!/bin/sh
# wine_test.sh runs the live Windows sources under Wine: the registry
# (winreg.Live), the service control manager, the Security Center, and the
# whole CLI.
#
# It gives a fresh Wine prefix the Kaspersky state of the offline image
# detectors/testdata/windows/images/win10-kts-ru (Kaspersky Total Security
# 21.3 with a Cyrillic publisher, its service and drivers, and a per-user
# Kaspersky Password Manager of a user who is not logged on), then:
#  1. runs `banwatch.exe scan` (the real CLI, live mode) under Wine, and
#     the Linux banwatch on the image (offline), and has checkscan compare
#     the two reports: same findings, ids and evidence;
#  2. adds the keys the Windows-only tests read and runs those tests with
#     BANWATCH_WINE=1 (TestLiveMatchesImage compares the live registry with
#     the image's hives value by value).
# It exits non-zero on any failed check.
#
# Needs Wine (Debian: apt-get install --no-install-recommends wine64).
# Usage, from anywhere in the module: sh detectors/winreg/wine_test.sh
set -eu

cd "$(dirname "$0")/../.."
started=$(date +%s)
wine=""
for w in wine64 wine /usr/lib/wine/wine64; do
	if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
done
if [ -z "$wine" ]; then
	echo "wine_test.sh: Wine not found (apt-get install --no-install-recommends wine64)" >&2
	exit 1
fi
wineserver=$(dirname "$wine")/wineserver
command -v "$wineserver" >/dev/null 2>&1 || wineserver=wineserver

image=detectors/testdata/windows/images/win10-kts-ru
regsrc=detectors/testdata/windows/src/win10-kts-ru
asof=2026-11-25

tmp=$(mktemp -d)
export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all
# No Mono or Gecko install prompts: the tests need neither.
export WINEDLLOVERRIDES="mscoree,mshtml="
# Wine converts command lines and Unix file names from the locale's
# character set: under the POSIX locale `wine reg add ... /d "АО ..."`
# stores mojibake. (The state below is imported from UTF-16 .reg files,
# which do not depend on it.)
export LC_ALL=C.UTF-8
# The prefix's wineserver, and the service it runs, are the only
# processes left behind; -k stops them (it acts on this WINEPREFIX only).
cleanup() {
	"$wineserver" -k 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "wine_test.sh: $*" >&2
	exit 1
}
# dos names a Unix path for Wine programs, whose arguments start with /
# for options: Wine maps / to drive Z:.
dos() { printf 'Z:%s' "$1" | tr / '\\'; }

# Build while Wine creates the prefix.
(
	GOOS=windows GOARCH=amd64 go build -o "$tmp/win/" ./cmd/banwatch ./detectors/winreg/testdata/fakesvc
	GOOS=windows GOARCH=amd64 go test -c -o "$tmp/win/winreg.exe" ./detectors/winreg
	GOOS=windows GOARCH=amd64 go test -c -o "$tmp/win/detectors.exe" ./detectors
	go build -o "$tmp/linux/" ./cmd/banwatch ./detectors/winreg/testdata/checkscan ./detectors/winreg/testdata/wineshim
) &
builds=$!
"$wine" wineboot --init >/dev/null 2>&1
wait "$builds" || fail "build failed"
echo "wine_test.sh: prefix and builds ready after $(($(date +%s) - started))s"

# Go 1.22+ programs need bcryptprimitives.dll, which Wine 8.0 lacks.
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -e "$sys32/bcryptprimitives.dll" ]; then
	"$tmp/linux/wineshim" "$sys32/bcryptprimitives.dll"
	WINEDLLOVERRIDES="$WINEDLLOVERRIDES;bcryptprimitives=n"
fi

# Windows keeps services in HKLM\SYSTEM\ControlSet00N (N from
# Select\Current) and makes CurrentControlSet a link to it; banwatch reads
# the services through Select, as it must for an offline image. Wine 8
# has Select\Current=1 but no ControlSet001: its CurrentControlSet is a
# plain key, where its service manager reads and writes. Make the prefix
# Windows-like: move CurrentControlSet to ControlSet001 and link it there,
# in system.reg while the wineserver is stopped.
"$wineserver" -k 2>/dev/null || true
"$wineserver" -w
sysreg="$WINEPREFIX/system.reg"
if grep -q '^\[System\\\\CurrentControlSet\\\\' "$sysreg"; then
	grep -q '^\[System\\\\ControlSet001[]\\]' "$sysreg" && fail "system.reg has both CurrentControlSet and ControlSet001"
	sed -i 's/^\[System\\\\CurrentControlSet\([]\\]\)/[System\\\\ControlSet001\1/' "$sysreg"
	target=$(printf '%s' '\Registry\Machine\System\ControlSet001' | iconv -f UTF-8 -t UTF-16LE | od -An -v -tx1 | tr -s ' \n' ',' | sed 's/^,//; s/,$//')
	printf '\n[System\\\\CurrentControlSet] 0\n#link\n"SymbolicLinkValue"=hex(6):%s\n' "$target" >>"$sysreg"
fi

# The image's registry: the .reg text its hives were built from. Wine's
# regedit takes hex(2) (REG_EXPAND_SZ) data in an 8-bit .reg file for
# ANSI text and cuts it at the first NUL, so give it UTF-16LE with a BOM,
# as Windows' regedit writes.
for hive in SOFTWARE SYSTEM; do
	{ printf '\377\376'; iconv -f UTF-8 -t UTF-16LE "$regsrc/$hive.reg"; } >"$tmp/$hive.reg"
	"$wine" regedit /S "$(dos "$tmp/$hive.reg")"
done
# The image's files, in Wine's spelling of the folders (users, windows,
# system32). Its hive files stay out: Wine's registry is system.reg, and a
# live scan knows Windows from the running system, not from those files.
# ivan's NTUSER.DAT is the image's real hive: the live scan reads it
# because ivan is not logged on.
c="$WINEPREFIX/drive_c"
(cd "$image" && find . -type f ! -path './Windows/System32/config/*') | while IFS= read -r f; do
	rel=$(printf '%s' "${f#./}" | sed 's#^Users/#users/#; s#^Windows/System32/#windows/system32/#')
	mkdir -p "$c/$(dirname "$rel")"
	cp "$image/$f" "$c/$rel"
done
# avp.exe becomes a service that runs: the scan then sees AVP21.3 running
# and avp.exe among the processes. The drivers' .sys files stay fixture
# text, which Wine fails to load: they are listed, not loaded.
kts="$c/Program Files (x86)/Kaspersky Lab/Kaspersky Total Security 21.3"
[ -f "$kts/avp.exe" ] || fail "$image has no avp.exe"
cp "$tmp/win/fakesvc.exe" "$kts/avp.exe"

reg() { "$wine" reg add "$@" /f >/dev/null; }
# A logged-off user whose NTUSER.DAT is not a hive: Users must report it.
ghost='HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\S-1-5-21-1-2-3-1001'
reg "$ghost" /v ProfileImagePath /t REG_EXPAND_SZ /d '%SystemDrive%\users\ghost'
mkdir -p "$c/users/ghost"
echo "not a hive" >"$c/users/ghost/NTUSER.DAT"

# Wine's service manager reads the services at its start: restart the
# wineserver, and with it services.exe, which then knows AVP21.3 and the
# drivers and tries to start them (Start <= 2).
"$wineserver" -k 2>/dev/null || true
"$wineserver" -w
i=0
until "$wine" sc query AVP21.3 2>/dev/null | grep -q RUNNING; do
	i=$((i + 1))
	[ "$i" -le 20 ] || fail "service AVP21.3 did not start: $("$wine" sc query AVP21.3 2>&1)"
	"$wine" sc start AVP21.3 >/dev/null 2>&1 || sleep 0.5
done
echo "wine_test.sh: state of $image recreated after $(($(date +%s) - started))s"

# The live scan, and the offline scan of the image. Exit code 1: findings.
# A Wine process is, rarely, killed by a signal as the prefix settles
# (seen once in a dozen runs: exit 137 before the scan printed anything);
# that says nothing of banwatch, so such a run is tried once more.
for try in 1 2; do
	rc=0
	"$wine" "$tmp/win/banwatch.exe" scan --format json --as-of "$asof" >"$tmp/live.json" 2>"$tmp/live.log" || rc=$?
	[ "$rc" -ge 128 ] && [ "$try" -eq 1 ] || break
	echo "wine_test.sh: the live scan was killed by signal $((rc - 128)) ($(cat "$tmp/live.log")); trying again" >&2
done
[ "$rc" -eq 1 ] || fail "live scan exited $rc, want 1 (findings): $(cat "$tmp/live.log")"
rc=0
"$tmp/linux/banwatch" scan --root "$image" --format json --as-of "$asof" >"$tmp/offline.json" 2>"$tmp/offline.log" || rc=$?
[ "$rc" -eq 1 ] || fail "offline scan exited $rc, want 1 (findings): $(cat "$tmp/offline.log")"
"$tmp/linux/checkscan" "$tmp/live.json" "$tmp/offline.json" || {
	echo "wine_test.sh: the live report was:" >&2
	cat "$tmp/live.json" >&2
	exit 1
}

# The keys the Windows-only tests read beyond the image.
av='HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState'
un='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{BANWATCH-WINE-KES}'
reg "$av" /v Protection_BasesDate /t REG_SZ /d "27-09-2024 10-11-12"
reg "$un" /v DisplayName /t REG_SZ /d "Kaspersky Endpoint Security for Windows"
reg "$un" /v Publisher /t REG_SZ /d "AO Kaspersky Lab"
reg "$un" /v EstimatedSize /t REG_DWORD /d 123456
reg "$un" /v InstallLocation /t REG_EXPAND_SZ /d '%ProgramFiles%\Kaspersky Lab'
reg "$un" /v Langs /t REG_MULTI_SZ /d 'en\0ru'
reg "$un" /v Long /t REG_SZ /d "$(printf '%03000d' 0 | tr 0 x)"

export BANWATCH_WINE=1 BANWATCH_WINE_IMAGE="$(dos "$PWD/$image")"
"$wine" "$tmp/win/winreg.exe" -test.v -test.run 'TestLive'
"$wine" "$tmp/win/detectors.exe" -test.v -test.run 'TestServiceManager|TestQueryAntiVirusProducts'
echo "wine_test.sh: passed in $(($(date +%s) - started))s"
