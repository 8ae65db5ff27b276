"""Windows file semantics, imitated in this process (for the platform layer of the tests).

What Windows does differently, and what trayapp must survive:

* ``os.pread`` (and ``os.pwrite``) do not exist;
* a file that has an open handle can't be replaced, renamed or deleted:
  ``os.replace``/``os.rename``/``os.remove``/``os.unlink`` raise
  ``PermissionError`` with ``winerror`` 32 ("being used by another process")
  while any handle on the source or the target is open — a handle of this
  process (every descriptor in ``/proc/self/fd``, however it was opened:
  ``open``, ``io.open``, ``os.open``, a C library), or of another process that
  announces it with an ``flock`` on the file (see :func:`hold_open`);
* ``st_mode`` of a file always reads 0666 (0444 when read-only), of a folder
  0777, and ``st_uid``/``st_gid`` read 0 (for paths under ``root``);
* the switch trayapp's credentials module reads for the platform
  (``credentials_file.transaction.WINDOWS``) is on.

Use :func:`windows_files` as a context manager; it undoes everything on exit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

SHARING_VIOLATION = 32
_MESSAGE = "The process cannot access the file because it is being used by another process"


@dataclass
class WindowsFiles:
    """What the imitation saw: every refused call, as ``(function, path)``."""

    root: Path | None
    refused: list[tuple[str, str]] = field(default_factory=list)

    def busy(self, path: str | os.PathLike[str]) -> bool:
        """Whether a handle on *path* is open here or announced by another process."""
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode):
            return False
        return _open_here(st) or _locked_elsewhere(path)


def _open_here(st: os.stat_result) -> bool:
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:  # pragma: no cover - Linux has /proc
        return False
    for name in fds:
        try:
            other = os.fstat(int(name))
        except (OSError, ValueError):
            continue  # the listing's own descriptor, already closed
        if stat.S_ISREG(other.st_mode) and (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


def _locked_elsewhere(path: str | os.PathLike[str]) -> bool:
    try:
        probe = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(probe)  # closing also drops the probe's own lock
    return False


def _refusal(path: str | os.PathLike[str]) -> PermissionError:
    exc = PermissionError(13, _MESSAGE, os.fspath(path))
    exc.winerror = SHARING_VIOLATION  # type: ignore[attr-defined]  # only Windows builds have the field
    return exc


@contextlib.contextmanager
def windows_files(root: str | os.PathLike[str] | None = None, *, pread: bool = False) -> Iterator[WindowsFiles]:
    """Imitate Windows file semantics until the block ends; modes are faked under *root* only.

    ``pread=True`` leaves ``os.pread`` in place, to test the handle rule on its own.
    """
    from trayapp.core.credentials_file import transaction

    state = WindowsFiles(Path(root).resolve() if root is not None else None)
    real_replace, real_rename, real_remove, real_unlink = os.replace, os.rename, os.remove, os.unlink
    real_stat, real_lstat = os.stat, os.lstat

    def guarded(name: str, real: Callable[..., None], two: bool) -> Callable[..., None]:
        def call(src: Any, dst: Any = None, *args: Any, **kwargs: Any) -> None:
            paths = [src, dst] if two else [src]
            for path in paths:
                if isinstance(path, (str, os.PathLike)) and state.busy(path):
                    state.refused.append((name, os.fspath(path)))
                    raise _refusal(path)
            if two:
                real(src, dst, *args, **kwargs)
            else:
                real(src, *args, **kwargs)

        return call

    def windows_stat(real: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
        def call(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
            st = real(path, *args, **kwargs)
            if state.root is None or not isinstance(path, (str, os.PathLike)):
                return st
            if not os.path.abspath(os.fspath(path)).startswith(str(state.root)):
                return st
            kind = stat.S_IFMT(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                perms = 0o777
            elif st.st_mode & stat.S_IWUSR:
                perms = 0o666
            else:
                perms = 0o444  # the read-only attribute
            reduced: Any = st.__reduce__()  # (os.stat_result, (the fields, the extra fields))
            cls, (seq, rest) = reduced
            seq = (kind | perms, seq[1], seq[2], seq[3], 0, 0, *seq[6:])
            return cast(os.stat_result, cls(seq, rest))

        return call

    with pytest.MonkeyPatch.context() as mp:
        for name in () if pread else ("pread", "pwrite"):
            if hasattr(os, name):
                mp.delattr(os, name)
        mp.setattr(os, "replace", guarded("replace", real_replace, True))
        mp.setattr(os, "rename", guarded("rename", real_rename, True))
        mp.setattr(os, "remove", guarded("remove", real_remove, False))
        mp.setattr(os, "unlink", guarded("unlink", real_unlink, False))
        mp.setattr(os, "stat", windows_stat(real_stat))
        mp.setattr(os, "lstat", windows_stat(real_lstat))
        mp.setattr(transaction, "WINDOWS", True, raising=False)
        yield state


HOLDER = r"""
import fcntl, sys, time
with open(sys.argv[1], "rb") as handle:
    fcntl.flock(handle, fcntl.LOCK_SH)
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))  # holds the file this long: the behaviour the test needs
"""


@contextlib.contextmanager
def hold_open(path: str | os.PathLike[str], seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process that has *path* open (and says so with an ``flock``) for *seconds*.

    Like the AWS CLI or an editor reading the file on Windows.  Returns once the
    file is held; the process is ended (by its pid) when the block ends.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, os.fspath(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "holding", f"the holder did not start: {line!r}"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def wait_gone(proc: subprocess.Popen[str], timeout: float = 10.0) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)


@contextlib.contextmanager
def hold_until_refused(path: str | os.PathLike[str], winfs: WindowsFiles, timeout: float = 30.0) -> Iterator[None]:
    """Another process holds *path* open until the imitation has refused a call on it (then lets
    go, as a reader that finishes does): on a loaded machine a fixed hold of half a second could
    end before the code under test even reached the file."""
    with hold_open(path, timeout) as holder:
        stop = threading.Event()

        def release() -> None:
            while not winfs.refused and not stop.wait(0.01):
                pass
            holder.kill()

        thread = threading.Thread(target=release, name="winfs-release", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)
