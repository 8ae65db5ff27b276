"""A tray that stops answering, and clients that never finish (issue 20, item 7): a real tray on a
private desktop stopped with SIGSTOP, the real CLI as a separate process, and raw sockets that
trickle bytes or sit idle; threads counted in /proc/PID/task.  Figures are behaviour bounds with a
wide margin (the old client waited 10 s, or 122 s for an assume), not benchmarks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.channel import Tray, alone_env, running_tray, socket_path
from tests.support.procs import wait_until
from trayapp.core import channel
from trayapp.tray.channel import MAX_CONNECTIONS

#: The old client's wait for a silent tray; the new one must stay well under it.
OLD_WAIT = 10.0


@pytest.fixture(scope="module")
def tray() -> Iterator[Tray]:
    with running_tray() as running:
        yield running


def trayapp(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", *args], env=env, input="", capture_output=True, text=True, timeout=300
    )
    return done, time.monotonic() - started


def answered_again(tray: Tray) -> None:
    """The tray, resumed, serves the command line again."""
    before = tray.served("status")
    done, _ = trayapp(tray.env, "status")
    assert done.returncode == 0, done.stderr
    wait_until("the resumed tray to serve", lambda: tray.served("status") > before, 30, interval=0.05)


def test_a_stopped_tray_is_given_up_on_within_two_seconds(tray: Tray) -> None:
    assert trayapp(tray.env, "assume", "dev", "--code", "000000")[0].returncode == 0  # dev needs no MFA
    alone = {**tray.env, channel.DISABLE_ENV: "1"}
    for args in (["status"], ["env", "dev"], ["credential-process", "dev"]):
        today, baseline = trayapp(alone, *args)  # the command's own work, without the tray
        with tray.stopped():
            done, took = trayapp(tray.env, *args)
        assert done.returncode == today.returncode == 0, (args, done.stderr)
        if args[0] != "credential-process":  # its keys are the same; only the JSON's layout differs
            assert done.stdout == today.stdout, args
        # The give-up is 1.5 s; the old client spent OLD_WAIT here before doing the same work.
        assert took - baseline < OLD_WAIT / 2, (args, took, baseline)
    answered_again(tray)


def test_assume_beside_a_stopped_tray_is_done_here_and_the_tray_never_sees_the_code(tray: Tray) -> None:
    with tray.stopped():
        done, took = trayapp(tray.env, "assume", "prod", "--code", "864202")
    assert done.returncode == 0, done.stderr
    assert "Assumed prod" in done.stdout
    assert took < 60, took  # the old client waited 122 s before assuming itself
    before = tray.served("assume prod")
    answered_again(tray)  # the request queued while it was stopped has been read by now…
    assert tray.served("assume prod") == before  # …and was not acted on: it held no code
    assert "864202" not in tray.desktop.log("tray")


def test_a_trickling_client_is_cut_off_at_the_deadline(tray: Tray) -> None:
    """One byte every 0.3 s kept a connection open for ever (the timeout was per byte)."""
    started = time.monotonic()
    closed_after = None
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(tray.socket))
        sock.settimeout(0.3)
        while time.monotonic() - started < 20:
            try:
                sock.sendall(b" ")
                if sock.recv(100) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
    assert closed_after is not None, "the tray kept a trickling connection open for 20 s"
    assert closed_after < 12, closed_after  # the deadline is 3 s for the whole request


def test_idle_connections_do_not_make_threads_and_the_excess_is_told_busy_at_once(tray: Tray) -> None:
    answered_again(tray)
    baseline = tray.threads()
    held: list[socket.socket] = []
    busy = 0
    try:
        for _ in range(40):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(str(tray.socket))
            held.append(sock)
        peak = tray.threads()
        for sock in held:
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                if b"busy" in sock.recv(100):
                    busy += 1
            peak = max(peak, tray.threads())
    finally:
        for sock in held:
            sock.close()
    assert peak <= baseline + MAX_CONNECTIONS + 2, (baseline, peak)  # was baseline + 40
    assert busy >= 40 - MAX_CONNECTIONS - 2, busy
    answered_again(tray)


# --- the code is never spent twice ----------------------------------------------------------------


class FakeTray:
    """A socket in the tray's place that records what it is sent; *script* says how it answers."""

    def __init__(self, path: Path, script: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        path.chmod(0o600)
        self.sock.listen(4)
        self.received = b""
        self.script = script
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(30)
                self.received += conn.recv(65536)
                if self.script == "silent":
                    self.received += conn.recv(65536)  # never answers; records anything more
                elif self.script == "takes the code and dies":
                    conn.sendall(b'{"ready": true}\n')
                    self.received += conn.recv(65536)

    def close(self) -> None:
        self.sock.close()
        self._thread.join(10)


def assume_beside(tmp_path: Path, script: str, code: str) -> tuple[subprocess.CompletedProcess[str], float, bytes]:
    """``trayapp assume prod --code CODE`` beside a :class:`FakeTray` playing *script*, with an STS
    nobody answers (using it would say so): the command's result, its time, what the fake got."""
    env = alone_env(tmp_path)
    fake = FakeTray(socket_path(env), script)
    try:
        done, took = trayapp(env, "assume", "prod", "--code", code)
    finally:
        fake.close()
    return done, took, fake.received


def test_a_silent_tray_is_never_sent_the_code(tmp_path: Path) -> None:
    done, took, received = assume_beside(tmp_path, "silent", "531642")
    assert received  # it asked…
    assert b"531642" not in received  # …but the code stayed here, and went the usual way
    assert done.returncode != 0 and "531642" not in done.stderr
    assert "took the MFA code" not in done.stderr
    assert took < 60, took


def test_a_tray_that_took_the_code_and_died_is_not_followed_by_a_second_use(tmp_path: Path) -> None:
    done, _took, received = assume_beside(tmp_path, "takes the code and dies", "975318")
    assert b"975318" in received
    assert done.returncode == 1
    assert done.stderr == (
        "trayapp: The running tray took the MFA code but gave no answer, so it was not used again here: "
        "see 'trayapp status', and if no session was made, try again with the next code.\n"
    )
