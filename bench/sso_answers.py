"""What a huge answer of IAM Identity Center costs ``trayapp sso login``: peak RSS and wall time.

``python -m bench.sso_answers [--tree DIR] [--runs N]`` runs ``trayapp sso login corp`` against the SSO
stand-in (tests/support/sso.py) answering CreateToken normally, with 200 MB of JSON whose length is
declared, and with 200 MB read until the connection closes; it prints each run's median wall time and
peak RSS (``wait4``).  ``--tree`` runs another checkout's ``trayapp`` (an older commit, to compare).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.fixtures import aws_env
from tests.support.sso import CORP_CONFIG, SsoServer, browser_script


def sign_in(env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, last stderr line) of one ``trayapp sso login corp``."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "trayapp", "sso", "login", "corp"],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _pid, _status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        err.seek(0)
        said = (err.read().strip().splitlines() or ["(signed in)"])[-1]
    return seconds, usage.ru_maxrss / 1024, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"trayapp from {args.tree}; {args.runs} runs each; median")
    print(f"{'answer':<14} {'seconds':>8} {'peak RSS MB':>12}  said")
    for kind in (None, "huge", "huge-unsized"):
        rows = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder, SsoServer() as server:
                home = Path(folder)
                (home / ".aws").mkdir(mode=0o700)
                (home / ".aws" / "config").write_text(CORP_CONFIG)
                browser = browser_script(home / "browser.sh")
                env = aws_env(home, "http://127.0.0.1:9", **server.env(), BROWSER=str(browser))
                env["PYTHONPATH"] = str(args.tree)
                if kind:
                    server.hostile["CreateToken"] = kind
                rows.append(sign_in(env, args.tree))
        seconds = statistics.median(r[0] for r in rows)
        rss = statistics.median(r[1] for r in rows)
        print(f"{kind or 'normal':<14} {seconds:>8.2f} {rss:>12.1f}  {rows[-1][2][:110]}")


if __name__ == "__main__":
    main()
