#!/usr/bin/env bash
# Install everything the tests need (system packages, .venv with dev dependencies), lint, type-check
# and run the whole suite. Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_install $(package_list system-packages.txt) $(package_list test-packages.txt)
make_venv gtk,test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# The tiers run side by side (pytest-xdist): most of a desktop or integration test is waiting for a
# process, so four workers keep two CPUs busy.  `-n 0` among the arguments runs them one at a time.
.venv/bin/python -m pytest -n "${TRAYAPP_TEST_WORKERS:-4}" "$@"
