"""Issue 14, item 2: the command line through the running tray, each figure beside its comparison.

``python -m bench.channel [--quick] [--out bench/out]`` starts moto's STS, a private desktop (Xvfb,
a session bus, trayer) and the real tray (xorg backend) on a throw-away HOME, then times fresh
processes, interleaved in rotating order after one warm-up each:

* ``trayapp assume role0000 --code-stdin`` served by the tray, beside the manual recipe
  (``aws sts assume-role`` + ``jq`` three times, as in bench/cold_cli.py) and beside today's path
  (``TRAYAPP_NO_CHANNEL=1``): budget ≤ 0.15 × the manual recipe.  Two ways: ``--duration 7200``
  (no MFA session fits: AssumeRole with the code, as the recipe does) and the tray's default (its
  MFA session signs the AssumeRole; the code is not needed again); both as a regular install runs
  them (see below), the first also through ``.venv/bin/trayapp``;
* ``trayapp credential-process role0000`` with a cached session, served by the tray, beside a bare
  ``python3 -c pass`` (the system's ``python3``): budget ≤ 2 ×.  Timed as a regular install runs it
  (the system ``python3`` running the console script's two lines, the package on ``PYTHONPATH``:
  the fast path needs nothing but the standard library) — the budget line — and through this
  checkout's ``.venv/bin/trayapp``, whose editable install adds a ``.pth`` import hook to every
  start of that interpreter (shown by ``.venv/bin/python -c pass`` beside it), and today's path.

Every served request is counted in the tray's log: a run in which the tray did not serve what it
should have fails instead of reporting today's path as the channel's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.cold_cli import commands as cold_commands
from bench.common import PYTHON, Codes, aws_home, check, median, run_timed, summary, trayapp_argv
from tests.support.desktop import REPO_ROOT, Desktop
from tests.support.procs import wait_until
from tests.support.sts import MotoServer
from tests.support.tray_desktop import start_tray

ROLE = "role0000"
#: The console script of a regular install, run by the system's python3.
SCRIPT = "import sys; from trayapp.cli import main; sys.exit(main())"


def _system_python() -> str | None:
    found = shutil.which("python3", path="/usr/bin:/bin")
    if found is None:
        return None
    import subprocess

    version = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    return found if version.stdout.strip() == str(sys.version_info[:2]) else None  # the same .pyc files


def _served(desktop: Desktop, command: str) -> int:
    return desktop.log("tray").count(f"served '{command}' for the command line")


def _interleaved(ways: dict[str, Any], runs: int) -> dict[str, list[float]]:
    """*ways*: name → () -> (argv, env, stdin); each run in a rotating order."""
    order = list(ways)
    times: dict[str, list[float]] = {k: [] for k in order}
    for name in order:  # warm-up: page cache, .pyc files
        argv, env, stdin = ways[name]()
        check(run_timed(argv, env, stdin=stdin)[1], f"{name} (warm-up)")
    for i in range(runs):
        shift = i % len(order)
        for name in order[shift:] + order[:shift]:
            argv, env, stdin = ways[name]()
            seconds, res = run_timed(argv, env, stdin=stdin)
            check(res, name)
            times[name].append(seconds)
    return times


def run(runs: int, pass_runs: int) -> dict[str, Any]:
    python3 = _system_python()
    codes = Codes(500000)
    with (
        MotoServer() as sts,
        Desktop(notifications=True, tray=True) as desktop,
        aws_home(sts.url, roles=1, base=desktop.env) as home,
    ):
        env = {**home.env, "PYSTRAY_BACKEND": "xorg"}
        today = {**env, "TRAYAPP_NO_CHANNEL": "1"}
        tray = start_tray(desktop, env)
        try:
            listening = lambda: "serving the command line" in desktop.log("tray")  # noqa: E731
            wait_until("the tray's channel", listening, 30, interval=0.05)
            cli = trayapp_argv()

            installed = {**env, "PYTHONPATH": str(REPO_ROOT)}
            regular = [python3, "-c", SCRIPT] if python3 else cli

            def assume(environ: dict[str, str], *extra: str, argv: list[str] = cli) -> Any:
                return lambda: ([*argv, "assume", ROLE, "--code-stdin", *extra], environ, codes() + "\n")

            def manual() -> Any:
                argv, stdin = cold_commands(codes())["manual"]
                return argv, env, stdin

            before = _served(desktop, f"assume {ROLE}")
            assume_times = _interleaved(
                {
                    "tray_code": assume(installed, "--duration", "7200", argv=regular),
                    "tray_mfa_session": assume(installed, argv=regular),
                    "tray_code_venv_script": assume(env, "--duration", "7200"),
                    "today": assume(today, "--duration", "7200"),
                    "manual": manual,
                },
                runs,
            )
            served_assumes = _served(desktop, f"assume {ROLE}") - before
            if served_assumes != 3 * (runs + 1):
                raise RuntimeError(f"the tray served {served_assumes} assumes of {3 * (runs + 1)}")

            ways: dict[str, Any] = {
                "venv_script": lambda: ([*cli, "credential-process", ROLE], env, ""),
                "venv_python_pass": lambda: ([PYTHON, "-c", "pass"], env, ""),
                "today": lambda: ([*cli, "credential-process", ROLE], today, ""),
            }
            if python3 is not None:
                ways["system_python3"] = lambda: ([python3, "-c", SCRIPT, "credential-process", ROLE], installed, "")
                ways["python3_pass"] = lambda: ([python3, "-c", "pass"], env, "")
            before = _served(desktop, f"credential-process {ROLE}")
            cp_times = _interleaved(ways, pass_runs)
            served_cp = _served(desktop, f"credential-process {ROLE}") - before
            expected = (pass_runs + 1) * (2 if python3 else 1)
            if served_cp != expected:
                raise RuntimeError(f"the tray served {served_cp} credential-process requests of {expected}")
        finally:
            tray.terminate()
            tray.wait(10)
    out: dict[str, Any] = {
        "runs": runs,
        "assume": {k: summary(v) for k, v in assume_times.items()},
        "credential_process": {k: summary(v) for k, v in cp_times.items()},
        "system_python3": python3,
    }
    a = {k: median(v) for k, v in assume_times.items()}
    c = {k: median(v) for k, v in cp_times.items()}
    out["ratio_assume_manual"] = a["tray_code"] / a["manual"]  # type: ignore[operator]
    out["ratio_assume_mfa_session_manual"] = a["tray_mfa_session"] / a["manual"]  # type: ignore[operator]
    out["ratio_assume_venv_script_manual"] = a["tray_code_venv_script"] / a["manual"]  # type: ignore[operator]
    out["ratio_assume_today_manual"] = a["today"] / a["manual"]  # type: ignore[operator]
    if python3 is not None:
        out["ratio_credential_process_python3"] = c["system_python3"] / c["python3_pass"]  # type: ignore[operator]
        out["ratio_venv_script_python3"] = c["venv_script"] / c["python3_pass"]  # type: ignore[operator]
        out["ratio_venv_pass_python3"] = c["venv_python_pass"] / c["python3_pass"]  # type: ignore[operator]
    out["ratio_venv_script_venv_pass"] = c["venv_script"] / c["venv_python_pass"]  # type: ignore[operator]
    return out


def table(r: dict[str, Any]) -> str:
    a, c = r["assume"], r["credential_process"]

    def ms(block: dict[str, Any], key: str) -> str:
        return f"{block[key]['median_ms']:.1f} ms" if key in block else "n/a"

    rows = [
        ("assume via the tray, a regular install (the code each time)", ms(a, "tray_code"),
         "manual " + ms(a, "manual"), r["ratio_assume_manual"], 0.15),
        ("assume via the tray, a regular install (its MFA session signs)", ms(a, "tray_mfa_session"),
         "manual " + ms(a, "manual"), r["ratio_assume_mfa_session_manual"], 0.15),
        ("assume via the tray, .venv/bin/trayapp (the code each time)", ms(a, "tray_code_venv_script"),
         "manual " + ms(a, "manual"), r["ratio_assume_venv_script_manual"], None),
        ("assume, today's path (no tray)", ms(a, "today"), "manual " + ms(a, "manual"),
         r["ratio_assume_today_manual"], None),
        ("credential-process via the tray, a regular install", ms(c, "system_python3"),
         "python3 -c pass " + ms(c, "python3_pass"), r.get("ratio_credential_process_python3"), 2.0),
        ("credential-process via the tray, .venv/bin/trayapp", ms(c, "venv_script"),
         "python3 -c pass " + ms(c, "python3_pass"), r.get("ratio_venv_script_python3"), None),
        ("  (.venv/bin/python -c pass: the editable install's .pth hook)", ms(c, "venv_python_pass"),
         "python3 -c pass " + ms(c, "python3_pass"), r.get("ratio_venv_pass_python3"), None),
        ("credential-process, today's path (no tray)", ms(c, "today"), "python3 -c pass " + ms(c, "python3_pass"),
         None, None),
    ]  # fmt: skip
    lines = [f"{'measured':<64} {'median':>10}  {'beside':<26} {'ratio':>6}  budget  met"]
    for label, value, beside, ratio, limit in rows:
        ratio_text = "" if ratio is None else f"{ratio:.2f}"
        met = "" if limit is None or ratio is None else ("yes" if ratio <= limit else "NO")
        limit_text = "" if limit is None else f"≤ {limit:g}"
        lines.append(f"{label:<64} {value:>10}  {beside:<26} {ratio_text:>6}  {limit_text:<6}  {met}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.channel")
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 12 (credential-process: 10, not 40)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    started = time.time()
    results = run(3 if args.quick else 12, 10 if args.quick else 40)
    with open("/proc/loadavg") as f:
        results["load_average_at_end"] = f.read().split()[:3]
    results["seconds"] = round(time.time() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "channel.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\nload average at the end: {' '.join(results['load_average_at_end'])}; figures in {args.out}/channel.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
