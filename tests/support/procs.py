"""Process helpers shared by the harness: start, wait with a deadline, stop by PID."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: Default bound for every "wait until X is up" step.
START_TIMEOUT = 10.0

#: Every deadline a test waits on is multiplied by this: a machine busy with other work (CI, a
#: parallel run, ``stress-ng`` beside the suite) makes a tray start or a window appear several
#: times slower, and a passing test never waits longer for it.  ``TRAYAPP_TEST_TIMEOUT_SCALE=1``
#: gives the bare figures written in the tests.
TIMEOUT_SCALE = max(1.0, float(os.environ.get("TRAYAPP_TEST_TIMEOUT_SCALE", "3") or 3))


def scaled(timeout: float) -> float:
    """*timeout* as this machine's load allows (see ``TIMEOUT_SCALE``)."""
    return timeout * TIMEOUT_SCALE


#: If the test process dies without cleaning up (SIGKILL, a CI timeout), its helpers get
#: SIGTERM from the kernel instead of living on (Linux; the "parent" is the thread that
#: started them, so start the harness from a thread that outlives it).
_DIE_WITH_PARENT: tuple[str, ...] = (
    ("setpriv", "--pdeathsig", "TERM", "--") if sys.platform == "linux" and shutil.which("setpriv") else ()
)


class HarnessError(RuntimeError):
    """A harness component did not start, or misbehaved, in time."""


def log_tail(path: Path | None, limit: int = 2000) -> str:
    if path is None or not path.exists():
        return ""
    data = path.read_bytes()[-limit:]
    text = data.decode("utf-8", "replace").strip()
    return f"\n--- last output of {path.name} ---\n{text}" if text else ""


class ManagedProcess:
    """A child process started by the harness, with its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_dir: Path,
        cwd: Path | str | None = None,
        pass_fds: Sequence[int] = (),
        stdin: int | None = subprocess.DEVNULL,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [*_DIE_WITH_PARENT, *self.argv],
                env=dict(env),
                cwd=cwd,
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=tuple(pass_fds),
                # Own process group: stop() can also reap helpers it forked.
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def check_alive(self) -> None:
        rc = self.popen.poll()
        if rc is not None:
            raise HarnessError(f"{self.name} exited with status {rc}: {' '.join(self.argv)}" + log_tail(self.log_path))

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM by PID, SIGKILL after *timeout*; then clear its process group."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        if self.popen.stdin:
            self.popen.stdin.close()


def wait_until(
    what: str,
    probe: Callable[[], T | None],
    timeout: float = START_TIMEOUT,
    *,
    interval: float = 0.005,
    proc: ManagedProcess | None = None,
) -> T:
    """Call *probe* until it returns something truthy; raise HarnessError after *timeout*.

    If *proc* is given and it dies meanwhile, fail at once with its output.  *timeout* is
    ``scaled()`` for the machine's load.
    """
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            result = probe()
        except Exception as exc:  # keep probing; report the last error on timeout
            result, last_exc = None, exc
        if result:
            return result
        if proc is not None:
            proc.check_alive()
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            tail = log_tail(proc.log_path) if proc else ""
            raise HarnessError(f"timed out after {timeout:.1f}s waiting for {what}{detail}{tail}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)


def read_line_from_fd(fd: int, what: str, timeout: float = START_TIMEOUT, proc: ManagedProcess | None = None) -> str:
    """Read up to the first newline from *fd* (a pipe), bounded by *timeout* (``scaled()``)."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HarnessError(
                f"timed out after {timeout:.1f}s waiting for {what}" + (log_tail(proc.log_path) if proc else "")
            )
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                if proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.popen.wait(1)  # the pipe closed as it exited: report its status
                    proc.check_alive()
                raise HarnessError(f"pipe closed while waiting for {what}")
            buf += chunk
        elif proc is not None:
            proc.check_alive()
    return buf.split(b"\n", 1)[0].decode().strip()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


_REFUSING_SOCKETS: list[socket.socket] = []


def refused_url(host: str = "127.0.0.1") -> str:
    """An ``http://127.0.0.1:PORT`` URL where nothing listens (connections are refused).

    The port stays bound (without ``listen()``) for the life of the test process,
    so no other server can take it meanwhile; connecting gets ECONNREFUSED at once.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    _REFUSING_SOCKETS.append(s)
    return f"http://{host}:{s.getsockname()[1]}"
