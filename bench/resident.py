"""1. Resident assume: a ``Service`` in this process, code submitted → section written and readable."""

from __future__ import annotations

import inspect
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    MFA_SERIAL,
    PYTHON,
    REGION,
    SOURCE_KEY_ID,
    SOURCE_SECRET,
    Codes,
    patched_environ,
    role_arn,
    summary,
)
from tests.support.desktop import REPO_ROOT


class FixedCodePrompt:
    """An MfaPrompt that answers at once and notes when the code was 'submitted'."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.submitted: float | None = None
        self.asked = 0

    def ask(self, request: Any, error: str | None = None) -> str | None:
        if error:  # a refusal would make the figure meaningless
            raise RuntimeError(f"the service refused the bench's code: {error}")
        self.asked += 1
        self.submitted = time.perf_counter()
        return self.code

    def close(self) -> None:
        pass


class SteppingClock:
    """A wall clock for the reused-code guard that moves on by one TOTP memory per call,
    as if each assume came in a later window (the guard then never fills up)."""

    def __init__(self) -> None:
        self._offset = itertools.count(0, 91)

    def __call__(self) -> float:
        return time.time() + next(self._offset)


def _used_codes(tmp: Path) -> Any:
    """UsedCodes with the stepping clock; shared through a file when this version supports it
    (as the running app does)."""
    from trayapp.core.mfa import UsedCodes

    clock = SteppingClock()
    if len(inspect.signature(UsedCodes).parameters) >= 2:
        return UsedCodes(clock, tmp / "used-codes.json")
    return UsedCodes(clock)


_NEEDED = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


def _read_back(path: Path, section: str, previous: str | None) -> str:
    """The section as any botocore-based tool would see it: complete, and a new key."""
    from botocore.configloader import raw_config_parse

    values = raw_config_parse(str(path)).get(section) or {}
    if any(not values.get(k) for k in _NEEDED) or values["aws_access_key_id"] == previous:
        raise RuntimeError(f"section [{section}] not readable (or not renewed) after assume")
    return str(values["aws_access_key_id"])


def run(home: Any, sts_url: str, count: int) -> dict[str, Any]:
    """``home`` is a bench.common.AwsHome; ``count`` assumes per role after one warm-up."""
    from trayapp.core import ini
    from trayapp.core.preferences import Preferences
    from trayapp.core.service import Service

    ini.install_in_botocore()  # as the tray does as it starts (trayapp.cli.main)
    codes = Codes(200000)
    out: dict[str, Any] = {"count": count}
    with patched_environ(home.env):
        import os

        service = Service(environ=os.environ, preferences=Preferences, used_codes=_used_codes(home.root))
        cred_path = home.credentials

        last: dict[str, str | None] = {}

        def one(name: str) -> tuple[float, float]:
            prompt = FixedCodePrompt(codes())
            t_call = time.perf_counter()
            result = service.assume(name, prompt)
            last[name] = _read_back(cred_path, f"{name}-session", last.get(name))
            t_end = time.perf_counter()
            if result.session.profile != name:
                raise RuntimeError("assumed the wrong profile")
            start = prompt.submitted if prompt.submitted is not None else t_call
            return t_end - start, t_end - t_call

        for name, label in (("role0000", "mfa"), ("plain", "no_mfa")):
            t_first = one(name)[1]
            from_code, whole = zip(*(one(name) for _ in range(count)), strict=True)
            out[label] = {
                "first_assume_ms": t_first * 1000,
                "code_to_readable": summary(from_code),
                "whole_call": summary(whole),
            }
        out["sts_round_trip"] = _sts_floor(sts_url, count)
    return out


def _sts_floor(sts_url: str, count: int) -> dict[str, Any]:
    """One reused botocore client calling AssumeRole at moto: the floor any assume pays."""
    import botocore.session

    session = botocore.session.Session()
    client = session.create_client(
        "sts",
        region_name=REGION,
        endpoint_url=sts_url,
        aws_access_key_id=SOURCE_KEY_ID,
        aws_secret_access_key=SOURCE_SECRET,
    )
    times = []
    for i in range(count + 1):
        t0 = time.perf_counter()
        client.assume_role(RoleArn=role_arn(i), RoleSessionName="bench", SerialNumber=MFA_SERIAL, TokenCode="123456")
        times.append(time.perf_counter() - t0)
    return summary(times[1:])


_RSS_PROBE = r"""
import json, os, sys, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
out = {"python_kb": rss()}
from trayapp.core.service import Service
from trayapp.core.preferences import Preferences
from trayapp.core import ini
ini.install_in_botocore()
out["core_imported_kb"] = rss()
class P:
    def ask(self, request, error=None):
        return None if error else "654321"
    def close(self):
        pass
s = Service(preferences=Preferences)
s.roles()
out["roles_listed_kb"] = rss()
s.assume("role0000", P())
out["after_assume_kb"] = rss()
out["boto3_loaded"] = "boto3" in sys.modules
out["botocore_loaded"] = "botocore" in sys.modules
print(json.dumps(out))
"""


def rss_probe(home: Any) -> dict[str, Any]:
    """RSS of a fresh process holding only the core, before and after one assume — what the
    engine adds to any resident shell (the tray process adds pystray/Tk/GTK on top)."""
    res = subprocess.run(
        [PYTHON, "-c", _RSS_PROBE], env=home.env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    if res.returncode != 0:
        raise RuntimeError(f"RSS probe failed: {res.stderr.strip()[-800:]}")
    data: dict[str, Any] = json.loads(res.stdout)
    return {
        (k[:-3] + "_mb" if k.endswith("_kb") else k): (round(v / 1024, 1) if k.endswith("_kb") else v)
        for k, v in data.items()
    }
