#!/usr/bin/env bash
# make-fixtures.sh - regenerate the rpm database fixtures in this folder.
#
# Only for regenerating fixtures; never run in CI. The outputs are checked in.
#
# What it does (everything from specs/*.spec):
#   1. rpmbuild -bb each spec in a temp dir; copy the .rpm files to rpms/.
#   2. sqlite/rpmdb.sqlite  - Debian's rpm 4.18: --initdb, then
#                             -i --justdb of all rpms/ into a fresh root;
#                             WAL checkpointed, journal_mode=DELETE, VACUUM.
#   3. ndb/Packages.db      - private rpm 4.18 built with --enable-ndb
#                             (build-rpm-ndb.sh): rpmdb --rebuilddb of the
#                             sqlite database with _db_backend ndb.
#   4. bdb/Packages         - rpm 4.18 has no read-write Berkeley DB backend,
#                             so Berkeley DB 5.3's own db5.3_load builds the
#                             hash database rpm <= 4.17 wrote: key = header
#                             instance (uint32, native = little endian on
#                             x86_64), value = header blob, plus rpm's key 0
#                             record holding the largest instance number.
#                             The blobs are the sqlite db's Packages.blob.
#   5. Verifies all three with `rpm -qa` (Debian rpm reads sqlite and bdb via
#      bdb_ro; the private rpm reads ndb) and checks they list the same set.
#
# Needs (Debian 12 amd64, as root or not):
#   rpm, rpmbuild        Debian rpm 4.18.0+dfsg-1+deb12u1 (apt-get install rpm)
#   sqlite3              Debian sqlite3 3.40.1
#   db5.3_load           Debian db-util / db5.3-util 5.3.28
#   RPM_NDB=/opt/rpm-ndb private rpm 4.18.0 with ndb: ./build-rpm-ndb.sh
#
# Run as:  ./build-rpm-ndb.sh   # once, builds /opt/rpm-ndb
#          ./make-fixtures.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
RPM_NDB=${RPM_NDB:-/opt/rpm-ndb}
DBPATH=/usr/lib/sysimage/rpm   # rpm >= 4.16 default (Fedora/SUSE); relative to --root
# Fixed timestamps so the .rpm files are reproducible (2024-01-01T00:00:00Z).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
export TZ=UTC LC_ALL=C

for t in rpm rpmbuild sqlite3 db5.3_load "$RPM_NDB/bin/rpm" "$RPM_NDB/bin/rpmdb"; do
    command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
[ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" = 1 ] ||
    { echo "must run on a little-endian host (bdb keys are native-endian)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- 1. build the packages -------------------------------------------------
top=$tmp/rpmbuild
mkdir -p "$top"
for spec in "$here"/specs/*.spec; do
    rpmbuild -bb --quiet \
        --define "_topdir $top" \
        --define '_buildhost fixtures.banwatch.invalid' \
        --define '_binary_payload w9.gzdio' \
        --define 'use_source_date_epoch_as_buildtime 1' \
        --define 'clamp_mtime_to_source_date_epoch 1' \
        --define '_build_id_links none' \
        --target x86_64 \
        "$spec"
done
rm -rf "$here/rpms"
mkdir -p "$here/rpms"
find "$top/RPMS" -name '*.rpm' -exec cp {} "$here/rpms/" \;

# ---- 2. sqlite (Debian rpm) --------------------------------------------------
root=$tmp/root-sqlite
mkdir -p "$root"
rpm --root "$root" --dbpath "$DBPATH" --define '_db_backend sqlite' --initdb
# --force-debian: Debian's rpm refuses to install packages without it.
rpm --root "$root" --dbpath "$DBPATH" --define '_db_backend sqlite' \
    -i --justdb --nodeps --noscripts --notriggers \
    --ignorearch --ignoreos --ignoresize --force-debian \
    "$here"/rpms/*.rpm
db=$root$DBPATH/rpmdb.sqlite
sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE; VACUUM;' >/dev/null
rm -rf "$here/sqlite"
mkdir -p "$here/sqlite"
cp "$db" "$here/sqlite/rpmdb.sqlite"

# ---- 3. ndb (private rpm with --enable-ndb) ---------------------------------
root=$tmp/root-ndb
mkdir -p "$root$DBPATH"
cp "$here/sqlite/rpmdb.sqlite" "$root$DBPATH/"
# rebuilddb reads the existing (sqlite) db and writes the configured backend.
"$RPM_NDB/bin/rpmdb" --root "$root" --dbpath "$DBPATH" \
    --define '_db_backend ndb' --rebuilddb
[ -f "$root$DBPATH/Packages.db" ] || { echo "ndb rebuild produced no Packages.db" >&2; exit 1; }
rm -rf "$here/ndb"
mkdir -p "$here/ndb"
cp "$root$DBPATH/Packages.db" "$here/ndb/Packages.db"

# ---- 4. Berkeley DB (db5.3_load) ---------------------------------------------
le32() { # uint32 -> 8 hex digits, little endian
    printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}
dump=$tmp/Packages.dump
maxnum=$(sqlite3 "$here/sqlite/rpmdb.sqlite" 'SELECT max(hnum) FROM Packages;')
{
    printf 'VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=4096\nHEADER=END\n'
    # rpm's bdb backend kept the largest header instance under key 0.
    printf ' %s\n %s\n' "$(le32 0)" "$(le32 "$maxnum")"
    sqlite3 -separator ' ' "$here/sqlite/rpmdb.sqlite" \
        'SELECT hnum, lower(hex(blob)) FROM Packages ORDER BY hnum;' |
    while read -r hnum hexblob; do
        printf ' %s\n %s\n' "$(le32 "$hnum")" "$hexblob"
    done
    printf 'DATA=END\n'
} >"$dump"
rm -rf "$here/bdb"
mkdir -p "$here/bdb"
db5.3_load -f "$dump" "$here/bdb/Packages"

# ---- 5. verify ---------------------------------------------------------------
qf='%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{VENDOR}\n'
v=$tmp/verify
mkdir -p "$v/sqlite" "$v/bdb" "$v/ndb"
cp "$here/sqlite/rpmdb.sqlite" "$v/sqlite/"
cp "$here/bdb/Packages" "$v/bdb/"
cp "$here/ndb/Packages.db" "$v/ndb/"
# bdb_ro warns about every missing index file (Name, Basenames, ...): only
# Packages is shipped, and rpm rebuilds indexes in memory, so hide that noise.
rpm --dbpath "$v/sqlite" --define '_db_backend sqlite' -qa --qf "$qf" | sort >"$v/sqlite.txt"
rpm --dbpath "$v/bdb" --define '_db_backend bdb_ro' -qa --qf "$qf" 2>"$v/bdb.err" | sort >"$v/bdb.txt"
"$RPM_NDB/bin/rpm" --dbpath "$v/ndb" --define '_db_backend ndb' -qa --qf "$qf" 2>"$v/ndb.err" | sort >"$v/ndb.txt"
nspec=$(ls "$here"/specs/*.spec | wc -l)
[ "$(wc -l <"$v/sqlite.txt")" -eq "$nspec" ] || { echo "sqlite: expected $nspec packages" >&2; exit 1; }
diff -u "$v/sqlite.txt" "$v/bdb.txt"
diff -u "$v/sqlite.txt" "$v/ndb.txt"
cat "$v/sqlite.txt"
echo "OK: sqlite, bdb and ndb list the same $nspec packages"
ls -l "$here"/rpms "$here"/sqlite "$here"/bdb "$here"/ndb
