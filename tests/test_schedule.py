"""The schedule: one timer, each warning and expiry once, labels on the minute.

A fake clock and a fake timer factory run hours of session time in milliseconds;
one test uses the real ``threading.Timer``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.clock import Clock
from tests.support.procs import wait_until
from trayapp.core.schedule import (
    TICK,
    Event,
    Scheduler,
    next_events,
    next_wakeup,
)
from trayapp.core.sessions import SessionInfo, overall_state, time_left

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WARN = timedelta(minutes=10)
ARN = "arn:aws:iam::123456789012:role/x"


def session(profile: str, expires_at: datetime) -> SessionInfo:
    return SessionInfo(profile=profile, role_arn=ARN, expires_at=expires_at)


class FakeTimer:
    def __init__(self, owner: FakeTimers, delay: float, callback: Callable[[], None]) -> None:
        self.owner, self.delay, self.callback = owner, delay, callback
        self.cancelled = self.fired = False
        self.armed_at = owner.clock.now

    @property
    def pending(self) -> bool:
        return not (self.cancelled or self.fired)

    @property
    def due(self) -> datetime:
        return self.armed_at + timedelta(seconds=self.delay)

    def cancel(self) -> None:
        self.cancelled = True


class FakeTimers:
    """The timer factory; ``run_next()`` moves the clock to the pending timer and fires it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.all: list[FakeTimer] = []
        self.max_pending = 0

    def __call__(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        assert delay >= 0
        timer = FakeTimer(self, delay, callback)
        self.all.append(timer)
        self.max_pending = max(self.max_pending, len(self.pending()))
        return timer

    def pending(self) -> list[FakeTimer]:
        return [t for t in self.all if t.pending]

    def run_next(self) -> bool:
        pending = self.pending()
        assert len(pending) <= 1, "more than one pending timer"
        if not pending:
            return False
        timer = pending[0]
        self.clock.now = max(self.clock.now, timer.due)
        timer.fired = True
        timer.callback()
        return True


class Recorder:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.events: list[tuple[datetime, Event]] = []

    def __call__(self, event: Event) -> None:
        self.events.append((self.clock.now, event))

    def of(self, kind: str) -> list[tuple[datetime, Event]]:
        return [(t, e) for t, e in self.events if e.kind == kind]


def make(now: datetime = T0) -> tuple[Clock, FakeTimers, Recorder, Scheduler]:
    clock = Clock(now)
    timers = FakeTimers(clock)
    rec = Recorder(clock)
    return clock, timers, rec, Scheduler(rec, clock=clock, warn=WARN, timer_factory=timers)


# --- the pure functions ----------------------------------------------------------


def test_events_of_one_session_are_warning_expiry_and_the_next_label() -> None:
    s = session("prod", T0 + timedelta(hours=1))
    events = next_events([s], T0, WARN, set())
    assert [(e.kind, e.at) for e in events] == [
        ("label", T0 + TICK),  # "1 h 0 min left" holds for one instant only
        ("warn", T0 + timedelta(minutes=50)),
        ("expire", T0 + timedelta(hours=1)),
    ]
    assert next_wakeup([s], T0, WARN, set()) == T0 + TICK


def test_the_label_event_is_when_the_whole_minutes_left_go_down() -> None:
    s = session("prod", T0 + timedelta(minutes=42, seconds=30))
    (label,) = [e for e in next_events([s], T0, WARN, set()) if e.kind == "label"]
    assert label.at == T0 + timedelta(seconds=30) + TICK
    assert time_left(s.left(T0)) == "42 min left"
    assert time_left(s.left(label.at - TICK)) == "42 min left"
    assert time_left(s.left(label.at)) == "41 min left"
    (after,) = [e for e in next_events([s], label.at, WARN, set()) if e.kind == "label"]
    assert after.at == label.at + timedelta(minutes=1)
    assert time_left(s.left(after.at - TICK)) == "41 min left"


def test_the_soonest_changing_label_wins() -> None:
    a = session("a", T0 + timedelta(minutes=30, seconds=50))
    b = session("b", T0 + timedelta(minutes=90, seconds=10))
    labels = [e for e in next_events([a, b], T0, WARN, set()) if e.kind == "label"]
    assert labels == [Event(T0 + timedelta(seconds=10) + TICK, "label", "b", b.expires_at)]


def test_no_label_in_the_last_minute_and_none_once_all_expired() -> None:
    s = session("prod", T0 + timedelta(seconds=40))
    assert [e.kind for e in next_events([s], T0, WARN, set())] == ["warn", "expire"]
    done = {("warn", "prod", s.expires_at), ("expire", "prod", s.expires_at)}
    assert next_events([s], T0 + timedelta(minutes=5), WARN, done) == []
    assert next_wakeup([s], T0 + timedelta(minutes=5), WARN, done) is None
    assert next_wakeup([], T0, WARN, set()) is None


def test_fired_events_are_left_out_and_a_renewed_session_is_new() -> None:
    old = session("prod", T0 + timedelta(minutes=5))
    fired = {("warn", "prod", old.expires_at)}
    assert [e.kind for e in next_events([old], T0, WARN, fired)] == ["label", "expire"]
    renewed = session("prod", T0 + timedelta(hours=1))
    assert "warn" in [e.kind for e in next_events([renewed], T0, WARN, fired)]


def test_overall_state_prefers_expired_then_expiring_then_valid() -> None:
    valid = session("a", T0 + timedelta(hours=1))
    expiring = session("b", T0 + timedelta(minutes=5))
    expired = session("c", T0 - timedelta(minutes=1))
    assert overall_state([], T0, WARN) == "none"
    assert overall_state([valid], T0, WARN) == "valid"
    assert overall_state([valid, expiring], T0, WARN) == "expiring"
    assert overall_state([valid, expiring, expired], T0, WARN) == "expired"


# --- the scheduler, on a fake clock ------------------------------------------------


def test_an_hour_long_session_icon_and_labels_change_at_the_right_instants() -> None:
    clock, timers, rec, sched = make()
    s = session("prod", T0 + timedelta(hours=1))
    sched.reschedule([s])
    icons: list[tuple[datetime, str]] = []
    labels: list[str] = []
    while timers.run_next():
        icons.append((clock.now, overall_state([s], clock.now, WARN)))
        labels.append(time_left(s.left(clock.now)))
        assert len(timers.pending()) <= 1
    assert timers.max_pending == 1
    assert rec.of("warn") == [
        (T0 + timedelta(minutes=50), Event(T0 + timedelta(minutes=50), "warn", "prod", s.expires_at))
    ]
    assert [t for t, _ in rec.of("expire")] == [T0 + timedelta(hours=1)]
    assert [t for t, _ in rec.of("label")] == [T0 + timedelta(minutes=m) + TICK for m in range(60)]
    for t, _e in rec.of("label"):  # each label event is the first instant of a new label
        assert time_left(s.left(t - TICK)) != time_left(s.left(t))
    # the icon turns amber exactly at the warning and red exactly at expiry
    first = {state: min(t for t, st_ in icons if st_ == state) for state in ("valid", "expiring", "expired")}
    assert first == {
        "valid": T0 + TICK,
        "expiring": T0 + timedelta(minutes=50),
        "expired": T0 + timedelta(hours=1),
    }
    assert labels[0] == "59 min left" and labels[-2] == "less than a minute left" and labels[-1] == "expired"
    label_texts = [time_left(s.left(t)) for t, _ in rec.of("label")]
    assert len(set(label_texts)) == len(label_texts) == 60, "each label event shows a new label"
    assert sched.wakeup is None and timers.pending() == []


def test_rescheduling_with_the_same_sessions_never_fires_twice() -> None:
    _clock, timers, rec, sched = make()
    s = session("prod", T0 + timedelta(minutes=30))
    sched.reschedule([s])
    while timers.run_next():
        sched.reschedule([s])  # as a file watcher would, at every turn
        sched.reschedule([s])
        assert len(timers.pending()) <= 1
    assert [e.kind for _, e in rec.events if e.kind != "label"] == ["warn", "expire"]


def test_a_renewed_session_is_warned_about_again() -> None:
    clock, timers, rec, sched = make()
    first = session("prod", T0 + timedelta(minutes=15))
    sched.reschedule([first])
    while not rec.of("warn"):
        timers.run_next()
    assert clock.now == T0 + timedelta(minutes=5)
    renewed = session("prod", clock.now + timedelta(minutes=30))
    sched.reschedule([renewed])
    while timers.run_next():
        pass
    assert [(t - T0, e.expires_at) for t, e in rec.of("warn")] == [
        (timedelta(minutes=5), first.expires_at),
        (timedelta(minutes=25), renewed.expires_at),
    ]
    assert [e.expires_at for _, e in rec.of("expire")] == [renewed.expires_at]


def test_two_sessions_fire_independently_with_one_timer() -> None:
    _clock, timers, rec, sched = make()
    a = session("a", T0 + timedelta(minutes=20))
    b = session("b", T0 + timedelta(minutes=45))
    sched.reschedule([a, b])
    while timers.run_next():
        assert len(timers.pending()) <= 1
    got = [(t - T0, e.kind, e.profile) for t, e in rec.events if e.kind != "label"]
    assert got == [
        (timedelta(minutes=10), "warn", "a"),
        (timedelta(minutes=20), "expire", "a"),
        (timedelta(minutes=35), "warn", "b"),
        (timedelta(minutes=45), "expire", "b"),
    ]
    # labels keep going for b after a expired, and stop with b
    assert max(t for t, _ in rec.of("label")) == T0 + timedelta(minutes=44) + TICK


def test_no_sessions_no_timer() -> None:
    _, timers, _, sched = make()
    sched.reschedule([])
    assert timers.all == [] and sched.wakeup is None


def test_a_late_timer_after_suspend_folds_a_warning_whose_expiry_also_passed() -> None:
    clock, timers, rec, sched = make()
    s = session("prod", T0 + timedelta(minutes=30))
    sched.reschedule([s])
    clock.now = T0 + timedelta(hours=2)  # the laptop slept through warning and expiry
    (timer,) = timers.pending()
    timer.fired = True
    timer.callback()
    # one refresh and the one true notice: never "expires in 1 min" for a session gone (issue 21)
    assert [e.kind for _, e in rec.events] == ["label", "expire"]
    assert timers.pending() == []


# --- restart ------------------------------------------------------------------------


def test_restart_inside_the_warning_window_warns_once_at_once() -> None:
    _clock, timers, rec, sched = make(T0 + timedelta(minutes=55))
    s = session("prod", T0 + timedelta(hours=1))
    sched.reschedule([s])
    assert timers.pending()[0].delay == 0
    while timers.run_next():
        sched.reschedule([s])
    assert [(t, e.kind) for t, e in rec.events if e.kind != "label"] == [
        (T0 + timedelta(minutes=55), "warn"),
        (T0 + timedelta(hours=1), "expire"),
    ]


def test_restart_after_expiry_says_nothing_and_arms_no_timer() -> None:
    _clock, timers, rec, sched = make(T0 + timedelta(hours=2))
    sched.reschedule([session("prod", T0 + timedelta(hours=1))])
    assert timers.all == [] and rec.events == []


def test_restart_before_the_warning_behaves_like_a_first_run() -> None:
    for start in (T0, T0 + timedelta(minutes=20)):
        _clock, timers, rec, sched = make(start)
        s = session("prod", T0 + timedelta(hours=1))
        sched.reschedule([s])
        while timers.run_next():
            pass
        assert [(t, e.kind) for t, e in rec.events if e.kind != "label"] == [
            (T0 + timedelta(minutes=50), "warn"),
            (T0 + timedelta(hours=1), "expire"),
        ]


def test_a_session_that_vanishes_for_a_moment_is_not_warned_about_twice() -> None:
    _clock, timers, rec, sched = make()
    s = session("prod", T0 + timedelta(minutes=30))
    sched.reschedule([s])
    while not rec.of("warn"):
        timers.run_next()
    sched.reschedule([])  # the file was read mid-edit
    assert timers.pending() == []
    sched.reschedule([s])
    while timers.run_next():
        pass
    assert len(rec.of("warn")) == 1 and len(rec.of("expire")) == 1


# --- robustness ----------------------------------------------------------------------


def test_a_failing_handler_is_logged_and_the_schedule_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(T0)
    timers = FakeTimers(clock)
    seen: list[str] = []

    def handler(event: Event) -> None:
        seen.append(event.kind)
        raise RuntimeError("boom")

    sched = Scheduler(handler, clock=clock, warn=WARN, timer_factory=timers)
    sched.reschedule([session("prod", T0 + timedelta(seconds=50))])
    while timers.run_next():
        pass
    assert seen == ["warn", "expire"]
    assert "handler of a warn event for prod failed" in caplog.text


def test_a_handler_may_reschedule_from_inside_the_callback() -> None:
    clock = Clock(T0)
    timers = FakeTimers(clock)
    s = session("prod", T0 + timedelta(minutes=3))
    sched: Scheduler

    def handler(event: Event) -> None:
        sched.reschedule([s])

    sched = Scheduler(handler, clock=clock, warn=WARN, timer_factory=timers)
    sched.reschedule([s])
    while timers.run_next():
        assert len(timers.pending()) <= 1


def test_a_cancelled_timer_that_goes_off_anyway_does_nothing() -> None:
    clock, timers, rec, sched = make()
    s = session("prod", T0 + timedelta(seconds=30))
    sched.reschedule([s])
    stale = timers.all[-1]
    sched.reschedule([s])  # cancels `stale`, arms a new one
    clock.now = T0 + timedelta(minutes=1)
    stale.callback()  # threading.Timer.cancel() can lose a race with the timer
    assert rec.events == []
    assert len(timers.pending()) == 1


def test_close_cancels_the_timer_and_ignores_later_calls() -> None:
    _, timers, _rec, sched = make()
    s = session("prod", T0 + timedelta(minutes=30))
    sched.reschedule([s])
    sched.close()
    assert timers.pending() == [] and sched.wakeup is None
    sched.reschedule([s])
    assert timers.pending() == []


def test_a_new_warning_lead_moves_the_warning() -> None:
    clock, timers, rec, sched = make()
    s = session("prod", T0 + timedelta(minutes=50))
    sched.reschedule([s], warn=timedelta(minutes=30))
    assert sched.warn == timedelta(minutes=30)
    while not rec.of("warn"):
        timers.run_next()
    assert clock.now == T0 + timedelta(minutes=20)


@settings(max_examples=50, deadline=None)
@given(
    lives=st.lists(st.integers(min_value=-120, max_value=240), min_size=0, max_size=4),
    warn_min=st.integers(min_value=0, max_value=60),
    renew_at=st.lists(st.integers(min_value=0, max_value=300), max_size=3),
)
def test_property_each_warning_and_expiry_once_never_early_one_timer(
    lives: list[int], warn_min: int, renew_at: list[int]
) -> None:
    warn = timedelta(minutes=warn_min)
    clock = Clock(T0)
    timers = FakeTimers(clock)
    rec = Recorder(clock)
    sched = Scheduler(rec, clock=clock, warn=warn, timer_factory=timers)
    sessions = {f"p{i}": session(f"p{i}", T0 + timedelta(minutes=m, seconds=7 * i)) for i, m in enumerate(lives)}
    sched.reschedule(sessions.values())
    renewals = sorted(T0 + timedelta(minutes=m) for m in renew_at)
    steps = 0
    while True:
        pending = timers.pending()
        assert len(pending) <= 1
        if renewals and (not pending or pending[0].due >= renewals[0]):
            clock.now = max(clock.now, renewals.pop(0))
            if sessions:
                name = sorted(sessions)[0]
                sessions[name] = session(name, clock.now + timedelta(minutes=45))
            sched.reschedule(sessions.values())
            continue
        if not timers.run_next():
            break
        steps += 1
        assert steps < 5000
    keys = [e.key for _, e in rec.events if e.kind != "label"]
    assert len(keys) == len(set(keys)), "fired twice"
    for t, e in rec.events:
        assert t >= e.at, "fired early"
    for s in sessions.values():
        if s.expires_at > T0:  # not already expired when first seen
            assert ("expire", s.profile, s.expires_at) in keys


# --- the real timer -----------------------------------------------------------------


def test_the_real_threading_timer_delivers_on_its_own_thread() -> None:
    got: list[tuple[str, str]] = []
    done = threading.Event()

    def handler(event: Event) -> None:
        got.append((event.kind, threading.current_thread().name))
        if event.kind == "expire":
            done.set()

    now = datetime.now(UTC)
    sched = Scheduler(handler, clock=lambda: datetime.now(UTC), warn=timedelta(milliseconds=200))
    sched.reschedule([session("prod", now + timedelta(milliseconds=300))])
    started = time.monotonic()
    assert done.wait(5)
    assert time.monotonic() - started < 2
    assert got == [("warn", "trayapp-schedule"), ("expire", "trayapp-schedule")]
    wait_until("the timer thread to end", lambda: not [t for t in threading.enumerate()
               if t.name == "trayapp-schedule"], 2)  # fmt: skip
    sched.close()
