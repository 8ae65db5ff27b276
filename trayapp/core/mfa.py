"""MFA codes: what a valid one looks like, and the guard against reusing one.

STS rejects a code that was already used with the same message as a wrong
code, so the applet remembers (a hash of) each code it sent and refuses a
repeat before it reaches STS, telling the user how long until the next one.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
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
    """Remembers hashes of recently used (serial, code) pairs."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(serial: str, code: str) -> str:
        return hashlib.sha256(f"{serial}\0{code}".encode()).hexdigest()

    def check(self, serial: str, code: str) -> None:
        now = self._clock()
        with self._lock:
            self._used = {k: t for k, t in self._used.items() if now - t < REMEMBER}
            if self._key(serial, code) in self._used:
                raise ReusedCode(seconds=seconds_to_next_code(now))

    def remember(self, serial: str, code: str) -> None:
        with self._lock:
            self._used[self._key(serial, code)] = self._clock()
