#!/usr/bin/env bash
# Install trayapp into .venv/ (with the system packages it needs) and start the tray app.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_install $(system_packages | grep -vE '^(xvfb|xdotool|trayer|x11-utils|jwm|jq|libnotify-bin)$')
make_venv gtk
exec .venv/bin/trayapp "$@"
