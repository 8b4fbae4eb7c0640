#!/bin/sh
# wine_test.sh runs the live Windows sources under Wine: the registry
# (winreg.Live), the service control manager and the Security Center.
# It builds the Windows test binaries, writes Kaspersky-like keys into a
# fresh Wine prefix and runs the Windows-only tests with BANWATCH_WINE=1.
#
# Needs Wine (Debian: apt-get install --no-install-recommends wine64).
# Usage, from anywhere in the module: sh detectors/winreg/wine_test.sh
set -eu

cd "$(dirname "$0")/../.."
wine=""
for w in wine64 wine /usr/lib/wine/wine64; do
	if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
done
if [ -z "$wine" ]; then
	echo "wine_test.sh: Wine not found (apt-get install --no-install-recommends wine64)" >&2
	exit 1
fi

tmp=$(mktemp -d)
export WINEPREFIX="$tmp/prefix" WINEDEBUG=-all
# No Mono or Gecko install prompts: the tests need neither.
export WINEDLLOVERRIDES="mscoree,mshtml="
# The prefix's wineserver is the only process left behind; stop it and
# only it (-k acts on this WINEPREFIX).
cleanup() {
	"$(dirname "$wine")/wineserver" -k 2>/dev/null || wineserver -k 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

GOOS=windows GOARCH=amd64 go test -c -o "$tmp/winreg.exe" ./detectors/winreg
GOOS=windows GOARCH=amd64 go test -c -o "$tmp/detectors.exe" ./detectors

"$wine" wineboot --init >/dev/null 2>&1
# Go 1.22+ programs need bcryptprimitives.dll, which Wine 8.0 lacks.
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -e "$sys32/bcryptprimitives.dll" ]; then
	go run ./detectors/winreg/testdata/wineshim "$sys32/bcryptprimitives.dll"
	WINEDLLOVERRIDES="$WINEDLLOVERRIDES;bcryptprimitives=n"
fi

reg() { "$wine" reg add "$@" /f >/dev/null; }
av='HKLM\SOFTWARE\WOW6432Node\KasperskyLab\Components\34\1103\1.0.0.0\Statistics\AVState'
un='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\{BANWATCH-WINE-KES}'
reg "$av" /v Protection_BasesDate /t REG_SZ /d "27-09-2024 10-11-12"
reg "$un" /v DisplayName /t REG_SZ /d "Kaspersky Endpoint Security for Windows"
reg "$un" /v Publisher /t REG_SZ /d "AO Kaspersky Lab"
reg "$un" /v EstimatedSize /t REG_DWORD /d 123456
reg "$un" /v InstallLocation /t REG_EXPAND_SZ /d '%ProgramFiles%\Kaspersky Lab'
reg "$un" /v Langs /t REG_MULTI_SZ /d 'en\0ru'
reg "$un" /v Long /t REG_SZ /d "$(printf '%03000d' 0 | tr 0 x)"
# A logged-off user whose NTUSER.DAT is not a hive: Users must report it.
ghost='HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\S-1-5-21-1-2-3-1001'
reg "$ghost" /v ProfileImagePath /t REG_EXPAND_SZ /d '%SystemDrive%\users\ghost'
mkdir -p "$WINEPREFIX/drive_c/users/ghost"
echo "not a hive" >"$WINEPREFIX/drive_c/users/ghost/NTUSER.DAT"

export BANWATCH_WINE=1
"$wine" "$tmp/winreg.exe" -test.v -test.run 'TestLive'
"$wine" "$tmp/detectors.exe" -test.v -test.run 'TestServiceManager|TestQueryAntiVirusProducts'
