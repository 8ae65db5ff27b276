#!/usr/bin/env bash
# Build aws-session-tray_VERSION_ARCH.deb from a built wheel, for the Debian/Ubuntu release this runs on.
#
#   packaging/linux/build-deb.sh dist/aws_session_tray-VERSION-py3-none-any.whl [OUTDIR]
#
# The package holds a private virtual environment under /opt/aws-session-tray, made from this system's
# /usr/bin/python3, with the wheel and its dependencies (Debian 12's python3-botocore is older than
# trayapp needs, and pystray is not packaged at all); /usr/bin/trayapp, a two-line script run by that
# environment's Python; the desktop entry and the hicolor icons.  Why this layout: docs/PACKAGING.md.
# Needs: /usr/bin/python3 with venv (python3-venv), dpkg-deb, network or a pip cache for the dependencies.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WHEEL="$(realpath "${1:?usage: build-deb.sh WHEEL [OUTDIR]}")"
OUT="$(realpath "${2:-$(dirname "$WHEEL")}")"
PACKAGE=aws-session-tray
PREFIX=/opt/$PACKAGE
SYSPY=/usr/bin/python3
MAINTAINER="${DEB_MAINTAINER:-the trayapp developers <trayapp@example.org>}"

VERSION="$(basename "$WHEEL" | cut -d- -f2)"
ARCH="$(dpkg --print-architecture)"
PYVER="$("$SYSPY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
PYNEXT="$("$SYSPY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1] + 1}")')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/$PACKAGE"
umask 022

# --- the private environment -----------------------------------------------------------------
# Made at its staging path, then made relocatable by hand: the venv's python is a symlink to
# /usr/bin/python3 (valid on the target), and the only paths written into it are pyvenv.cfg's
# `command` line and the scripts in bin/, which are dropped (trayapp's own is /usr/bin/trayapp).
"$SYSPY" -m venv "$STAGE$PREFIX"
VPY="$STAGE$PREFIX/bin/python"
"$VPY" -m pip install -q --disable-pip-version-check --no-compile "$WHEEL"
"$VPY" -m pip uninstall -q -y --disable-pip-version-check pip setuptools
find "$STAGE$PREFIX/bin" -mindepth 1 ! -name 'python*' -delete
sed -i "s|$STAGE||g" "$STAGE$PREFIX/pyvenv.cfg"
find "$STAGE$PREFIX" -name direct_url.json -delete  # the build machine's path of the wheel
find "$STAGE$PREFIX" -name __pycache__ -prune -exec rm -rf {} +  # compiled on the target (postinst)
if grep -rIl --exclude-dir=__pycache__ "$STAGE" "$STAGE" >/dev/null; then
    echo "build-deb: the staging path is still written in: $(grep -rIl "$STAGE" "$STAGE" | head -3)" >&2
    exit 1
fi

# The binary wheels' glibc floor (manylinux_2_X tags), for Depends: libc6.
GLIBC="$(sed -n 's/^Tag: .*manylinux_\([0-9]*\)_\([0-9]*\)_.*/\1.\2/p; s/^Tag: .*manylinux2014_.*/2.17/p' \
    "$STAGE$PREFIX"/lib/python3*/site-packages/*.dist-info/WHEEL | sort -V | tail -1)"

# /usr/bin/trayapp: -I keeps PYTHON* variables, the user's site folder and the current folder out
# (a trayapp/ package planted in a shared folder must not run as the user; see trayapp/core/launch.py).
install -d "$STAGE/usr/bin"
cat > "$STAGE/usr/bin/trayapp" <<EOF
#!$PREFIX/bin/python3 -I
import sys

from trayapp.cli import main

sys.exit(main())
EOF

# --- desktop entry, icons, documentation ------------------------------------------------------
install -D -m 0644 "$HERE/trayapp.desktop" "$STAGE/usr/share/applications/trayapp.desktop"
for icon in "$HERE"/icons/hicolor/*/apps/trayapp.png; do
    size="$(basename "$(dirname "$(dirname "$icon")")")"
    install -D -m 0644 "$icon" "$STAGE/usr/share/icons/hicolor/$size/apps/trayapp.png"
done
DOC="$STAGE/usr/share/doc/$PACKAGE"
install -d "$DOC"
"$VPY" "$HERE/deb_copyright.py" "$STAGE$PREFIX" "$HERE/../../LICENSE" "$PREFIX" > "$DOC/copyright"
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$PACKAGE" "$VERSION"
    printf '  * Release %s: see the project'"'"'s README for what it does.\n\n' "$VERSION"
    printf ' -- %s  %s\n' "$MAINTAINER" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} | gzip -9n > "$DOC/changelog.gz"

# --- normalised modes: the venv and wheels bring 0755 .so files and 0664 files from some umasks -----
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f -exec chmod 0644 {} +
chmod 0755 "$STAGE/usr/bin/trayapp"

# --- maintainer scripts ---------------------------------------------------------------------------
install -d "$STAGE/DEBIAN"
# Bytecode is compiled here, on the target, and removed before dpkg removes the files: dpkg does not
# know __pycache__ folders, so anything left in them would keep /opt/aws-session-tray after a purge.
cat > "$STAGE/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
    $PREFIX/bin/python3 -I -m compileall -q -j 0 $PREFIX/lib >/dev/null || true
fi
EOF
cat > "$STAGE/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ -d $PREFIX ]; then
    find $PREFIX -depth -type d -name __pycache__ -exec rm -rf {} + || true
fi
EOF
# A trayapp still running while the package is removed may write bytecode again (a Tk helper
# starting): postrm removes what is left of the package's own folder.
cat > "$STAGE/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] || [ "\$1" = purge ]; then
    if [ -d $PREFIX ]; then
        find $PREFIX -depth -type d -name __pycache__ -exec rm -rf {} + || true
        find $PREFIX -depth -type d -empty -delete || true
    fi
fi
EOF
chmod 0755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/prerm" "$STAGE/DEBIAN/postrm"

# lintian: the overrides and the reason for each (they travel inside the package, as dh_lintian does).
install -D -m 0644 "$HERE/deb-lintian-overrides" "$STAGE/usr/share/lintian/overrides/$PACKAGE"

SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
cat > "$STAGE/DEBIAN/control" <<EOF
Package: $PACKAGE
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $SIZE
Depends: python3 (>= $PYVER), python3 (<< $PYNEXT), python3-tk${GLIBC:+, libc6 (>= $GLIBC)}
Suggests: gnome-keyring
Section: utils
Priority: optional
Description: system-tray applet for AWS role sessions with MFA
 One click, one MFA code, and every AWS tool works with the role you need:
 the tray menu lists the role profiles of ~/.aws/config, a small dialog asks
 for the code, and the session is written to ~/.aws/credentials as
 [PROFILE-session]. IAM Identity Center (SSO) sign-ins too.
 .
 The command is trayapp; it runs from a private Python environment in
 $PREFIX made for this distribution's Python $PYVER.
EOF

mkdir -p "$OUT"
DEB="$OUT/${PACKAGE}_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
