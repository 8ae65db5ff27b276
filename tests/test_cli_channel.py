"""The command line through the running tray (issue 14): a real tray on a private desktop, the real
CLI as a separate process asking it over the private socket; the tray's log says when it served.
No tray, a stale socket, someone else's socket, another version, a silent tray: today's path."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import aws_files
from tests.support.channel import Tray, alone_env, running_tray, socket_path
from trayapp.cli import fast
from trayapp.core import channel

PYTHON = sys.executable
OTHER = 65534


@pytest.fixture(scope="module")
def tray() -> Iterator[Tray]:
    with running_tray() as running:
        yield running


def trayapp(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "trayapp", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def command_lines() -> str:
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return "\n".join(found)


def test_assume_with_a_code_on_stdin_is_done_by_the_tray(tray: Tray) -> None:
    before = tray.served("assume prod")
    done = trayapp(tray.env, "assume", "prod", "--code-stdin", "--duration", "7200", stdin="246801\n")
    assert done.returncode == 0, done.stderr
    assert "Assumed prod: session profile 'prod-session'" in done.stdout
    assert "export AWS_PROFILE=prod-session" in done.stdout
    assert tray.served("assume prod") == before + 1
    assert "[prod-session]" in (tray.desktop.home / ".aws" / "credentials").read_text()
    # The code crossed only the socket: on no command line, in no log.
    assert "246801" not in command_lines()
    assert "246801" not in tray.log()


def test_the_reused_code_guard_holds_through_the_tray(tray: Tray) -> None:
    first = trayapp(tray.env, "assume", "prod", "--code", "135791", "--duration", "7200")
    assert first.returncode == 0, first.stderr
    again = trayapp(tray.env, "assume", "prod", "--code", "135791", "--duration", "7200")
    assert again.returncode == 1
    assert "This MFA code was already used" in again.stderr
    assert tray.log().count("served 'assume prod'") >= 2


def test_the_trays_mfa_session_signs_a_command_line_assume(tray: Tray) -> None:
    """The first code opens the tray's MFA session; the next assume needs none: the same code
    again is not even asked for (today's path would refuse it as used)."""
    first = trayapp(tray.env, "assume", "prod", "--code", "975310")
    assert first.returncode == 0, first.stderr
    again = trayapp(tray.env, "assume", "prod", "--code", "975310")
    assert again.returncode == 0, again.stderr
    alone = trayapp({**tray.env, channel.DISABLE_ENV: "1"}, "assume", "prod", "--code", "975310")
    assert alone.returncode == 1 and "already used" in alone.stderr


def test_credential_process_env_and_status_answer_as_today(tray: Tray) -> None:
    assert trayapp(tray.env, "assume", "dev", "--code", "000000").returncode == 0  # dev needs no MFA
    alone = {**tray.env, channel.DISABLE_ENV: "1"}
    for args in (
        ["credential-process", "dev"],
        ["env", "dev"],
        ["env", "dev", "--shell", "fish", "--region", "eu-west-1"],
        ["status", "--json"],
    ):
        key = " ".join(args[:2]) if args[0] != "status" else "status"
        before = tray.served(key)
        via_tray, today = trayapp(tray.env, *args), trayapp(alone, *args)
        assert via_tray.returncode == today.returncode == 0, (args, via_tray.stderr, today.stderr)
        assert via_tray.stdout == today.stdout, args
        assert tray.served(key) == before + 1, args
    document = json.loads(trayapp(tray.env, "credential-process", "dev").stdout)
    assert document["Version"] == 1 and document["AccessKeyId"].startswith("ASIA")


def test_the_tray_renews_a_session_inside_botocores_refresh_window_before_handing_it_out(tray: Tray) -> None:
    """12 min left (botocore's advisory window is 15): the tray renews dev (no code needed) and
    hands out the fresh session; it used to hand out the old one, and botocore ran the command
    again before every call."""
    credentials = tray.desktop.home / ".aws" / "credentials"
    aws_files.write_session(credentials, "dev", minutes=12)
    before = tray.served("credential-process dev")
    done = trayapp(tray.env, "credential-process", "dev")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["SessionToken"] != aws_files.OLD_TOKEN
    left = datetime.fromisoformat(document["Expiration"]) - datetime.now(UTC)
    assert left > timedelta(minutes=30)
    assert tray.served("credential-process dev") == before + 1
    assert aws_files.OLD_TOKEN not in credentials.read_text()


def test_status_through_the_tray_agrees_with_the_direct_path_on_a_short_session(tray: Tray) -> None:
    """A 15-minute session with 9 min left is not yet at half its life (the lead that fits it, under
    the 10-minute warning): both paths say "active".  The tray's answer used to drop the duration,
    so it measured against the full lead and said "expiring"."""
    aws_files.write_session(tray.desktop.home / ".aws" / "credentials", "dev", minutes=9, duration=900)
    alone = {**tray.env, channel.DISABLE_ENV: "1"}
    before = tray.served("status")
    via_tray, today = trayapp(tray.env, "status", "--json"), trayapp(alone, "status", "--json")
    assert tray.served("status") == before + 1
    states = {s["profile"]: s["state"] for s in json.loads(via_tray.stdout)}
    assert states["dev"] == "active"
    assert via_tray.stdout == today.stdout


def test_what_the_tray_can_not_answer_takes_todays_path(tray: Tray) -> None:
    """No session for credential-process (it would need a prompt), an unknown profile, a bad
    region: the command line's own answer, in its own words."""
    unknown = trayapp(tray.env, "credential-process", "nope")
    assert unknown.returncode == 2 and "There is no role profile named 'nope'" in unknown.stderr
    region = trayapp(tray.env, "env", "dev", "--region", "not a region")
    assert region.returncode == 2 and "--region" in region.stderr


def test_credential_process_through_the_tray_imports_nothing_heavy(tray: Tray) -> None:
    trayapp(tray.env, "assume", "dev", "--code", "000000")
    code = (
        "import sys; from trayapp.cli import main; status = main(['credential-process', 'dev']); "
        "sys.stderr.write(' '.join(sorted(sys.modules))); sys.exit(status)"
    )
    done = subprocess.run([PYTHON, "-c", code], env=tray.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Version"] == 1
    loaded = set(done.stderr.split())
    heavy = {"botocore", "boto3", "filelock", "keyring", "argparse", "json", "socket", "typing", "hashlib"}
    assert loaded & heavy == set()
    assert "trayapp.core.service" not in loaded


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_the_tray_refuses_another_user(tray: Tray) -> None:
    """Even with the folder and socket opened up by mistake, another uid gets nothing."""
    opened = [tray.desktop.runtime_dir.parent, tray.desktop.runtime_dir, tray.folder]
    modes = [stat.S_IMODE(p.stat().st_mode) for p in opened]
    sock_mode = stat.S_IMODE(tray.socket.stat().st_mode)
    assert sock_mode == 0o600 and modes[-1] == 0o700
    probe = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])\n"
        "try:\n"
        '    s.sendall(b\'{"command": "status"}\\n\')\n'
        "    print(repr(s.recv(100)))\n"
        "except (BrokenPipeError, ConnectionResetError):\n"
        "    print('closed')\n"
    )
    try:
        for path in opened:
            path.chmod(0o711)
        tray.socket.chmod(0o666)
        done = subprocess.run(
            ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups", "/usr/bin/python3", "-c", probe,
             str(tray.socket)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        for path, mode in zip(opened, modes, strict=True):
            path.chmod(mode)
        tray.socket.chmod(sock_mode)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("b''", "closed")  # closed without a word
    assert f"refused a connection to the command line's channel from uid {OTHER}" in tray.log()


# --- without a tray: today's path, silently ---------------------------------------------------------


@pytest.fixture
def alone(tmp_path: Path) -> dict[str, str]:
    """AWS files with a valid dev-session written by today's path, and no tray."""
    return alone_env(tmp_path)  # no STS needed: the session is written below


def write_session(env: dict[str, str]) -> None:
    aws_files.write_session(env["AWS_SHARED_CREDENTIALS_FILE"])


def test_a_stale_socket_is_left_alone_and_today_s_path_answers(alone: dict[str, str]) -> None:
    write_session(alone)
    path = socket_path(alone)
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()  # a tray that died: the file stays, nobody listens
    path.chmod(0o600)
    done = trayapp(alone, "credential-process", "dev")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == "ASIAIOSFODNN7EXAMPLE"
    assert done.stderr == ""
    assert stat.S_ISSOCK(path.lstat().st_mode)  # not removed: the next tray replaces it


class Listener:
    """A socket in the tray's place that records whether anyone connected."""

    def __init__(self, path: Path, *, reply: bytes | None) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(30)
        self.connections = 0
        self.reply = reply
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.connections += 1
                with conn:
                    conn.recv(65536)
                    if self.reply is not None:
                        conn.sendall(self.reply)
                    else:
                        conn.recv(65536)  # say nothing until the client gives up

    def close(self) -> None:
        self.sock.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a socket to another user")
def test_another_users_socket_is_never_connected_to(alone: dict[str, str]) -> None:
    write_session(alone)
    path = socket_path(alone)
    listener = Listener(path, reply=b'{"stdout": "forged\\n"}\n')
    try:
        os.chown(path, OTHER, OTHER)
        path.chmod(0o600)
        done = trayapp(alone, "credential-process", "dev")
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == "ASIAIOSFODNN7EXAMPLE"
    assert listener.connections == 0


@pytest.mark.parametrize("reply", [b'{"fallback": "version"}\n', b"not json\n", b'{"stdout": 42}\n'])
def test_a_tray_of_another_version_or_a_garbled_reply_leaves_todays_path(alone: dict[str, str], reply: bytes) -> None:
    write_session(alone)
    path = socket_path(alone)
    listener = Listener(path, reply=reply)
    path.chmod(0o600)
    try:
        done = trayapp(alone, "credential-process", "dev")
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"] == "ASIAIOSFODNN7EXAMPLE"
    assert done.stderr == ""
    assert listener.connections == 1


def test_a_silent_tray_is_given_up_on(alone: dict[str, str]) -> None:
    path = socket_path(alone)
    listener = Listener(path, reply=None)
    path.chmod(0o600)
    try:
        connection = channel.connect(alone)
        assert connection is not None
        assert connection.ask({"command": "status"}, timeout=0.3) is None
        connection.close()
    finally:
        listener.close()


def test_the_tray_answers_only_its_own_version_files_and_environment(
    alone: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trayapp.core.service import Service
    from trayapp.tray.channel import ChannelServer

    write_session(alone)
    for key, value in alone.items():
        monkeypatch.setenv(key, value)
    server = ChannelServer(Service(environ=alone), environ=alone)
    assert server.start()
    try:
        base = {"command": "credential-process", "profile": "dev", "engine": channel.engine_fingerprint(alone)}
        paths = list(channel.aws_paths(alone))

        def ask(**changes: Any) -> dict[str, Any] | None:
            connection = channel.connect(alone)
            assert connection is not None
            try:
                return connection.ask({**base, "paths": paths, **changes})
            finally:
                connection.close()

        served = ask()
        assert served is not None and json.loads(served["stdout"])["AccessKeyId"] == "ASIAIOSFODNN7EXAMPLE"
        with socket.socket(socket.AF_UNIX) as raw:  # Connection.ask always sends this version
            raw.connect(str(socket_path(alone)))
            raw.sendall(json.dumps({**base, "paths": paths, "version": "0/0.0.0"}).encode() + b"\n")
            assert json.loads(raw.makefile("rb").readline()) == {"fallback": "version"}
        assert ask(paths=[paths[0], "/elsewhere/credentials"]) == {"fallback": "environment"}
        assert ask(engine=channel.engine_fingerprint({**alone, "AWS_ENDPOINT_URL_STS": "http://x"})) == {
            "fallback": "environment"
        }
        assert ask(profile="prod") == {"fallback": "no session"}
    finally:
        server.stop()
    assert not socket_path(alone).exists()


def test_only_the_forms_the_tray_serves_are_sent_to_it() -> None:
    assert fast.parse(["credential-process", "dev"]) == {"command": "credential-process", "profile": "dev"}
    assert fast.parse(["assume", "prod", "--code=123456"]) == {
        "command": "assume",
        "profile": "prod",
        "code": "123456",
        "duration": None,
    }
    assert fast.parse(["assume", "--code-stdin", "prod", "--duration", "3600"]) == {
        "command": "assume",
        "profile": "prod",
        "duration": 3600,
    }
    for argv in (
        ["assume", "prod"],  # the prompt is the command line's own
        ["assume", "prod", "--code", "1", "--code-stdin"],
        ["assume", "prod", "--code", "1", "--duration", "７２００"],  # the parser reads full-width digits
        ["assume", "prod", "--cod", "1"],
        ["env", "dev", "--help"],
        ["env", "dev", "--shell", "tcsh"],
        ["status", "extra"],
        ["list"],
        ["credential-process"],
        ["credential-process", "a", "b"],
    ):
        assert fast.parse(argv) is None, argv


def test_json_lines_without_the_json_module() -> None:
    value = {"a": [1, 'x\u00e9\n"', None, True, False], "b": {"c": 2}, "d": "１２３"}
    assert json.loads(channel.encode(value)) == value
    assert channel.decode(json.dumps(value).encode() + b"\n") == value
    for bad in (b"", b"{", b"{} {}", b"NaN"):
        with pytest.raises(ValueError):
            channel.decode(bad)


def test_lines_the_tray_sends_back_to_back_are_read_one_at_a_time() -> None:
    """A keep-alive and the answer after it can arrive in one read (the tray asking for a caller);
    the whole read used to be taken for one line, so both were lost and the keys with them."""
    import time

    ours, trays = socket.socketpair()
    with ours, trays:
        trays.sendall(b'{"waiting": true}\n{"stdout": "keys"}\n')
        connection = channel.Connection(ours, time.monotonic() + 10)
        assert connection.follow(None, 10) == {"waiting": True}
        assert connection.follow(None, 10) == {"stdout": "keys"}


def test_a_new_tray_replaces_a_dead_trays_socket_but_nothing_else(
    alone: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from trayapp.core.service import Service
    from trayapp.tray.channel import ChannelServer

    write_session(alone)
    for key, value in alone.items():
        monkeypatch.setenv(key, value)
    path = socket_path(alone)
    path.write_text("not a socket")  # something that is not a tray's: kept, and no channel
    assert not ChannelServer(Service(environ=alone), environ=alone).start()
    assert path.read_text() == "not a socket"
    path.unlink()
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()
    server = ChannelServer(Service(environ=alone), environ=alone)
    assert server.start()
    try:
        connection = channel.connect(alone)
        assert connection is not None
        reply = connection.ask(
            {
                "command": "credential-process",
                "profile": "dev",
                "paths": list(channel.aws_paths(alone)),
                "engine": channel.engine_fingerprint(alone),
            }
        )
        connection.close()
        assert reply is not None and "stdout" in reply
        assert server.served == 1
    finally:
        server.stop()
