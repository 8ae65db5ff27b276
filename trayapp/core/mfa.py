"""MFA codes: what a valid one looks like, and the guard against reusing one.

STS rejects a code that was already used with the same message as a wrong
code, so the applet remembers (a hash of) each code it sent and refuses a
repeat before it reaches STS, telling the user how long until the next one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from trayapp.core.errors import InvalidCode, ReusedCode

STEP = 30  # seconds per TOTP window
#: STS accepts a code one window either side, so a used code stays "used" this long.
REMEMBER = 3 * STEP
_CODE = re.compile(r"^\d{6}$")


def normalise(text: str) -> str:
    """Strip the spaces a paste brings (``123 456``); raise unless six digits remain."""
    code = re.sub(r"\s+", "", text)
    if not _CODE.match(code):
        raise InvalidCode(shown="…" if code else "(empty)")
    return code


def seconds_to_next_code(now: float) -> int:
    return STEP - int(now) % STEP


@dataclass(frozen=True)
class MfaRequest:
    """What a prompt shows: never a secret."""

    profile: str
    role_arn: str
    mfa_serial: str


class MfaPrompt(Protocol):
    """Asks the user for a code.

    ``error`` is the sentence explaining why the previous code failed (shown
    inline, the prompt stays open for another try).  Returns the code as
    typed, or ``None`` when the user cancels.  ``close()`` ends the exchange.
    """

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None: ...

    def close(self) -> None: ...


class UsedCodes:
    """Remembers hashes of recently used (serial, code) pairs.

    With a *path* (in the user's runtime directory) the memory is shared by
    every trayapp process, so a code typed into the tray is refused by a
    ``trayapp assume`` a few seconds later too.  Only salted hashes are kept,
    for 90 s; a code is worthless to anyone once its window has passed.
    """

    def __init__(self, clock: Callable[[], float], path: Path | None = None) -> None:
        self._clock = clock
        self._path = path
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(serial: str, code: str) -> str:
        return hashlib.sha256(f"trayapp\0{serial}\0{code}".encode()).hexdigest()

    def _current(self, now: float) -> dict[str, float]:
        used = dict(self._used)
        if self._path is not None:
            try:
                stored = json.loads(self._path.read_text())
                used.update({str(k): float(v) for k, v in stored.items()})
            except (OSError, ValueError, AttributeError):
                pass
        return {k: t for k, t in used.items() if 0 <= now - t < REMEMBER}

    def check(self, serial: str, code: str) -> None:
        now = self._clock()
        with self._lock:
            if self._key(serial, code) in self._current(now):
                raise ReusedCode(seconds=seconds_to_next_code(now))

    def remember(self, serial: str, code: str) -> None:
        now = self._clock()
        with self._lock:
            self._used = self._current(now)
            self._used[self._key(serial, code)] = now
            if self._path is not None:
                self._save()

    def _save(self) -> None:
        assert self._path is not None
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".used-codes.")
            with os.fdopen(fd, "w") as f:
                json.dump(self._used, f)
            os.replace(tmp, self._path)
        except OSError:
            pass  # the in-memory guard still works; sharing it is a convenience


def default_used_codes_path() -> Path:
    import warnings

    import platformdirs

    with warnings.catch_warnings():  # platformdirs warns, then falls back, when XDG_RUNTIME_DIR is unusable
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir("trayapp", ensure_exists=False)) / "used-codes.json"
