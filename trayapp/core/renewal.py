"""Silent renewal that survives the network: which failures are worth another try, and when.

A renewal the tray makes on its own (no prompt: an MFA session or keys that need no code) can fail
for a reason that passes — no route, DNS, a timeout, STS's 5xx, throttling — or for one that won't
change by itself (access denied, an ended MFA session).  The first kind is tried again with a
growing delay until the session ends, and at once when the network comes back; the second is told
once, with what to do.  No GUI here: the tray keeps one :class:`Retries` and a timer per profile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from trayapp.core import errors
from trayapp.core.schedule import TimerFactory, TimerHandle, thread_timer

#: Delays between tries: 5 s, doubling, at most a minute apart.
FIRST_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=1)
#: STS error codes that mean "try again later" (its 5xx answers and throttling).
TRANSIENT_CODES = frozenset(
    {"InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout"}
)


def is_transient(exc: BaseException) -> bool:
    """True for a failure that may pass by itself: the network, STS being busy or broken for a while."""
    if isinstance(exc, (errors.StsUnreachable, errors.StsTimeout, errors.Throttled, errors.MalformedResponse)):
        return True
    if isinstance(exc, errors.StsRefused):
        code = str(exc.fields.get("code", ""))
        return code in TRANSIENT_CODES or code[:1] == "5"
    return False


def next_delay(attempt: int) -> timedelta:
    """The wait before try number *attempt* + 1 (attempt 1 is the one that just failed)."""
    factor: int = 2 ** min(max(attempt - 1, 0), 16)
    return min(FIRST_DELAY * factor, MAX_DELAY)


@dataclass
class _Pending:
    expires_at: datetime
    attempts: int
    timer: TimerHandle | None


class Retries:
    """The renewals waiting for another try, one per profile.

    ``failed`` arms a timer for the next try (never past the session's end) and says whether this
    was the first failure for that session (the only one worth a notification); ``network_back``
    runs every waiting try at once; ``succeeded`` and ``close`` forget.  Thread-safe; *retry* is
    called on the timer's thread (or the caller's, for ``network_back``) with the profile.
    """

    def __init__(
        self,
        retry: Callable[[str], None],
        *,
        clock: Callable[[], datetime],
        timer_factory: TimerFactory = thread_timer,
    ) -> None:
        self._retry = retry
        self._clock = clock
        self._timer_factory = timer_factory
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._closed = False

    def failed(self, profile: str, expires_at: datetime) -> bool:
        """A transient failure of *profile*'s renewal: arm the next try; True if it is the first."""
        with self._lock:
            if self._closed:
                return False
            current = self._pending.get(profile)
            first = current is None or current.expires_at != expires_at
            attempts = 1 if first or current is None else current.attempts + 1
            if current is not None and current.timer is not None:
                current.timer.cancel()
            left = (expires_at - self._clock()).total_seconds()
            if left <= 0:
                self._pending.pop(profile, None)
                return first
            delay = min(next_delay(attempts).total_seconds(), left)
            timer = self._timer_factory(delay, lambda: self._due(profile, expires_at))
            self._pending[profile] = _Pending(expires_at, attempts, timer)
            return first

    def succeeded(self, profile: str) -> None:
        with self._lock:
            self._forget(profile)

    def waiting(self) -> list[str]:
        with self._lock:
            return sorted(self._pending)

    def network_back(self) -> None:
        """The network is up again: every waiting renewal is tried now."""
        with self._lock:
            profiles = list(self._pending)
            for profile in profiles:
                self._forget(profile, keep=True)
        for profile in profiles:
            self._retry(profile)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for profile in list(self._pending):
                self._forget(profile)

    def _forget(self, profile: str, *, keep: bool = False) -> None:
        pending = self._pending.get(profile)
        if pending is None:
            return
        if pending.timer is not None:
            pending.timer.cancel()
            pending.timer = None
        if not keep:
            del self._pending[profile]

    def _due(self, profile: str, expires_at: datetime) -> None:
        with self._lock:
            pending = self._pending.get(profile)
            if self._closed or pending is None or pending.expires_at != expires_at:
                return
            pending.timer = None
        self._retry(profile)
