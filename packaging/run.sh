#!/usr/bin/env bash
# Install trayapp into .venv/ (with the few system packages running it needs) and start the tray app.
# Only what running needs: no test tools, no compiler, no PyGObject (the default trays, StatusNotifierItem
# and xorg, need no GTK).  A second run starts at once: pip runs again only when pyproject.toml changed.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_install $(package_list system-packages.txt)
make_venv ""
exec .venv/bin/trayapp "$@"
