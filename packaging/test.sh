#!/usr/bin/env bash
# Install everything the tests need (system packages, .venv with dev dependencies), lint, type-check
# and run the whole suite. Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
apt_install $(system_packages)
make_venv gtk,test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
