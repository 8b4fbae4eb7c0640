#!/usr/bin/env bash
# build-rpm-ndb.sh - build a private rpm 4.18 with the ndb backend enabled.
#
# Only needed to REGENERATE the fixtures in this folder (make-fixtures.sh);
# never run in CI. Debian 12's packaged rpm (4.18.0+dfsg-1+deb12u1) only has
# the sqlite and bdb_ro (read-only Berkeley DB) backends, so it cannot write
# an ndb database. This script rebuilds the very same Debian source package
# with --enable-ndb and installs it to a private prefix (default /opt/rpm-ndb),
# never over the system rpm.
#
# Note: rpm 4.18 has no read-write Berkeley DB backend at all (lib/backend/db3.c
# was removed upstream; only bdb_ro remains), so make-fixtures.sh builds the
# BDB Packages file with Berkeley DB's own db5.3_load instead.
#
# Requirements (Debian 12, root): deb-src entries in apt sources.
#   apt-get update && apt-get build-dep -y rpm && apt-get install -y dpkg-dev
#
# Usage: ./build-rpm-ndb.sh [PREFIX]      (default PREFIX=/opt/rpm-ndb)
set -euo pipefail

PREFIX=${1:-/opt/rpm-ndb}
WORK=${WORK:-/tmp/rpm-ndb-build}

mkdir -p "$WORK"
cd "$WORK"
if [ ! -f rpm_*.dsc ]; then
    apt-get source --download-only rpm
fi
if [ ! -d src ]; then
    dpkg-source -x rpm_*.dsc src    # unpacks and applies Debian's patches
fi
cd src

# Debian's patches touch configure.ac (e.g. lua5.3 pkg-config name), so
# regenerate the build system as dh_autoreconf would.
autoreconf -fi
./configure \
    --prefix="$PREFIX" \
    --sysconfdir="$PREFIX/etc" \
    --localstatedir="$PREFIX/var" \
    --enable-ndb \
    --enable-bdb-ro \
    --enable-sqlite=yes \
    --disable-python \
    --disable-plugins \
    --disable-openmp \
    --without-selinux \
    --without-cap \
    --with-lua \
    --with-vendor=debian

make -j"$(nproc)"
make install

"$PREFIX/bin/rpm" --version
echo "installed to $PREFIX"
