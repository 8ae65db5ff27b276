"""Shared helpers: statistics, clean environments, AWS files of any size, /proc readings."""

from __future__ import annotations

import itertools
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.desktop import REPO_ROOT, clean_base_env

PYTHON = sys.executable
AWS = str(Path(sys.executable).with_name("aws"))
ACCOUNT = "123456789012"
MFA_SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/bench-user"
SOURCE = "bench-src"
SOURCE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SOURCE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"


def trayapp_argv() -> list[str]:
    """The installed ``trayapp`` script if there is one, else ``python -m trayapp`` (run from the repo)."""
    script = Path(sys.executable).with_name("trayapp")
    return [str(script)] if script.exists() else [PYTHON, "-m", "trayapp"]


# --- statistics -------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values_s: Sequence[float]) -> dict[str, Any]:
    """Seconds in, milliseconds out: n, median, p95, min, max."""
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "median_ms": median(ms),
        "p95_ms": percentile(ms, 95),
        "min_ms": min(ms) if ms else None,
        "max_ms": max(ms) if ms else None,
    }


def growth(sizes: Sequence[int], values: Sequence[float | None]) -> dict[str, Any]:
    """How a cost grows with n: ratios between neighbouring sizes and the log-log slope
    (≈0 constant, ≈1 linear, ≈2 quadratic) of a least-squares fit."""
    pairs = [(n, v) for n, v in zip(sizes, values, strict=True) if v is not None and v > 0]
    out: dict[str, Any] = {"ratios": {}, "loglog_slope": None}
    for (n0, v0), (n1, v1) in itertools.pairwise(pairs):
        out["ratios"][f"{n1}/{n0}"] = round(v1 / v0, 2)
    if len(pairs) >= 2:
        xs = [math.log(n) for n, _ in pairs]
        ys = [math.log(v) for _, v in pairs]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        den = sum((x - mx) ** 2 for x in xs)
        out["loglog_slope"] = round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den, 2)
    return out


# --- environments and files -------------------------------------------------------------


@dataclass
class AwsHome:
    """A throw-away HOME with ``.aws/config`` and ``.aws/credentials`` and a private runtime dir."""

    root: Path
    sts_url: str
    base: Mapping[str, str] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def config(self) -> Path:
        return self.home / ".aws" / "config"

    @property
    def credentials(self) -> Path:
        return self.home / ".aws" / "credentials"

    @property
    def env(self) -> dict[str, str]:
        """Like tests.support.fixtures.aws_env: no inherited AWS_*, HOME here, STS at moto."""
        if self.base is None:
            env = clean_base_env()
        else:  # a Desktop's env: keep its DISPLAY, bus and TMPDIR
            env = {k: v for k, v in self.base.items() if not k.startswith("AWS_")}
        runtime = self.root / "run"
        env.update(
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(runtime),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            AWS_CONFIG_FILE=str(self.config),
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials),
            AWS_ENDPOINT_URL_STS=self.sts_url,
            AWS_EC2_METADATA_DISABLED="true",
        )
        env.update(self.extra)
        return env


@contextmanager
def aws_home(
    sts_url: str,
    *,
    roles: int = 1,
    sessions: int = 0,
    base: Mapping[str, str] | None = None,
    prefix: str = "trayapp-bench-",
) -> Iterator[AwsHome]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        h = AwsHome(Path(tmp), sts_url, base)
        (h.home / ".aws").mkdir(parents=True, mode=0o700)
        (h.root / "run").mkdir(mode=0o700)
        write_config(h.config, roles)
        write_credentials(h.credentials, sessions)
        yield h


def role_name(i: int) -> str:
    return f"role{i:04d}"


def role_arn(i: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/bench-{i:04d}"


def write_config(path: Path, roles: int) -> None:
    """``roles`` MFA role profiles (role0000…, first in the menu) plus ``plain`` (no MFA), all from
    ``bench-src``."""
    parts = [f"[profile {SOURCE}]\nregion = {REGION}\n"]
    for i in range(roles):
        parts.append(
            f"[profile {role_name(i)}]\nrole_arn = {role_arn(i)}\nsource_profile = {SOURCE}\n"
            f"mfa_serial = {MFA_SERIAL}\nregion = {REGION}\n"
        )
    parts.append(f"[profile plain]\nrole_arn = {role_arn(9999)}\nsource_profile = {SOURCE}\n")
    path.write_text("\n".join(parts))


def write_credentials(path: Path, sessions: int) -> None:
    """The source keys plus ``sessions`` sections trayapp wrote (``roleNNNN-session``, managed)."""
    from trayapp.core.credentials_file import MANAGED_KEY

    parts = [f"[{SOURCE}]\naws_access_key_id = {SOURCE_KEY_ID}\naws_secret_access_key = {SOURCE_SECRET}\n"]
    for i in range(sessions):
        parts.append(
            f"[{role_name(i)}-session]\n"
            f"aws_access_key_id = ASIA{i:016d}\n"
            f"aws_secret_access_key = {'s' * 40}\n"
            f"aws_session_token = {'t' * 300}\n"
            f"region = {REGION}\n"
            f"trayapp_profile = {role_name(i)}\n"
            f"trayapp_role_arn = {role_arn(i)}\n"
            f"trayapp_expiration = 2099-01-01T00:00:00+00:00\n"
            f"{MANAGED_KEY} = 1\n"
        )
    path.write_text("\n".join(parts))
    path.chmod(0o600)


@contextmanager
def patched_environ(env: Mapping[str, str]) -> Iterator[None]:
    """Replace os.environ with *env* for the block (botocore reads it directly)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Codes:
    """Six-digit codes never repeated within a run (the reused-code guard is shared by processes)."""

    def __init__(self, start: int = 100000) -> None:
        self._next = start

    def __call__(self) -> str:
        self._next = self._next + 1 if self._next < 999999 else 100000
        return f"{self._next:06d}"


# --- processes --------------------------------------------------------------------------


def run_timed(
    argv: Sequence[str], env: Mapping[str, str], *, stdin: str = "", timeout: float = 60
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    res = subprocess.run(
        list(argv), env=dict(env), input=stdin, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )
    return time.perf_counter() - t0, res


def check(res: subprocess.CompletedProcess[str], what: str) -> None:
    if res.returncode != 0:
        raise RuntimeError(f"{what} failed with status {res.returncode}: {(res.stderr or res.stdout).strip()[-800:]}")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS/VmHWM (kB) of *pid*, and context switches summed over all its threads."""
    out = {"rss_kb": 0, "hwm_kb": 0, "voluntary": 0, "nonvoluntary": 0, "threads": 0}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "VmRSS":
                out["rss_kb"] = int(value.split()[0])
            elif key == "VmHWM":
                out["hwm_kb"] = int(value.split()[0])
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key == "voluntary_ctxt_switches":
                        out["voluntary"] += int(value)
                    elif key == "nonvoluntary_ctxt_switches":
                        out["nonvoluntary"] += int(value)
            out["threads"] += 1
        except FileNotFoundError:
            continue  # the thread ended meanwhile
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of *pid* (all threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def git_commit() -> str | None:
    try:
        res = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "trayapp"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except OSError:
        return None
    return res.stdout.strip() + ("+dirty(trayapp/)" if dirty.stdout.strip() else "")
