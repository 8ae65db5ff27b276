"""``trayapp sso profiles --write`` against a large directory on the SSO stand-in (tests/support/sso.py).

For each size (accounts, each with ``--roles`` permission sets) the config holds one sign-in and one
profile; the stand-in pages its listings (``--page`` items a page) and, in the ``429`` runs, answers
every seventh listing request HTTP 429 ``TooManyRequestsException``.  The figure is the wall time of
the whole command (a fresh process, signed in already), with the profiles it wrote, the listing
requests and the 429s served.  A run is stopped after ``--limit`` seconds (then: how many profiles
the file held by then).  Budget (issue 30): 1,000 accounts ≤ 10 s at once, ≤ 60 s with 429s; linear.

Run: ``.venv/bin/python -m bench.sso_directory [--sizes 1000 3000] [--runs 1]``; ``--code DIR`` runs
the trayapp of another source tree (e.g. an export of main) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.fixtures import aws_env
from tests.support.sso import CORP_CONFIG, SsoServer, browser_script

THROTTLE_EVERY = 7


def _trayapp(env: dict[str, str], home: Path, limit: float, *args: str) -> tuple[float, int | None]:
    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "trayapp", *args], env=env, cwd=home, capture_output=True, text=True, timeout=limit
        )
    except subprocess.TimeoutExpired:
        return time.monotonic() - start, None
    if result.returncode != 0:
        raise SystemExit(f"trayapp {' '.join(args)} failed: {result.stderr.strip()}")
    return time.monotonic() - start, result.returncode


def measure(
    sizes: list[int], roles: int, runs: int, page: int, limit: float, code: str | None
) -> list[dict[str, object]]:
    home = Path(tempfile.mkdtemp(prefix="bench-ssodir-"))
    (home / ".aws").mkdir(mode=0o700)
    config = home / ".aws" / "config"
    config.write_text(CORP_CONFIG)
    rows: list[dict[str, object]] = []
    try:
        _measure(home, config, sizes, roles, runs, page, limit, code, rows)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return rows


def _measure(
    home: Path,
    config: Path,
    sizes: list[int],
    roles: int,
    runs: int,
    page: int,
    limit: float,
    code: str | None,
    rows: list[dict[str, object]],
) -> None:
    browser = browser_script(home / "browser.sh")
    with SsoServer() as server:
        extra = {"BROWSER": str(browser), **server.env()}
        if code:
            extra["PYTHONPATH"] = os.path.abspath(code)
        env = aws_env(home, "http://127.0.0.1:9", **extra)
        _trayapp(env, home, limit, "sso", "login", "corp")
        server.page_size = page
        for size in sizes:
            server.assignments = {
                f"{100000000000 + n:012d}": (f"Account {n:05d}", [f"Role{r}" for r in range(roles)])
                for n in range(size)
            }
            for every in (0, THROTTLE_EVERY):
                times: list[float] = []
                written: list[int] = []
                requests = throttled = 0
                for _ in range(runs):
                    config.write_text(CORP_CONFIG)
                    server.throttle_every, server.throttled, server.pages_asked = every, 0, None
                    before = len(server.operations("ListAccounts", "ListAccountRoles"))
                    took, finished = _trayapp(env, home, limit, "sso", "profiles", "corp", "--write")
                    times.append(took)
                    written.append(config.read_text().count("[profile ") - 1)
                    requests = len(server.operations("ListAccounts", "ListAccountRoles")) - before
                    throttled = server.throttled
                    if finished is None:
                        break  # stopped at the limit: one such run says enough
                rows.append(
                    {
                        "accounts": size,
                        "profiles_wanted": size * roles,
                        "throttle": f"1 in {every}" if every else "none",
                        "seconds": round(statistics.median(times), 2),
                        "profiles_written": min(written),
                        "stopped_at_limit": finished is None,
                        "listing_requests": requests,
                        "answered_429": throttled,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--roles", type=int, default=1, help="permission sets per account (default 1)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--page", type=int, default=20, help="items per listing page (default 20)")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before a run is stopped")
    parser.add_argument("--code", metavar="DIR", help="run the trayapp package found in DIR")
    args = parser.parse_args()
    rows = measure(args.sizes, args.roles, args.runs, args.page, args.limit, args.code)
    print(f"{'accounts':>8} {'429s':>9} {'seconds':>8} {'written':>9} {'requests':>9} {'429 served':>10}")
    for row in rows:
        mark = " (stopped at the limit)" if row["stopped_at_limit"] else ""
        print(
            f"{row['accounts']:>8} {row['throttle']:>9} {row['seconds']:>8} "
            f"{row['profiles_written']:>4}/{row['profiles_wanted']:<4} {row['listing_requests']:>9} "
            f"{row['answered_429']:>10}{mark}"
        )


if __name__ == "__main__":
    main()
