"""Crash safety and concurrent writers (issue 4 items 2 and 3).

* SIGKILL a writer at random instants: the file is always the complete old or
  the complete new version, parses, is 0600, and no temp file is readable by others.
* Two trayapp writers, a loop of the real ``aws configure set`` and a reader:
  nothing trayapp does loses another writer's update or shows a torn file.

The CI-sized runs are unmarked; the full-size runs (200+ kills, 200 rounds)
are marked slow.  Each test prints its figures (``pytest -s`` shows them).
"""

from __future__ import annotations

import inspect
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.configloader
import pytest

from tests.support.procs import HarnessError, wait_until
from trayapp.core.credentials_file import MANAGED_KEY, CredentialsFile

ROOT = Path(__file__).resolve().parents[1]
AWS = Path(sys.executable).parent / "aws"
TMP_SUFFIX = ".trayapp-tmp"


def user_file(sections: int) -> bytes:
    parts = ["# The user's own keys \u2014 trayapp must keep every byte.\n"]
    for i in range(sections):
        parts.append(f"\n; profile {i}\n[user-{i}]\naws_access_key_id = AKIAUSER{i:08d}\n")
        parts.append(f"aws_secret_access_key: secret%{i}/{'x' * 30}\n")
    parts.append("\n[aws-base]\naws_access_key_id = AKIABASE\n")
    return "".join(parts).encode()


def session_values(k: int) -> dict[str, str]:
    return {
        "aws_access_key_id": f"ASIA{k:012d}",
        "aws_secret_access_key": f"secret-{k}-" + "s" * 30,
        "aws_session_token": f"token-{k}-" + "T" * 700,
        "counter": str(k),
    }


def parse(path: Path) -> dict[str, dict[str, str]]:
    return botocore.configloader.raw_config_parse(str(path))  # type: ignore[no-any-return]


# --- SIGKILL ------------------------------------------------------------------------

WRITER = """
import sys
from trayapp.core.credentials_file import CredentialsFile
exec(sys.argv[2])  # session_values
cf = CredentialsFile(sys.argv[1])
k = int(sys.argv[3])
print("ready", flush=True)
while True:
    k += 1
    cf.write_section("w-session", session_values(k))
    if k % 5 == 0:
        cf.remove_section("w-session")
"""


def run_kills(tmp_path: Path, trials: int) -> dict[str, int]:
    path = tmp_path / ".aws" / "credentials"
    path.parent.mkdir(mode=0o700)
    base = user_file(150)
    path.write_bytes(base)
    path.chmod(0o600)
    rng = random.Random(20240601)
    figures = {"trials": trials, "old_or_absent": 0, "with_section": 0, "temp_left": 0}
    k = 0
    for _ in range(trials):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), inspect.getsource(session_values), str(k)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, 0.06))  # the behaviour under test: a kill at a random moment
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        data = path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        view = parse(path)  # parses, whatever the instant
        if "w-session" in view:
            k = int(view["w-session"]["counter"])
            expected = {MANAGED_KEY: "1", **session_values(k)}
            assert view["w-session"] == expected
            block = "".join(f"{key} = {value}\n" for key, value in expected.items())
            assert data == base + f"[w-session]\n{block}".encode()  # the complete new version
            figures["with_section"] += 1
        else:
            assert data == base  # the complete old version
            figures["old_or_absent"] += 1
        k += 10  # the next writer starts with fresh values
        for leftover in path.parent.iterdir():
            if leftover.name.endswith(TMP_SUFFIX):
                figures["temp_left"] += 1
                assert stat.S_IMODE(leftover.stat().st_mode) & 0o077 == 0
        lock = Path(f"{path}.lock")
        if lock.exists():
            assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0
    # The next write clears what killed writers left behind.
    CredentialsFile(path).remove_section("w-session")
    assert path.read_bytes() == base
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(TMP_SUFFIX)] == []
    print(f"\nSIGKILL: {figures}")
    return figures


def test_sigkill_ci(tmp_path: Path) -> None:
    run_kills(tmp_path, 40)


@pytest.mark.slow
def test_sigkill_full(tmp_path: Path) -> None:
    figures = run_kills(tmp_path, 250)
    assert figures["trials"] >= 200


# --- concurrency ----------------------------------------------------------------------

TRAYAPP_WRITER = """
import json, os, random, sys, time, configparser
from trayapp.core.credentials_file import CredentialsFile
path, name, stop = sys.argv[1], sys.argv[2], sys.argv[3]
cf = CredentialsFile(path)
rng = random.Random(name)

def current():
    for _ in range(100):
        parser = configparser.RawConfigParser()
        try:
            with open(path, encoding="utf-8") as f:
                parser.read_file(f)
        except configparser.Error:
            time.sleep(0.005)  # caught aws configure set half-way; look again
            continue
        if not parser.has_section("aws-base"):
            time.sleep(0.005)  # an empty or cut file: aws configure set half-way
            continue
        if parser.has_section(name):
            return parser.get(name, "counter")
        return None
    raise RuntimeError("the file stayed unreadable")

k, expected, lost, errors = 0, None, 0, []
while not os.path.exists(stop) or k < 5:
    k += 1
    seen = current()
    if seen != expected:
        lost += 1
    try:
        if k % 10 == 0:
            cf.remove_section(name)
            expected = None
        else:
            cf.write_section(name, {"aws_access_key_id": "ASIA" + name, "counter": str(k)})
            expected = str(k)
    except Exception as exc:
        errors.append(type(exc).__name__ + ": " + str(exc))
    time.sleep(rng.uniform(0.001, 0.02))  # a tray's writes, at random moments
print(json.dumps({"writes": k, "lost": lost, "errors": errors, "last": expected}))
"""

READER = """
import configparser, json, os, sys, time
path, stop, required = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
snapshots, torn, duplicates = 0, 0, 0
while not os.path.exists(stop):
    with open(path, "rb") as f:
        data = f.read()
    snapshots += 1
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(data.decode("utf-8"))
    except configparser.DuplicateSectionError:
        duplicates += 1
        continue
    except (configparser.Error, UnicodeDecodeError):
        torn += 1
        continue
    if not set(required) <= set(parser.sections()):
        torn += 1
    time.sleep(0.0005)  # a reader that looks all the time, as a shell prompt's aws could
print(json.dumps({"snapshots": snapshots, "torn": torn, "duplicates": duplicates}))
"""


def run_concurrency(tmp_path: Path, aws_rounds: int, seconds_without_aws: float) -> dict[str, Any]:
    path = tmp_path / ".aws" / "credentials"
    path.parent.mkdir(mode=0o700)
    base = user_file(60)
    path.write_bytes(base)
    path.chmod(0o600)
    stop = tmp_path / "stop"
    required = [f"user-{i}" for i in range(60)] + ["aws-base"]
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "AWS_SHARED_CREDENTIALS_FILE": str(path),
        "AWS_CONFIG_FILE": str(tmp_path / ".aws" / "config"),
    }
    env.pop("AWS_PROFILE", None)

    def start(script: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env
        )

    processes = [
        start(TRAYAPP_WRITER, str(path), "t1-session", str(stop)),
        start(TRAYAPP_WRITER, str(path), "t2-session", str(stop)),
        start(READER, str(path), str(stop), json.dumps(required)),
    ]
    aws_set: dict[tuple[str, str], str] = {}
    aws_lost = 0
    try:
        if aws_rounds == 0:
            time.sleep(seconds_without_aws)  # the behaviour under test: writers racing for this long
        for i in range(aws_rounds):
            if i % 2 == 0:  # a new section: aws appends to the file
                profile, key, value = f"aws-{i}", "aws_access_key_id", f"AKIAAWS{i:08d}"
            else:  # an existing section: aws rewrites the whole file in place
                profile, key, value = "aws-base", "aws_session_token", f"aws-token-{i}"
            subprocess.run(
                [str(AWS), "configure", "set", key, value, "--profile", profile],
                env=env,
                check=True,
                timeout=120,
                capture_output=True,
            )
            aws_set[(profile, key)] = value
            time.sleep(0.05)  # the behaviour under test: trayapp writes a few times on top of it
            view = read_settled(path)
            if view.get(profile, {}).get(key) != value:
                aws_lost += 1
                del aws_set[(profile, key)]
    finally:
        stop.write_text("stop")
        results = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    writers, reader = results[:2], results[2]
    final = parse(path)
    user = parse_bytes(tmp_path, base)
    for name, section in user.items():
        if name != "aws-base":
            assert final[name] == section  # the user's sections, exactly
    for (profile, key), value in aws_set.items():
        assert final[profile][key] == value
    for name, writer in zip(("t1-session", "t2-session"), writers, strict=True):
        assert writer["errors"] == []
        if writer["last"] is None:
            assert name not in final
        else:
            assert final[name]["counter"] == writer["last"]
    figures = {
        "aws_updates": aws_rounds,
        "aws_updates_lost": aws_lost,
        "trayapp_writes": sum(w["writes"] for w in writers),
        "trayapp_updates_lost": sum(w["lost"] for w in writers),
        **reader,
    }
    print(f"\nconcurrency: {figures}")
    assert reader["duplicates"] == 0
    return figures


def read_settled(path: Path) -> dict[str, dict[str, str]]:
    """The file parsed once no writer is half-way through it (another write may be under way)."""
    try:
        return wait_until(f"{path.name} to parse", lambda: (parse(path),), 2)[0]
    except HarnessError:
        return parse(path)  # with botocore's error


def parse_bytes(tmp_path: Path, data: bytes) -> dict[str, dict[str, str]]:
    probe = tmp_path / "probe"
    probe.write_bytes(data)
    return parse(probe)


def test_two_trayapp_writers_and_a_reader(tmp_path: Path) -> None:
    figures = run_concurrency(tmp_path, aws_rounds=0, seconds_without_aws=4)
    # Only trayapp writes: the lock serialises them, os.replace hides every half-way state.
    assert figures["trayapp_updates_lost"] == 0
    assert figures["torn"] == 0 and figures["snapshots"] > 100


needs_aws = pytest.mark.skipif(not AWS.exists(), reason="the aws CLI is not installed next to Python")


@needs_aws
def test_with_aws_configure_set_ci(tmp_path: Path) -> None:
    figures = run_concurrency(tmp_path, aws_rounds=16, seconds_without_aws=0)
    assert figures["aws_updates_lost"] == 0


@needs_aws
@pytest.mark.slow
def test_with_aws_configure_set_200_rounds(tmp_path: Path) -> None:
    figures = run_concurrency(tmp_path, aws_rounds=200, seconds_without_aws=0)
    assert figures["aws_updates_lost"] == 0
