#!/bin/sh
# install-for-real.sh installs banwatch on this machine as root, runs the
# installed agent the way its service would (the unit's ExecStart) until
# it has scanned, checks what the installer wrote, then uninstalls with
# --purge and checks that nothing is left. CI runs it on a fresh machine;
# do not run it where banwatch is installed for use.
set -eu
[ "$(id -u)" = 0 ] || { echo "install-for-real.sh: needs root" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
pid=
go build -o "$tmp/banwatch" ./cmd/banwatch
fail() { echo "install-for-real.sh: $*" >&2; exit 1; }

"$tmp/banwatch" install --no-start
unit=/etc/systemd/system/banwatch.service
for f in /usr/local/bin/banwatch /etc/banwatch/banwatch.yaml "$unit"; do
	[ -f "$f" ] || fail "$f was not written"
done
cmp -s "$tmp/banwatch" /usr/local/bin/banwatch || fail "the installed binary differs"
[ "$(stat -c %a /etc/banwatch/banwatch.yaml)" = 600 ] || fail "the config is not 0600"
/usr/local/bin/banwatch config check /etc/banwatch/banwatch.yaml >/dev/null || fail "the default config does not check"
grep -qx 'Restart=always' "$unit" || fail "the unit lacks Restart=always"
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify "$unit" || fail "systemd-analyze verify failed"
fi

# The unit's command, in the foreground, until its first scan is recorded.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "/usr/local/bin/banwatch run --config /etc/banwatch/banwatch.yaml" ] || fail "ExecStart is $exec_start"
/usr/local/bin/banwatch run --config /etc/banwatch/banwatch.yaml >"$tmp/run.log" 2>&1 &
pid=$!
i=0
until grep -q '"last_scan"' /var/lib/banwatch/status.json 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -le 120 ] || fail "the installed agent did not scan: $(cat "$tmp/run.log")"
	sleep 0.5
done
rc=0
/usr/local/bin/banwatch status >/dev/null || rc=$?
[ "$rc" -le 1 ] || fail "banwatch status of the running agent exited $rc"
kill -TERM "$pid"
wait "$pid" || fail "the agent did not stop cleanly"
pid=

"$tmp/banwatch" uninstall --purge
for f in /usr/local/bin/banwatch /etc/banwatch /var/lib/banwatch "$unit" /etc/systemd/system/multi-user.target.wants/banwatch.service; do
	[ ! -e "$f" ] || fail "$f is left after uninstall --purge"
done
echo "install-for-real.sh: installed, ran, scanned, stopped and removed"
