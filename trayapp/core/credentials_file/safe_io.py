"""Reading files without ever blocking, and the one-sentence reasons for ``OSError``.

A FIFO, socket or device where a file was expected is refused at once, never
opened for reading (a FIFO without a writer would hang the caller).  Files are
read through a descriptor from their start, without ``os.pread`` (Windows has none).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from trayapp.i18n import N_, _

__all__ = [
    "NotRegularFile",
    "fd_holds",
    "fsync_dir",
    "is_read_only",
    "open_regular",
    "read_fd",
    "read_regular_file",
    "read_unless",
    "reason",
    "status",
]

_REASONS = {
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("permission denied"),
    errno.EROFS: N_("the file system is read-only"),
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk quota is exhausted"),
    errno.EFBIG: N_("the disk is full or a file size limit was reached"),
    errno.EISDIR: N_("it is a folder, not a file"),
    errno.ENOTDIR: N_("a part of its path is not a folder"),
    errno.ELOOP: N_("its symbolic links form a loop"),
    errno.ENAMETOOLONG: N_("its path is too long"),
    errno.ENXIO: N_("it is not a regular file"),
}


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was expected (never opened for reading)."""

    def __init__(self, path: os.PathLike[str] | str) -> None:
        super().__init__(errno.EINVAL, _("it is not a regular file"), str(path))


def reason(exc: OSError) -> str:
    """*exc* as the end of a sentence a user can act on."""
    if isinstance(exc, NotRegularFile):
        return _("it is not a regular file")
    if exc.errno in _REASONS:
        return _(_REASONS[exc.errno])
    return os.strerror(exc.errno) if exc.errno else _("an operating system error occurred")


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def open_regular(path: os.PathLike[str] | str) -> int | None:
    """A read-only descriptor on a regular file; None if there is none.

    Opened non-blocking, so a FIFO without a writer can't hang the caller; a
    FIFO, socket or device raises :class:`NotRegularFile`, a folder
    :class:`IsADirectoryError`.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise NotRegularFile(path) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular_file(path: os.PathLike[str] | str) -> bytes | None:
    """The bytes of a regular file, None if it doesn't exist; never blocks.

    A FIFO, socket or device raises :class:`NotRegularFile` (an ``OSError``
    whose ``strerror`` is the translated reason "it is not a regular file") at
    once; a folder raises ``IsADirectoryError``.  No handle stays open.
    """
    fd = open_regular(path)
    if fd is None:
        return None
    try:
        return read_fd(fd)
    finally:
        os.close(fd)


def read_fd(fd: int) -> bytes:
    """All of the file from its start (``os.pread`` does not exist on Windows)."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def fd_holds(fd: int | None, data: bytes | None) -> bool:
    """Whether the open file *fd* (None: no file) holds exactly *data*, read a chunk at a time."""
    if fd is None or data is None:
        return fd is None and data is None
    os.lseek(fd, 0, os.SEEK_SET)
    at = 0
    while chunk := os.read(fd, 1 << 20):
        if not data.startswith(chunk, at):
            return False
        at += len(chunk)
    return at == len(data)


def read_unless(path: Path, known: bytes) -> bytes | None:
    """The bytes of *path*: *known* itself when it holds them (a large file isn't read into a copy)."""
    fd = open_regular(path)
    if fd is None:
        return None
    try:
        return known if fd_holds(fd, known) else read_fd(fd)
    finally:
        os.close(fd)


def status(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems can't fsync a directory; the rename is done
    finally:
        os.close(fd)


def is_read_only(path: Path, st: os.stat_result) -> bool:
    # The owner's write bit is checked too: root can write anything, but a
    # user who made the file (or ~/.aws) read-only meant it.
    return not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)
