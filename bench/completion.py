"""Tab completion with 1,000 role profiles: budget ≤ 100 ms per tab press.

Three figures, each the median of ``--runs`` fresh runs (milliseconds):

``tab``        a real bash that sourced ``trayapp completion bash`` completing ``trayapp exec r``
               (the whole tab press: the completion function and the profile listing it starts);
``script``     the profile listing alone (``python -I -S trayapp/cli/profile_names.py``);
``fallback``   ``trayapp completion --profiles`` (what the script falls back to, e.g. a frozen build).

Run: ``.venv/bin/python -m bench.completion [--profiles 1000] [--runs 15]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PYTHON, summary, trayapp_argv

BUDGET_MS = 100.0


def write_config(folder: Path, profiles: int) -> Path:
    lines = ["[default]", "region = us-east-1", "", "[profile bench-src]", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"]
    lines += ["aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""]
    for n in range(profiles):
        lines += [
            f"[profile role{n:04d}]",
            f"role_arn = arn:aws:iam::123456789012:role/Role{n:04d}",
            "source_profile = bench-src",
            "mfa_serial = arn:aws:iam::123456789012:mfa/bench-user",
            "region = eu-west-1",
            "",
        ]
    path = folder / "config"
    path.write_text("\n".join(lines))
    return path


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.completion")
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="trayapp-bench-completion-") as tmp:
        folder = Path(tmp)
        config = write_config(folder, args.profiles)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "AWS_CONFIG_FILE": str(config), "LANG": "C.UTF-8"}
        script = subprocess.run(
            [*trayapp_argv(), "completion", "bash"], env=env, capture_output=True, text=True, check=True
        ).stdout
        (folder / "completion.bash").write_text(script)
        # One tab press: the function bash calls, started in a bash that has sourced the script.
        # The bash start-up is measured alone and subtracted.
        press = (
            f"source {folder / 'completion.bash'}; COMP_WORDS=(trayapp exec r); COMP_CWORD=2; _trayapp; "
            'echo "${#COMPREPLY[@]}"'
        )
        baseline = f"source {folder / 'completion.bash'}; true"
        names_script = str(Path(__file__).resolve().parents[1] / "trayapp" / "cli" / "profile_names.py")
        tab, bare, listing, fallback = [], [], [], []
        for _run in range(args.runs):
            seconds, out = timed(["bash", "-c", press], env)
            assert int(out) == args.profiles, out
            tab.append(seconds)
            bare.append(timed(["bash", "-c", baseline], env)[0])
            seconds, out = timed([PYTHON, "-I", "-S", names_script], env)
            assert len(out.splitlines()) == args.profiles
            listing.append(seconds)
            fallback.append(timed([*trayapp_argv(), "completion", "--profiles"], env)[0])
        shell_start = sorted(bare)[len(bare) // 2]
        result = {
            "profiles": args.profiles,
            "tab": summary([max(0.0, t - shell_start) for t in tab]),
            "script": summary(listing),
            "fallback": summary(fallback),
            "budget_ms": BUDGET_MS,
        }
    print(json.dumps(result, indent=2))
    ok = (result["tab"]["median_ms"] or 0) <= BUDGET_MS
    print(
        f"tab press with {args.profiles} profiles: {result['tab']['median_ms']:.1f} ms median"
        f" (budget {BUDGET_MS:.0f} ms)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
