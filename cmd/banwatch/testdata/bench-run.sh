#!/bin/sh
# bench-run.sh measures the agent as a service would run it: `banwatch run`
# for 60 s with a 1 s interval against an offline fixture root, then its
# peak RSS and CPU time per scan (GNU time, Debian package "time").
# Usage, from the module root: sh cmd/banwatch/testdata/bench-run.sh [SECONDS]
set -eu
secs=${1:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/banwatch" ./cmd/banwatch
printf 'interval: 1s\njitter: 0\nroot: %s\nstate_dir: %s\n' \
	"$PWD/scan/testdata/roots/debian12-kesl" "$tmp/state" >"$tmp/banwatch.yaml"
/usr/bin/time -f '%M %U %S' -o "$tmp/time" timeout -s TERM "$secs" "$tmp/banwatch" run --config "$tmp/banwatch.yaml" >/dev/null 2>&1 || true
scans=$(grep -c '"msg":"scan done"' "$tmp/state/banwatch.log")
read -r rss user sys <<EOT
$(tail -n 1 "$tmp/time")
EOT
awk -v rss="$rss" -v u="$user" -v s="$sys" -v n="$scans" -v secs="$secs" 'BEGIN {
	printf "%d scans in %d s; peak RSS %.1f MB; CPU %.2f s, %.1f ms per scan\n", n, secs, rss/1024, u+s, (u+s)*1000/n }'
