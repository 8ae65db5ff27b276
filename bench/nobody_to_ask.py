"""Issue 29, item 4: how soon a caller hears that nobody can give an MFA code.

``python -m bench.nobody_to_ask [--runs N] [--code TREE]`` writes a throw-away HOME with an MFA role
``prod`` (no session) and a ``credential_process`` profile for it, removes every way to ask a person
(no ``DISPLAY``, ``WAYLAND_DISPLAY``, ``BROWSER``; standard input not a terminal; no tray), then times
fresh processes, interleaved after one warm-up each:

* ``trayapp credential-process prod``, refused with the sentence naming ``--code``;
* ``aws sts get-caller-identity`` through ``credential_process = trayapp credential-process prod``
  (the aws CLI's own start included), refused with that sentence;
* ``python -c pass``, the floor.

``--code TREE`` runs the trayapp of another tree (an export of main, say) on ``PYTHONPATH`` instead.
Budget (issue 29): the aws CLI's refusal within 5 s. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import AWS, PYTHON, summary
from tests.support.aws_files import CREDENTIALS
from tests.support.fixtures import aws_env

CONFIG = """\
[profile prod]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/alice
region = eu-central-1

[profile via-prod]
credential_process = {python} -m trayapp credential-process prod
region = eu-central-1
"""
SENTENCE = "pass --code-stdin or --code"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nobody_to_ask")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--code", metavar="TREE", help="run the trayapp package of TREE instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trayapp-nobody-") as tmp:
        home = Path(tmp)
        (home / ".aws").mkdir(mode=0o700)
        (home / ".aws" / "config").write_text(CONFIG.format(python=PYTHON))
        (home / ".aws" / "credentials").write_text(CREDENTIALS)
        (home / ".aws" / "credentials").chmod(0o600)
        (home / "run").mkdir(mode=0o700)
        env = aws_env(home, "http://127.0.0.1:9", XDG_RUNTIME_DIR=str(home / "run"), PYTHONDONTWRITEBYTECODE="1")
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(name, None)
        if args.code:
            env["PYTHONPATH"] = os.path.abspath(args.code)
        ways = {
            "credential-process": [PYTHON, "-m", "trayapp", "credential-process", "prod"],
            "aws via credential_process": [AWS, "sts", "get-caller-identity", "--profile", "via-prod"],
            "python -c pass": [PYTHON, "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for i in range(args.runs + 1):
            names = list(ways)[i % 3 :] + list(ways)[: i % 3]
            for name in names:
                start = time.perf_counter()  # from HOME: `python -m` puts the working folder first
                res = subprocess.run(ways[name], env=env, cwd=home, capture_output=True, text=True, timeout=120)
                seconds = time.perf_counter() - start
                if name != "python -c pass" and (res.returncode == 0 or SENTENCE not in res.stderr):
                    raise RuntimeError(f"{name}: no refusal naming the fix: {res.stderr!r}")
                if i:  # the first round warms the page cache
                    times[name].append(seconds)
    print(json.dumps({"code": args.code or "this tree", **{k: summary(v) for k, v in times.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
