"""When the tray must next wake up: warnings, expiries and label refreshes.

No GUI import, no polling: the pure functions say which events are owed and
when; :class:`Scheduler` keeps exactly one pending timer armed to the next one.

The tray (``trayapp.tray.app``) makes one :class:`Scheduler` whose ``on_event`` hands the event to its
worker; it calls ``reschedule`` at start, after every assume, forget and renewal, and when the files
change.  See docs/ARCHITECTURE.md, "The one timer".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from trayapp.core.sessions import SessionInfo

EventKind = Literal["warn", "expire", "label"]
FiredKey = tuple[str, str, datetime]

MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)
#: A timer that went off this much earlier or later by the wall clock than by the monotonic
#: one means the wall clock jumped (a sleep, a clock set): ``on_jump`` is told.
DRIFT = timedelta(seconds=2)
#: After a jump, how long the timer waits for its owner to look at the files again before it says
#: what came due (what it holds may predate the jump: a session written just before the lid closed).
JUMP_GRACE = 1.5
log = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Event:
    """Something due at ``at`` for one session (ordering: by time first)."""

    at: datetime
    kind: EventKind
    profile: str
    expires_at: datetime

    @property
    def key(self) -> FiredKey:
        return (self.kind, self.profile, self.expires_at)


def _label_change(session: SessionInfo, now: datetime) -> datetime | None:
    """The first instant after *now* at which the whole minutes left (``42 min left``) go down.

    Labels show whole minutes rounded down, so ``42 min left`` holds while 42:00 to
    42:59.999 is left and the next label is true from just after the boundary on:
    one datetime tick (1 µs) after it.  The last change, to "expired", is the
    expiry event itself.
    """
    left = session.expires_at - now
    whole = left // MINUTE
    if left <= timedelta(0) or whole < 1:
        return None
    return session.expires_at - whole * MINUTE + TICK


def next_events(
    sessions: Iterable[SessionInfo],
    now: datetime,
    warn: timedelta,
    fired: set[FiredKey],
) -> list[Event]:
    """Every event still owed, soonest first; warnings and expiries with ``at <= now`` are due.

    Warnings and expiries already in *fired* are left out.  At most one label
    event is included: the soonest label change strictly after *now* (none once
    every session has expired).
    """
    events: list[Event] = []
    labels: list[Event] = []
    for s in sessions:
        for kind, at in (("warn", s.expires_at - s.lead(warn)), ("expire", s.expires_at)):
            event = Event(at, kind, s.profile, s.expires_at)  # type: ignore[arg-type]
            if event.key not in fired:
                events.append(event)
        change = _label_change(s, now)
        if change is not None:
            labels.append(Event(change, "label", s.profile, s.expires_at))
    if labels:
        events.append(min(labels))
    return sorted(events)


def fold(due: list[Event]) -> list[Event]:
    """What is still worth saying of events that all came due at once (after a sleep, a clock
    set forward): a warning whose session's expiry is due too is dropped — the session gets
    the one "expired" notice, never a stale "expires in 1 min"."""
    expired = {(e.profile, e.expires_at) for e in due if e.kind == "expire"}
    return [e for e in due if not (e.kind == "warn" and (e.profile, e.expires_at) in expired)]


def next_wakeup(
    sessions: Iterable[SessionInfo],
    now: datetime,
    warn: timedelta,
    fired: set[FiredKey],
) -> datetime | None:
    """When the one timer should go off (possibly ``<= now``: at once), or None."""
    events = next_events(sessions, now, warn, fired)
    return events[0].at if events else None


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


TimerFactory = Callable[[float, Callable[[], None]], TimerHandle]


def thread_timer(delay: float, callback: Callable[[], None]) -> TimerHandle:
    """The default timer: one daemon ``threading.Timer`` (one blocking wait, no polling)."""
    timer = threading.Timer(min(max(delay, 0.0), threading.TIMEOUT_MAX), callback)
    timer.daemon = True
    timer.name = "trayapp-schedule"
    timer.start()
    return timer


class Scheduler:
    """Keeps one pending timer armed to the next event; reports due events.

    Thread-safe: ``reschedule`` may be called from any thread, also from inside
    ``on_event``.  ``on_event`` is called on the timer's thread, outside the lock,
    in time order; an exception in it is logged and the schedule goes on.
    """

    def __init__(
        self,
        on_event: Callable[[Event], None],
        *,
        clock: Callable[[], datetime],
        warn: timedelta,
        timer_factory: TimerFactory = thread_timer,
        on_jump: Callable[[], None] | None = None,
        on_events: Callable[[list[Event]], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """*on_jump*: called (on the timer's thread, outside the lock) when a timer going off finds
        the wall clock moved apart from the monotonic one since it was armed.  *on_events*: when
        given, called once with all the events due together instead of *on_event* for each."""
        self._on_event = on_event
        self._on_events = on_events
        self._on_jump = on_jump
        self._monotonic = monotonic
        self._armed_at: tuple[datetime, float] | None = None
        #: The wall time of the last reschedule/recheck: a session first seen expired after it ended
        #: since then (told), one that ended before it ended before we could know (not told).
        self._looked_at: datetime | None = None
        self._clock = clock
        self._warn = warn
        self._timer_factory = timer_factory
        self._lock = threading.Lock()
        self._sessions: tuple[SessionInfo, ...] = ()
        self._fired: set[FiredKey] = set()
        self._seen: set[tuple[str, datetime]] = set()
        self._timer: TimerHandle | None = None
        self._generation = 0
        self._wakeup: datetime | None = None
        self._armed_label: Event | None = None
        self._closed = False

    @property
    def wakeup(self) -> datetime | None:
        """When the pending timer is due (None: no timer)."""
        return self._wakeup

    @property
    def warn(self) -> timedelta:
        return self._warn

    def reschedule(self, sessions: Iterable[SessionInfo], warn: timedelta | None = None) -> None:
        """Take the current sessions (and warning lead), cancel the timer and re-arm it."""
        with self._lock:
            if self._closed:
                return
            if warn is not None:
                self._warn = warn
            self._sessions = tuple(sessions)
            self._note_new_sessions(self._clock())
            self._arm()

    def recheck(self) -> None:
        """The wall clock may have jumped (a resume, a clock set): re-arm against it now.  Events
        whose moment passed meanwhile go off at once, folded (see :func:`fold`)."""
        with self._lock:
            if not self._closed:
                self._note_new_sessions(self._clock())
                self._arm()

    def close(self) -> None:
        """Cancel the pending timer; later calls do nothing."""
        with self._lock:
            self._closed = True
            self._cancel()

    # --- inside the lock ------------------------------------------------------

    def _note_new_sessions(self, now: datetime) -> None:
        present = {(s.profile, s.expires_at) for s in self._sessions}
        looked_at, self._looked_at = self._looked_at, now
        for s in self._sessions:
            ident = (s.profile, s.expires_at)
            if ident in self._seen:
                continue
            self._seen.add(ident)
            # Expired before we last looked (before the tray started, or an old section put back):
            # nothing to tell.  Expired since (written just before a sleep): told like any other.
            if s.expires_at <= now and (looked_at is None or s.expires_at <= looked_at):
                self._fired |= {("warn", s.profile, s.expires_at), ("expire", s.profile, s.expires_at)}
        # Forget sessions that are gone and over; keep live ones (a file read
        # mid-edit may miss a section for a moment: it must not warn twice).
        gone = {(p, e) for p, e in self._seen if (p, e) not in present and e <= now}
        self._seen -= gone
        self._fired = {k for k in self._fired if (k[1], k[2]) not in gone}

    def _cancel(self) -> None:
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wakeup = None
        self._armed_label = None

    def _arm(self, at_least: float = 0.0) -> None:
        self._cancel()
        now = self._clock()
        events = next_events(self._sessions, now, self._warn, self._fired)
        if not events:
            return
        wakeup = events[0].at
        generation = self._generation
        delay = max((wakeup - now).total_seconds(), at_least)
        self._wakeup = wakeup
        self._armed_at = (now, self._monotonic())
        # A label change lies strictly after "now", so it is remembered here to be
        # reported when its instant comes rather than recomputed then.
        self._armed_label = next((e for e in events if e.kind == "label" and e.at == wakeup), None)
        self._timer = self._timer_factory(delay, lambda: self._fire(generation))

    def _jumped(self, now: datetime) -> bool:
        """The cheap check each time the timer goes off: wall time passed vs monotonic time passed."""
        if self._armed_at is None:
            return False
        wall, mono = self._armed_at
        drift = (now - wall) - timedelta(seconds=self._monotonic() - mono)
        if abs(drift) < DRIFT:
            return False
        log.info("the wall clock moved %+.0f s apart from the monotonic clock", drift.total_seconds())
        return True

    # --- the timer's thread ---------------------------------------------------

    def _fire(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation or self._closed:
                return  # cancelled while it was going off
            self._timer = None
            now = self._clock()
            if self._on_jump is not None and self._jumped(now):
                # What we hold may be older than the jump: the owner looks again (reschedule), and
                # what is due then goes off folded; should it not, the timer is back after the grace.
                self._arm(at_least=JUMP_GRACE)
                due = None
            else:
                due = self._due(now)
        if due is None:
            assert self._on_jump is not None
            try:
                self._on_jump()
            except Exception:
                log.exception("The handler of a clock jump failed.")
            return
        self._deliver(due)

    def _due(self, now: datetime) -> list[Event]:
        """Inside the lock: what is due now, marked fired and folded; the timer re-armed."""
        due = [e for e in next_events(self._sessions, now, self._warn, self._fired) if e.at <= now]
        label = self._armed_label
        if label is not None and label.at <= now:
            due = sorted([*(e for e in due if e.kind != "label"), label])
        self._fired |= {e.key for e in due if e.kind != "label"}
        self._arm()
        return fold(due)

    def _deliver(self, due: list[Event]) -> None:
        """Outside the lock: hand the due events over, together or one by one."""
        if self._on_events is not None:
            if due:
                try:
                    self._on_events(due)
                except Exception:
                    log.exception("The handler of %d due events failed.", len(due))
            return
        for event in due:
            try:
                self._on_event(event)
            except Exception:
                log.exception("The handler of a %s event for %s failed.", event.kind, event.profile)
