#!/usr/bin/env bash
# Put trayapp in the desktop's application menu: the .desktop entry and the hicolor icons,
# for the current user (~/.local/share, or $XDG_DATA_HOME).  No root needed.
#
#   packaging/linux/install-desktop.sh [--exec /path/to/trayapp]   install or update
#   packaging/linux/install-desktop.sh --uninstall                 remove both
#
# Exec= gets the absolute path of `trayapp` (found on PATH, or --exec), because
# ~/.local/bin, where pipx puts it, is often not on the PATH of the desktop session.
# Login start is separate: `trayapp autostart on`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${XDG_DATA_HOME:-}"
[[ "$DATA" == /* ]] || DATA="$HOME/.local/share"
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor"
SIZES="16 22 24 32 48 64 128 256"

refresh() {
    # GTK rescans a theme folder whose time stamp changed.  A user-level icon-theme.cache is
    # only updated when one exists already: a new one would hide other apps' icons later.
    if [[ -f "$ICONS/icon-theme.cache" ]] && command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -t -f "$ICONS" 2>/dev/null || true
    elif [[ -d "$ICONS" ]]; then
        touch "$ICONS"
    fi
}

if [[ "${1:-}" == "--uninstall" ]]; then
    rm -f "$APPS/trayapp.desktop"
    for size in $SIZES; do rm -f "$ICONS/${size}x${size}/apps/trayapp.png"; done
    refresh
    echo "removed trayapp's menu entry and icons from $DATA"
    exit 0
fi

EXEC=""
if [[ "${1:-}" == "--exec" ]]; then
    EXEC="${2:?--exec needs the path of the trayapp program}"
else
    EXEC="$(command -v trayapp || true)"
fi
if [[ -z "$EXEC" ]]; then
    echo "trayapp is not on PATH: install it first (pipx install .), or pass --exec /path/to/trayapp" >&2
    exit 1
fi
EXEC="$(cd "$(dirname "$EXEC")" && pwd)/$(basename "$EXEC")"
case "$EXEC" in
    *[[:space:]\"\'\\\$\`%]*) echo "can't write a path with spaces or quotes into Exec=: $EXEC" >&2; exit 1 ;;
esac

for size in $SIZES; do
    install -D -m 0644 "$HERE/icons/hicolor/${size}x${size}/apps/trayapp.png" "$ICONS/${size}x${size}/apps/trayapp.png"
done
mkdir -p "$APPS"
sed "s|^Exec=.*|Exec=$EXEC|" "$HERE/trayapp.desktop" > "$APPS/.trayapp.desktop.tmp"
chmod 0644 "$APPS/.trayapp.desktop.tmp"
mv -f "$APPS/.trayapp.desktop.tmp" "$APPS/trayapp.desktop"
refresh
echo "installed $APPS/trayapp.desktop (Exec=$EXEC) and icons in $ICONS"
