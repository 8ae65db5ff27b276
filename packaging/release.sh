#!/usr/bin/env bash
# Make a release in dist/: the wheel, the sdist and a .deb for the Debian/Ubuntu release this runs on.
#
#   bash packaging/release.sh            (PYTHON=... picks the Python that builds the wheel)
#
# The version is trayapp/__init__.py's __version__, the one place it is written.  Wheel and sdist are
# built from a clean copy by PyPA's `build` (the wheel from the sdist, so both hold the same files);
# the .deb by packaging/linux/build-deb.sh from that wheel (needs dpkg-deb and /usr/bin/python3 with
# venv).  docs/PACKAGING.md says what each file holds and how it was checked.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import build' 2>/dev/null; then
        PY=.venv/bin/python
    else  # a tool environment of its own, kept in build/ (ignored by git)
        [ -x build/release-tools/bin/python ] || python3 -m venv build/release-tools
        build/release-tools/bin/python -c 'import build' 2>/dev/null \
            || build/release-tools/bin/python -m pip install -q --disable-pip-version-check "build>=1"
        PY=build/release-tools/bin/python
    fi
fi
VERSION="$("$PY" -c 'import ast, sys
for node in ast.parse(open("trayapp/__init__.py").read()).body:
    if isinstance(node, ast.Assign) and node.targets[0].id == "__version__":
        print(node.value.value)')"
[ -n "$VERSION" ] || { echo "release: no __version__ in trayapp/__init__.py" >&2; exit 1; }

"$PY" packaging/i18n/compile_mo.py >/dev/null  # the .mo files match their .po (byte for byte when current)

mkdir -p dist
rm -f "dist/aws_session_tray-$VERSION"* "dist/aws-session-tray_$VERSION"_*.deb
mkdir -p build
"$PY" -m build --outdir dist . >build/release-build.log 2>&1 || { cat build/release-build.log >&2; exit 1; }
WHEEL="dist/aws_session_tray-$VERSION-py3-none-any.whl"
SDIST="dist/aws_session_tray-$VERSION.tar.gz"

if command -v dpkg-deb >/dev/null; then
    DEB="dist/$(basename "$(bash packaging/linux/build-deb.sh "$WHEEL" dist)")"
else
    DEB=""
    echo "release: not a Debian-like system (no dpkg-deb): no .deb built" >&2
fi

echo "release $VERSION:"
ls -l "$WHEEL" "$SDIST" ${DEB:+"$DEB"} | awk '{printf "  %-45s %10d bytes\n", $9, $5}'
