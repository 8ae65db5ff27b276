"""2. Cold command line: ``trayapp assume`` as a fresh process beside ``aws sts assume-role`` and the
manual recipe (``aws sts assume-role`` + ``jq`` three times for three ``export`` lines), interleaved."""

from __future__ import annotations

import shlex
from typing import Any

from bench.common import AWS, MFA_SERIAL, SOURCE, Codes, check, median, role_arn, run_timed, summary, trayapp_argv

MANUAL = """\
creds=$({aws} sts assume-role --profile {src} --role-arn {arn} --role-session-name bench \\
  --serial-number {serial} --token-code "$1" --output json) || exit 1
echo "export AWS_ACCESS_KEY_ID=$(printf '%s' "$creds" | jq -r .Credentials.AccessKeyId)"
echo "export AWS_SECRET_ACCESS_KEY=$(printf '%s' "$creds" | jq -r .Credentials.SecretAccessKey)"
echo "export AWS_SESSION_TOKEN=$(printf '%s' "$creds" | jq -r .Credentials.SessionToken)"
"""


def commands(code: str) -> dict[str, tuple[list[str], str]]:
    """name → (argv, stdin) for one run of each way, with MFA *code*."""
    arn = role_arn(0)
    aws = [
        AWS,
        "sts",
        "assume-role",
        "--profile",
        SOURCE,
        "--role-arn",
        arn,
        "--role-session-name",
        "bench",
        "--serial-number",
        MFA_SERIAL,
        "--token-code",
        code,
    ]
    script = MANUAL.format(aws=shlex.quote(AWS), src=SOURCE, arn=arn, serial=MFA_SERIAL)
    return {
        "trayapp": ([*trayapp_argv(), "assume", "role0000", "--code-stdin"], code + "\n"),
        "aws": (aws, ""),
        "manual": (["bash", "-c", script, "manual", code], ""),
    }


def _validate(name: str, stdout: str) -> None:
    if name == "manual" and (stdout.count("export AWS_") != 3 or "null" in stdout):
        raise RuntimeError(f"the manual recipe printed {stdout!r}")
    if name == "aws" and "SessionToken" not in stdout:
        raise RuntimeError("aws sts assume-role printed no credentials")


def run(home: Any, runs: int) -> dict[str, Any]:
    env = home.env
    codes = Codes(300000)
    order = ["trayapp", "aws", "manual"]
    times: dict[str, list[float]] = {k: [] for k in order}
    for _ in range(1):  # warm the page cache and .pyc files; not counted
        for name, (argv, stdin) in commands(codes()).items():
            _, res = run_timed(argv, env, stdin=stdin)
            check(res, f"{name} (warm-up)")
    for i in range(runs):
        rotated = order[i % 3 :] + order[: i % 3]  # no way always runs first
        cmds = commands(codes())
        for name in rotated:
            argv, stdin = cmds[name]
            seconds, res = run_timed(argv, env, stdin=stdin)
            check(res, name)
            _validate(name, res.stdout)
            times[name].append(seconds)
    out: dict[str, Any] = {"runs": runs, **{k: summary(v) for k, v in times.items()}}
    t, a, m = (median(times[k]) for k in order)
    assert t is not None and a is not None and m is not None
    out["ratio_trayapp_aws"] = t / a
    out["ratio_trayapp_manual"] = t / m
    return out
