#!/usr/bin/env bash
# Build dist/trayapp, a single-file Linux executable, with PyInstaller from the repository's .venv.
#   packaging/linux/build-onefile.sh [--distpath DIR]     (other PyInstaller options pass through)
#   TRAYAPP_WITH_GTK=0 packaging/linux/build-onefile.sh   without PyGObject (xorg backend only)
# The binary runs on Linux systems with the same or a newer glibc than the build machine's.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
"$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.10"
WORK="${TRAYAPP_BUILD_DIR:-$ROOT/build/onefile}"
exec "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath "$WORK" --distpath "$ROOT/dist" "$@" packaging/linux/trayapp-onefile.spec
