"""MFA codes: what a valid one looks like, and the guard against reusing one.

STS rejects a code that was already used with the same message as a wrong
code, so the applet remembers (a hash of) each code it sent and refuses a
repeat before it reaches STS, telling the user how long until the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path

from trayapp.core.errors import InvalidCode, ReusedCode
from trayapp.core.typed import CODE_SEPARATORS, ascii_digits
from trayapp.i18n import _

STEP = 30  # seconds per TOTP window
#: STS accepts a code one window either side, so a used code stays "used" this long.
REMEMBER = 3 * STEP
CODE_LENGTH = 6


def normalise(text: str) -> str:
    """The six ASCII digits a typed or pasted code stands for; :class:`InvalidCode` otherwise.

    What STS receives and what the reused-code guard remembers is this ASCII form.
    """
    if not CODE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)):
        raise InvalidCode(problem=_("nothing was entered"))
    code = ascii_digits(text)
    if code is None:
        raise InvalidCode(problem=_("it contains characters other than digits"))
    if len(code) != CODE_LENGTH:
        raise InvalidCode(problem=_("{count} digits were entered").format(count=len(code)))
    return code


def seconds_to_next_code(now: float) -> int:
    return STEP - int(now) % STEP


class UsedCodes:
    """Remembers keyed hashes of recently used (serial, code) pairs.

    With a *path* (in the user's private runtime folder) the memory is shared by
    every trayapp process, so a code typed into the tray is refused by a
    ``trayapp assume`` a few seconds later too.  Only HMACs are kept, keyed with a
    per-user secret stored beside the record (0600): without it, a six-digit code
    could be found from its hash in a second.  Entries live 90 s; every read drops
    older ones (and rewrites the file), and a record with any other content — not
    JSON, nested, nulls, a symlink, a FIFO, someone else's file — counts as empty.
    """

    def __init__(self, clock: Callable[[], float], path: Path | None = None) -> None:
        self._clock = clock
        self._path = path
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._secret: bytes | None = None if path is not None else secrets.token_bytes(32)

    def _key(self, serial: str, code: str) -> str:
        if self._secret is None:
            assert self._path is not None
            self._secret = _load_secret(self._path.with_suffix(".key")) or secrets.token_bytes(32)
        return hmac.new(self._secret, f"{serial}\0{code}".encode(), hashlib.sha256).hexdigest()

    def _current(self, now: float) -> dict[str, float]:
        used = {k: t for k, t in self._used.items() if 0 <= now - t < REMEMBER}
        if self._path is not None:
            stored, clean = _load_record(self._path)
            fresh = {k: t for k, t in stored.items() if 0 <= now - t < REMEMBER}
            if not clean or len(fresh) != len(stored):
                self._save(fresh)  # prune what is old (or unreadable) on every read
            used.update(fresh)
        return used

    def check(self, serial: str, code: str) -> None:
        now = self._clock()
        with self._lock:
            if self._key(serial, code) in self._current(now):
                raise ReusedCode(seconds=seconds_to_next_code(now))

    def remember(self, serial: str, code: str) -> None:
        now = self._clock()
        with self._lock:
            key = self._key(serial, code)
            self._used = self._current(now)
            self._used[key] = now
            if self._path is not None:
                self._save(self._used)

    def _save(self, used: dict[str, float]) -> None:
        assert self._path is not None
        _write_private(self._path, json.dumps(used).encode())


#: A record bigger than this is not ours (90 s of codes is a few hundred bytes).
_MAX_RECORD = 64 * 1024
_HASH = re.compile(r"[0-9a-f]{64}\Z")


def _read_private(path: Path, limit: int) -> bytes | None:
    """The bytes of *path* if it is a regular file of this user's, else None; never blocks."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        if hasattr(os, "geteuid") and (st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077):
            return None
        return os.read(fd, limit + 1)[:limit]
    finally:
        os.close(fd)


def _load_record(path: Path) -> tuple[dict[str, float], bool]:
    """The entries of the record, and whether it held nothing else (no file counts as clean)."""
    if not os.path.lexists(path):
        return {}, True
    data = _read_private(path, _MAX_RECORD)
    try:
        stored = json.loads(data or b"")
    except (ValueError, RecursionError):
        return {}, False
    if not isinstance(stored, dict):
        return {}, False
    entries = {
        k: float(v)
        for k, v in stored.items()
        if isinstance(k, str)
        and _HASH.match(k)
        and isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
    }
    return entries, len(entries) == len(stored)


def _load_secret(path: Path) -> bytes | None:
    """The per-user key of the record, made (0600) on first use; None if it can't be kept."""
    data = _read_private(path, 256)
    if data is not None and re.fullmatch(rb"[0-9a-f]{64}", data.strip()):
        return bytes.fromhex(data.strip().decode())
    secret = secrets.token_bytes(32)
    return secret if _write_private(path, secret.hex().encode()) else None


def _write_private(path: Path, data: bytes) -> bool:
    """Replace *path* atomically with a 0600 file holding *data*; False if it can't be done."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError:
        return False  # the in-memory guard still works; sharing it is a convenience
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False


def default_used_codes_path() -> Path | None:
    """The shared record in the private runtime folder; None when there is no safe folder."""
    from trayapp.core.runtime import private_runtime_dir

    folder = private_runtime_dir()
    return None if folder is None else folder / "used-codes.json"
