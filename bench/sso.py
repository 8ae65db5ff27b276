"""IAM Identity Center figures against the SSO stand-in (tests/support/sso.py), medians of ``--runs``:

``browser``     ``trayapp sso login`` started → the browser (a ``BROWSER`` script) opened;
``sign_in``     the whole ``trayapp sso login`` with a browser that approves at once;
``refresh``     ``trayapp sso login`` with 19 minutes left: a refresh-token grant, no browser;
``cp_cached``   ``trayapp credential-process`` of an SSO profile with a valid session;
``cp_portal``   the same when the session must be fetched (GetRoleCredentials, signed in).

Run: ``.venv/bin/python -m bench.sso [--runs 5]`` (seconds, one JSON line).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.fixtures import aws_env
from tests.support.sso import SsoServer

CONFIG = """\
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile corp-admin]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
"""


def _run(env: dict[str, str], *args: str) -> float:
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "trayapp", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return time.monotonic() - start


def measure(runs: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp())
    (home / ".aws").mkdir(mode=0o700)
    (home / ".aws" / "config").write_text(CONFIG)
    stamp, browser = home / "opened", home / "browser.sh"
    browser.write_text(f'#!/bin/sh\ndate +%s.%N >> "{stamp}"\nexec curl -sSL -o /dev/null "$1"\n')
    browser.chmod(0o755)
    figures: dict[str, list[float]] = {k: [] for k in ("browser", "sign_in", "refresh", "cp_cached", "cp_portal")}
    with SsoServer() as server:
        env = aws_env(home, "http://127.0.0.1:9", **server.env(), BROWSER=str(browser))
        for _ in range(runs):
            _run(env, "sso", "logout", "corp")
            started = time.time()
            figures["sign_in"].append(_run(env, "sso", "login", "corp"))
            figures["browser"].append(float(stamp.read_text().split()[-1]) - started)
        server.token_seconds = 19 * 60
        for _ in range(runs):
            _run(env, "sso", "logout", "corp")
            _run(env, "sso", "login", "corp")
            figures["refresh"].append(_run(env, "sso", "login", "corp"))
        server.token_seconds = 3600
        _run(env, "sso", "login", "corp")
        for _ in range(runs):
            (home / ".aws" / "credentials").write_text("")
            figures["cp_portal"].append(_run(env, "credential-process", "corp-admin"))
            figures["cp_cached"].append(_run(env, "credential-process", "corp-admin"))
    return {name: round(statistics.median(values), 3) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(measure(parser.parse_args().runs)))


if __name__ == "__main__":
    main()
