"""One atomic read-modify-write of a file: ``update(path, change)``.

Writing: a temp file (0600 from creation) in the target's folder, fsync,
``os.replace``, fsync of the folder.  A symlink is followed and its target
replaced, so the link stays.  Before anything is written the surroundings are
checked (:mod:`.strict_modes`); a folder that is missing is made 0700.

Concurrency: a ``filelock`` lock on ``<target>.lock`` (mode 0600, left in
place) serialises trayapp writers; temp files left by a killed writer are
removed under that lock.  ``aws configure set`` takes no lock and rewrites the
file in place, so the file is read again just before ``os.replace`` and the
whole update is computed again if it changed (at most 20 times); an empty or
unterminated file, or one the change finds unparsable, is looked at again
shortly in case it was caught half-written.  A moment after the replace, a
tool that wrote into the old file meanwhile, or put its stale copy back, has
its version built on again.

Windows: no handle on the file is open when it is replaced (Windows refuses to
replace an open file), and a replace refused because another program has the
file open is retried for about 2 s before one clear sentence.  File modes mean
nothing there (``st_mode`` always reads 0666 and ``chmod`` only sets the
read-only flag), so no mode is checked or reported and the ownership checks
are skipped.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trayapp.core.credentials_file.safe_io import (
    fd_holds,
    fsync_dir,
    is_read_only,
    open_regular,
    read_fd,
    read_regular_file,
    read_unless,
    reason,
)
from trayapp.core.credentials_file.strict_modes import unsafe_location
from trayapp.core.errors import FileAccessError, UnparsableFile
from trayapp.i18n import _

__all__ = ["SETTLE", "WINDOWS", "Change", "update"]

#: What a change makes of the file's bytes (None: no file): the new bytes, or None for no change.
Change = Callable[[bytes | None], bytes | None]

#: How often the read-modify-write is redone when another program changed the
#: file while trayapp was preparing its update.
_MAX_ATTEMPTS = 20
#: Seconds to look again at a file that may be caught half-written by another
#: tool: one without a final line break, and (longer) an empty one.
SETTLE = 0.01
_SETTLE_EMPTY = 0.05
#: Seconds to wait after a replace for a tool that opened the old file just
#: before it and writes into that (then unlinked) file.
_LATE_WRITER = 0.002
#: Seconds a replace refused on Windows (another program has the file open) is retried.
_REPLACE_RETRY = 2.0
#: Seconds at most to wait for such a late writer to finish writing the old file.
_LATE_WRITER_WAIT = 2.0
_REPLACE_PAUSE = 0.05
_TMP_SUFFIX = ".trayapp-tmp"
#: Imitate a platform (True: Windows file semantics) in tests; None: the real one.
WINDOWS: bool | None = None


def update(
    path: os.PathLike[str] | str,
    change: Change,
    *,
    create: bool,
    lock_timeout: float = 10.0,
    windows: bool | None = None,
    written: Callable[[bytes], None] | None = None,
) -> tuple[list[str], bool]:
    """Replace the file at *path* with what *change* makes of it, atomically, under its lock.

    *change* may be called again with newer bytes when another program wrote
    meanwhile; an ``UnparsableFile`` it raises is retried when the file turns
    out to have changed (caught half-written), else passed on.  *create*: a
    missing file is made (else nothing happens).  *written* is told each content
    put in place.  Returns the notes for the user (permissions tightened) and
    whether the file was replaced.  Errors are ``FileAccessError`` sentences.
    """
    return _Transaction(Path(path), lock_timeout, windows).run(change, create, written)


def on_windows(flag: bool | None = None) -> bool:
    if flag is not None:
        return flag
    return WINDOWS if WINDOWS is not None else sys.platform == "win32"


class _Transaction:
    def __init__(self, path: Path, lock_timeout: float, windows: bool | None) -> None:
        self.path = path  # as the user named it, for the messages
        self.lock_timeout = lock_timeout
        self._windows = windows

    def _target(self) -> Path:
        """The file to replace: a symlink is followed, so the link itself stays."""
        try:
            return Path(os.path.realpath(self.path, strict=False))
        except OSError as exc:  # pragma: no cover - realpath(strict=False) rarely raises
            raise FileAccessError(path=self.path, reason=reason(exc)) from None

    def run(self, change: Change, create: bool, written: Callable[[bytes], None] | None) -> tuple[list[str], bool]:
        target = self._target()
        notes: list[str] = []
        if not create and not os.path.lexists(target):
            return notes, False
        self._check_location()
        self._check_kind(target)  # before the lock file is made
        self._prepare_directory(target.parent)
        self._check_location()  # again: the folder may be new, or changed meanwhile
        import filelock  # only writers pay for it: reading the file needs no lock

        lock = filelock.FileLock(f"{target}.lock", timeout=self.lock_timeout, mode=0o600)
        try:
            with lock:
                self._remove_stale_temps(target)
                return self._transact(target, change, notes, written)
        except filelock.Timeout:
            raise FileAccessError(
                path=self.path,
                reason=_("another program held its lock for more than {seconds} s").format(
                    seconds=f"{self.lock_timeout:g}"
                ),
            ) from None
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=reason(exc)) from None

    def _transact(
        self, target: Path, change: Change, notes: list[str], written: Callable[[bytes], None] | None
    ) -> tuple[list[str], bool]:
        # After a replace, another tool may turn out to have written meanwhile;
        # then ``pending`` holds (its version to build on, what the path holds).
        pending: tuple[bytes | None, bytes | None] | None = None
        changed = False
        for attempt in range(_MAX_ATTEMPTS):
            if pending is None:
                base = expected = self._read_base(target)
                if base is not None and not base.endswith((b"\n", b"\r")):
                    # ``aws configure set`` truncates the file and then writes it:
                    # an empty or unterminated file may be one caught half-written.
                    time.sleep(SETTLE if base else _SETTLE_EMPTY)
                    if read_regular_file(target) != base:
                        continue
            else:
                base, expected = pending
            try:
                new_bytes = change(base)
            except UnparsableFile:
                # ``aws configure set`` rewrites the file in place: a read that
                # caught it half-written is retried, a broken file is refused.
                time.sleep(SETTLE)
                if read_regular_file(target) != base and attempt < _MAX_ATTEMPTS - 1:
                    pending = None
                    continue
                raise
            if new_bytes is None or (pending is not None and new_bytes == base == expected):
                return notes, changed  # nothing (more) to do
            if base is not None and not notes and not on_windows(self._windows):
                # On Windows st_mode always reads 0666; see the module docstring.
                mode = stat.S_IMODE(os.stat(target).st_mode)
                if mode & 0o077:
                    notes.append(
                        _(
                            "Tightened permissions of {path} from {mode} to 0600, so other users can't read your keys."
                        ).format(path=self.path, mode=f"{mode:04o}")
                    )
            outcome = self._replace(target, expected, new_bytes)
            if outcome is None:
                pending = None  # changed before the replace: start again
                continue
            changed = True
            if written is not None:
                written(new_bytes)
            old_file, path_now = outcome
            if path_now == new_bytes and old_file is None:
                return notes, True
            # Build again on the late writer's version, or on what now stands
            # at the path (our change may already be in it: then stop).
            pending = (path_now, path_now) if old_file is None else (old_file, path_now)
        raise FileAccessError(
            path=self.path,
            reason=_("another program kept changing it while trayapp was writing; try again"),
        )

    def _check_kind(self, target: Path) -> None:
        try:
            st = os.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=reason(exc)) from None
        self._refuse_odd_kind(st)

    def _refuse_odd_kind(self, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("it is a folder, not a file"))
        if not stat.S_ISREG(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("it is not a regular file"))

    def _read_base(self, target: Path) -> bytes | None:
        try:
            st = os.stat(target)
        except FileNotFoundError:
            return None
        self._refuse_odd_kind(st)
        if is_read_only(target, st):
            raise FileAccessError(path=self.path, reason=_("it is read-only"))
        return read_regular_file(target)

    def _replace(
        self, target: Path, expected: bytes | None, new_bytes: bytes
    ) -> tuple[bytes | None, bytes | None] | None:
        """Write a temp file and put it in place unless the file changed meanwhile.

        Returns None if the file was not ``expected`` any more, else, a moment
        after the replace, the old file's content if another tool wrote into it
        (``aws configure set`` writes in place, and may have opened it just
        before) or None, and what the path holds then (a tool that read the
        file before may have rewritten it with its stale copy).
        """
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
        old: int | None = None
        try:
            with open(fd, "wb") as handle:
                handle.write(new_bytes)
                handle.flush()
                os.fsync(handle.fileno())
            if on_windows(self._windows):
                # No handle may be open at the replace: read by path, then let go.
                if not self._replace_windows(tmp_name, target, expected):
                    os.unlink(tmp_name)
                    return None
                fsync_dir(target.parent)
                time.sleep(_LATE_WRITER)
                return None, read_regular_file(target)
            # POSIX: a handle on the old file shows a late writer after the replace.
            old = open_regular(target)
            if not fd_holds(old, expected):
                os.unlink(tmp_name)
                return None
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            if old is not None:
                os.close(old)
            raise
        fsync_dir(target.parent)
        time.sleep(_LATE_WRITER)
        if old is None:
            return None, read_unless(target, new_bytes)
        try:
            if fd_holds(old, expected):
                return None, read_unless(target, new_bytes)
            return _late_writing(old), read_regular_file(target)
        finally:
            os.close(old)

    def _replace_windows(self, tmp_name: str, target: Path, expected: bytes | None) -> bool:
        """Replace *target* unless it changed; retry while another program has it open.

        Windows refuses to replace (or delete) a file another program has open
        (winerror 32, or 5): the AWS CLI reading it, an editor.  The file is
        compared again before every attempt, so a writer that held it is not
        overwritten.  False if the file was not ``expected`` any more.
        """
        deadline = time.monotonic() + _REPLACE_RETRY
        while True:
            if read_regular_file(target) != expected:
                return False
            try:
                os.replace(tmp_name, target)
                return True
            except PermissionError as exc:
                if getattr(exc, "winerror", None) not in (5, 32):
                    raise
                if time.monotonic() >= deadline:
                    raise FileAccessError(
                        path=self.path,
                        reason=_(
                            "another program kept it open for more than {seconds} s; close that program, then try again"
                        ).format(seconds=f"{_REPLACE_RETRY:g}"),
                    ) from None
            time.sleep(_REPLACE_PAUSE)

    def _check_location(self) -> None:
        if on_windows(self._windows) or not hasattr(os, "geteuid"):
            return
        try:
            why = unsafe_location(self.path)
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=reason(exc)) from None
        if why is not None:
            raise FileAccessError(path=self.path, reason=why)

    def _prepare_directory(self, directory: Path) -> None:
        try:
            if not directory.exists():
                os.makedirs(directory, mode=0o700, exist_ok=True)
                os.chmod(directory, 0o700)
            st = os.stat(directory)
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=reason(exc)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("{folder} is not a folder").format(folder=directory))
        if is_read_only(directory, st):
            raise FileAccessError(path=self.path, reason=_("its folder {folder} is read-only").format(folder=directory))

    def _remove_stale_temps(self, target: Path) -> None:
        # Under the lock, a temp file of ours is left over from a killed writer.
        prefix = f".{target.name}."
        try:
            names = os.listdir(target.parent)
        except OSError:
            return
        for name in names:
            if name.startswith(prefix) and name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(target.parent / name)


def _late_writing(fd: int) -> bytes | None:
    """What a late writer put into the old file *fd*, once it has finished: the same over a pause,
    and neither empty nor cut mid-line (``aws configure set`` truncates the file, then writes it
    whole; on a busy machine the two can be far apart).  None when it has not finished within
    :data:`_LATE_WRITER_WAIT` seconds: an empty or half-written file is never built upon (that
    would drop every section of the user's file), what stands at the path is kept instead."""
    deadline = time.monotonic() + _LATE_WRITER_WAIT
    last = read_fd(fd)
    while time.monotonic() < deadline:
        time.sleep(SETTLE if last else _SETTLE_EMPTY)
        now = read_fd(fd)
        if now == last and now.endswith((b"\n", b"\r")):
            return now
        last = now
    return None
