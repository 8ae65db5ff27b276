"""Time as a laptop lives it, in the core and the tray's wiring, with the fake clock (issue 21).

- which renewal failures are tried again, and when (core/renewal.py);
- a session shorter than the warning lead is warned at half its life (core/sessions.py);
- the schedule folds what passed while asleep, tells a clock jump, and hands due events together;
- the tray: a renewal keeps the duration asked for; a passing failure is retried with one notice and
  renews at once when the network is back; a refusal is told once and not retried; sessions that
  ended together get one notice; an MFA session that ran out is told once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.support import tray_fakes
from tests.support.clock import Clock
from tests.support.service_fakes import CONFIG, ScriptedPrompt, sts_error
from tests.support.tray_timers import Recorder
from trayapp.core import errors
from trayapp.core.mfa import UsedCodes
from trayapp.core.preferences import Preferences
from trayapp.core.renewal import Retries, is_transient, next_delay
from trayapp.core.schedule import JUMP_GRACE, Event, Scheduler
from trayapp.core.service import Service
from trayapp.core.sessions import SessionInfo
from trayapp.core.sts import Credentials
from trayapp.tray.app import TrayApp
from trayapp.tray.prefs import PrefsHolder

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
WARN = timedelta(minutes=10)
ARN = "arn:aws:iam::123456789012:role/x"
FIELDS: dict[str, object] = {"role_arn": ARN, "endpoint": "https://sts.amazonaws.com", "seconds": 10}


class Timers:
    """A timer factory under the test's control: ``(delay, callback)`` of each pending timer."""

    def __init__(self) -> None:
        self.armed: list[list[Any]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Any:
        entry = [delay, callback, False]
        self.armed.append(entry)

        class Handle:
            def cancel(self) -> None:
                entry[2] = True

        return Handle()

    def pending(self) -> list[list[Any]]:
        return [t for t in self.armed if not t[2]]

    def fire_all(self) -> None:
        for timer in self.pending():
            timer[2] = True
            timer[1]()


# --- the retry policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (errors.StsUnreachable(**FIELDS), True),
        (errors.StsTimeout(**FIELDS), True),
        (errors.Throttled(**FIELDS), True),
        (errors.StsRefused(code="ServiceUnavailable", **FIELDS), True),
        (errors.StsRefused(code="503", **FIELDS), True),
        (errors.NotAuthorised(**FIELDS), False),
        (errors.ExpiredSourceKeys(source="base", **FIELDS), False),
        (errors.StsRefused(code="RegionDisabledException", **FIELDS), False),
    ],
)
def test_only_passing_failures_are_tried_again(error: errors.TrayappError, transient: bool) -> None:
    assert is_transient(error) is transient


def test_backoff_doubles_from_5_seconds_to_a_minute() -> None:
    assert [next_delay(n).total_seconds() for n in range(1, 8)] == [5, 10, 20, 40, 60, 60, 60]


def test_retries_back_off_stop_at_the_sessions_end_and_go_at_once_when_the_network_is_back() -> None:
    clock, timers, retried = Clock(T0), Timers(), []
    retries = Retries(retried.append, clock=clock, timer_factory=timers)
    end = T0 + timedelta(minutes=8)
    assert retries.failed("prod", end) is True  # the first failure: the one worth telling
    assert [t[0] for t in timers.pending()] == [5]
    assert retries.failed("prod", end) is False
    assert [t[0] for t in timers.pending()] == [10]  # one pending try per profile, never more
    clock.now = end - timedelta(seconds=3)
    retries.failed("prod", end)
    assert [t[0] for t in timers.pending()] == [3]  # never past the session's end
    retries.network_back()
    assert retried == ["prod"] and timers.pending() == []
    retries.failed("prod", end)
    retries.succeeded("prod")
    assert timers.pending() == [] and retries.waiting() == []


# --- leads, folding, jumps ---------------------------------------------------------------------


def test_a_session_shorter_than_twice_the_lead_is_warned_at_half_its_life() -> None:
    short = SessionInfo("prod", ARN, T0 + timedelta(minutes=15), duration=900)
    assert short.lead(timedelta(minutes=20)) == timedelta(minutes=7, seconds=30)
    assert short.state(T0 + timedelta(seconds=1), timedelta(minutes=20)) == "active"  # not "expiring" at once
    assert SessionInfo("prod", ARN, T0, duration=3600).lead(WARN) == WARN
    assert SessionInfo("prod", ARN, T0).lead(WARN) == WARN  # nothing recorded: the lead as before


def make_scheduler(clock: Clock, timers: Timers, **kw: Any) -> tuple[Scheduler, list[list[Event]], list[int]]:
    batches: list[list[Event]] = []
    jumps: list[int] = []
    mono = [0.0]
    sched = Scheduler(lambda e: None, clock=clock, warn=WARN, timer_factory=timers, on_events=batches.append,
                      on_jump=lambda: jumps.append(1), monotonic=lambda: mono[0], **kw)  # fmt: skip
    return sched, batches, jumps


def test_after_a_sleep_due_events_come_together_folded_and_the_jump_is_told() -> None:
    clock, timers = Clock(T0), Timers()
    sched, batches, jumps = make_scheduler(clock, timers)
    sched.reschedule(
        [SessionInfo("a", ARN, T0 + timedelta(minutes=30)), SessionInfo("b", ARN, T0 + timedelta(hours=1))]
    )
    clock.now = T0 + timedelta(hours=3)  # the monotonic clock stood still: a 3-hour sleep
    timers.fire_all()  # the timer armed before the sleep goes off: the jump is told first
    assert jumps == [1] and batches == []
    ((grace, _, _),) = timers.pending()
    assert grace == JUMP_GRACE  # the owner's chance to look again; should it not, the timer says it
    timers.fire_all()
    (batch,) = batches
    told = sorted((e.kind, e.profile) for e in batch if e.kind != "label")
    assert told == [("expire", "a"), ("expire", "b")]  # no stale warnings
    assert jumps == [1]


def test_a_session_written_just_before_the_lid_closed_ends_in_the_same_notice() -> None:
    """The timer finds the jump before the owner has read a session written a moment before the
    sleep: it ended while asleep, so it is told with the others — not dropped as "expired before
    we ever saw it" (that rule is for what ended before the tray looked)."""
    clock, timers = Clock(T0), Timers()
    sched, batches, jumps = make_scheduler(clock, timers)
    a, b = SessionInfo("a", ARN, T0 + timedelta(minutes=30)), SessionInfo("b", ARN, T0 + timedelta(hours=1))
    sched.reschedule([a])
    clock.now = T0 + timedelta(hours=13)
    timers.fire_all()  # the jump: the owner looks again and now holds both
    assert jumps == [1]
    sched.reschedule([a, b])
    timers.fire_all()
    (batch,) = batches
    assert sorted((e.kind, e.profile) for e in batch if e.kind != "label") == [("expire", "a"), ("expire", "b")]


def test_a_session_that_ended_before_the_tray_looked_is_not_told() -> None:
    clock, timers = Clock(T0), Timers()
    sched, batches, _jumps = make_scheduler(clock, timers)
    old = SessionInfo("old", ARN, T0 - timedelta(minutes=5))
    sched.reschedule([old])  # at start: it ended before the tray ran
    sched.reschedule([])  # a read mid-edit misses it
    clock.now = T0 + timedelta(seconds=1)
    sched.reschedule([old])  # and it is back
    timers.fire_all()
    assert [e for batch in batches for e in batch if e.kind != "label"] == []


def test_a_timer_on_time_tells_no_jump() -> None:
    clock, timers = Clock(T0), Timers()
    sched, _batches, jumps = make_scheduler(clock, timers)
    sched.reschedule([SessionInfo("a", ARN, T0 + timedelta(minutes=30))])
    timers.fire_all()  # the wall clock did not move, nor did the monotonic one
    assert jumps == []


# --- the tray's wiring -------------------------------------------------------------------------


class Sts:
    """STS answering from the injected clock; ``fail`` makes the next AssumeRoles raise it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[dict[str, Any]] = []
        self.fail: Exception | None = None

    def client(self, credentials: Credentials, region: str) -> Any:
        sts = self

        class Client:
            meta = None

            def _creds(self, seconds: int) -> dict[str, Any]:
                n = len(sts.calls)
                return {"AccessKeyId": f"ASIA{n:016d}", "SecretAccessKey": f"s{n}", "SessionToken": f"t{n}",
                        "Expiration": sts.clock() + timedelta(seconds=seconds)}  # fmt: skip

            def get_session_token(self, **params: Any) -> dict[str, Any]:
                sts.calls.append({"Action": "GetSessionToken", **params})
                return {"Credentials": self._creds(params["DurationSeconds"])}

            def assume_role(self, **params: Any) -> dict[str, Any]:
                sts.calls.append({"Action": "AssumeRole", **params})
                if sts.fail is not None:
                    raise sts.fail
                return {"Credentials": self._creds(params["DurationSeconds"]),
                        "AssumedRoleUser": {"Arn": "arn:aws:sts::222222222222:assumed-role/Admin/x"}}  # fmt: skip

        return Client()


@pytest.fixture
def tray(tmp_path: Path) -> tuple[TrayApp, Service, Sts, Clock, Timers, Recorder]:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text(CONFIG)
    (aws / "credentials").write_text("[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = s\n")
    clock, timers, notes = Clock(T0), Timers(), Recorder()
    sts = Sts(clock)
    prefs = PrefsHolder()
    prefs.set(Preferences())
    service = Service(environ={"HOME": str(tmp_path)}, clock=clock, sts_clients=sts.client, preferences=prefs,
                      source_resolver=lambda role: Credentials("AKIABASE", "s"),
                      used_codes=UsedCodes(lambda: clock().timestamp()), mfa_sessions=True)  # fmt: skip
    app = TrayApp(service, notifier=notes, timer_factory=timers, monotonic=clock.monotonic, watch=False, prefs=prefs,
                  prompt_factory=lambda: ScriptedPrompt("123456"), copy=lambda text: None,
                  popup=lambda menu: None)  # fmt: skip
    app._start_services()
    yield app, service, sts, clock, timers, notes
    app._shutdown()


def settle(app: TrayApp) -> None:
    tray_fakes.settle(app)


def run_until(app: TrayApp, clock: Clock, timers: Timers, moment: datetime) -> None:
    """Fire the pending timers, in order, until *moment* (the clock jumps to each)."""
    while True:
        settle(app)
        pending = sorted(timers.pending(), key=lambda t: t[0])
        if not pending or clock.now + timedelta(seconds=pending[0][0]) > moment:
            clock.now = moment
            return
        timer = pending[0]
        clock.now += timedelta(seconds=timer[0])
        for other in pending[1:]:
            other[0] -= timer[0]
        timer[2] = True
        timer[1]()


def test_a_renewal_keeps_the_duration_the_session_was_assumed_with(tray: Any) -> None:
    app, service, sts, clock, timers, notes = tray
    service.assume("dev", ScriptedPrompt(), duration=900)
    app.refresh()
    assert service.sessions()["dev"].duration == 900
    run_until(app, clock, timers, T0 + timedelta(minutes=7))
    assert [c["DurationSeconds"] for c in sts.calls] == [900]  # not renewed at once for the default
    run_until(app, clock, timers, T0 + timedelta(minutes=8))
    assert [c["DurationSeconds"] for c in sts.calls] == [900, 900]  # at half its life, for 900 again
    left = service.sessions()["dev"].expires_at - clock()
    assert timedelta(seconds=870) <= left <= timedelta(seconds=900)
    assert not notes.sent


def test_a_renew_click_keeps_the_duration_the_session_was_assumed_with(tray: Any) -> None:
    """The notification's Renew and the menu's both ask STS for the duration the session was
    assumed with, not the profile's default (they used to ask for 3600)."""
    app, service, sts, _clock, _timers, _notes = tray
    service.assume("dev", ScriptedPrompt(), duration=900)
    service.assume("prod", ScriptedPrompt("123456"), duration=1800)
    app.refresh()
    app._on_notification_action("dev", "renew")
    settle(app)
    app.perform("assume:prod")
    settle(app)
    roles = [(c["RoleArn"].rsplit("/", 1)[1], c["DurationSeconds"]) for c in sts.calls if c["Action"] == "AssumeRole"]
    assert roles == [("Dev", 900), ("Admin", 1800), ("Dev", 900), ("Admin", 1800)]
    assert service.sessions()["dev"].duration == 900
    assert service.sessions()["prod"].duration == 1800


def test_sts_unreachable_is_retried_with_one_notice_and_renews_when_the_network_is_back(tray: Any) -> None:
    app, service, sts, clock, timers, notes = tray
    service.assume("dev", ScriptedPrompt())
    app.refresh()
    sts.fail = EndpointConnectionError(endpoint_url="https://sts.amazonaws.com")
    run_until(app, clock, timers, T0 + timedelta(minutes=53))  # warned at 50 min; retries meanwhile
    tries = len(sts.calls) - 1
    assert tries >= 5  # 5 s, 10 s, 20 s, 40 s, then a minute apart
    assert [n.title for n in notes.sent] == ["Renewing dev is waiting for AWS"]
    sts.fail = None
    app._retries.network_back()
    settle(app)
    assert service.sessions()["dev"].expires_at == clock() + timedelta(hours=1)
    run_until(app, clock, timers, T0 + timedelta(minutes=58))
    assert len(sts.calls) == tries + 2  # no retry left over after the renewal
    assert [n.title for n in notes.sent] == ["Renewing dev is waiting for AWS"]


def test_a_refusal_is_told_once_and_not_retried(tray: Any) -> None:
    app, service, sts, clock, timers, notes = tray
    service.assume("dev", ScriptedPrompt())
    app.refresh()
    sts.fail = sts_error("AccessDenied", "User is not authorized to perform: sts:AssumeRole")
    run_until(app, clock, timers, T0 + timedelta(minutes=59))
    assert len(sts.calls) == 2  # the assume, one renewal: no retry
    assert [n.title for n in notes.sent] == ["Renewing dev failed"]
    assert "trust policy" in notes.sent[0].body


def test_sessions_that_ended_while_asleep_get_one_notice_that_lists_them(tray: Any) -> None:
    app, service, _sts, clock, timers, notes = tray
    service.assume("prod", ScriptedPrompt("123456"))
    service.assume("dev", ScriptedPrompt())
    app.refresh()
    clock.sleep(T0 + timedelta(hours=13) - clock.now)  # asleep through both sessions and the 12-hour MFA session
    app._clock_moved()
    settle(app)
    timers.fire_all()
    settle(app)
    titles = [n.title for n in notes.sent]
    assert titles.count("2 sessions expired") == 1
    assert "dev, prod" in next(n.body for n in notes.sent if n.title == "2 sessions expired")
    assert titles.count("The MFA session has ended") == 1
    assert not [t for t in titles if "expires in" in t or (t.endswith(" expired") and t != "2 sessions expired")]
    assert app.snapshot.state == "needs-mfa"  # prod renewed on the MFA session; a code renews it now


def labels(app: TrayApp) -> list[str]:
    return [node.label for node in app.snapshot.menu]


def test_an_mfa_session_that_ended_while_asleep_shows_needs_mfa_and_the_next_click_asks_for_a_code(
    tray: Any,
) -> None:
    app, service, sts, clock, timers, notes = tray
    service.assume("prod", ScriptedPrompt("123456"))
    app.refresh()
    assert app.snapshot.state == "valid"
    assert any(label.startswith("MFA session active until") for label in labels(app))
    clock.sleep(T0 + timedelta(hours=13) - clock.now)  # asleep through the 12-hour MFA session
    app._clock_moved()
    settle(app)
    timers.fire_all()
    settle(app)
    assert app.snapshot.state == "needs-mfa"
    assert "MFA session ended — the next assume asks for a code" in labels(app)
    app.refresh()
    assert [n.title for n in notes.sent].count("The MFA session has ended") == 1
    tokens = [c for c in sts.calls if c["Action"] == "GetSessionToken"]
    app._on_notification_action("prod", "renew")  # the expired notice's Renew
    settle(app)
    asked = [c for c in sts.calls if c["Action"] == "GetSessionToken"][len(tokens) :]
    assert [c.get("TokenCode") for c in asked] == ["123456"]  # a code was asked for, then used
    assert app.snapshot.state == "valid"
    assert any(label.startswith("MFA session active until") for label in labels(app))


def test_needs_mfa_waits_for_the_sessions_that_renewed_on_it_and_not_for_a_user_ended_one(tray: Any) -> None:
    app, service, _sts, clock, _timers, _notes = tray
    service.assume("prod", ScriptedPrompt("123456"))  # its MFA session lasts 12 h
    app.refresh()
    clock.now = T0 + timedelta(hours=11, minutes=40)  # awake: prod was renewed on it all along
    service.assume("prod", ScriptedPrompt())
    clock.now = T0 + timedelta(hours=11, minutes=59)  # the MFA session no longer signs
    app.refresh()
    assert app.snapshot.state == "valid"  # prod has 41 min left: nothing to do yet
    assert "MFA session ended — the next assume asks for a code" in labels(app)
    clock.now = T0 + timedelta(hours=12, minutes=31)  # prod inside its warning lead
    app.refresh()
    assert app.snapshot.state == "needs-mfa"
    app.perform("assume:prod")
    settle(app)
    assert app.snapshot.state == "valid"
    app.perform("end-mfa")
    settle(app)
    clock.now += timedelta(minutes=55)
    app.refresh()
    assert app.snapshot.state == "expiring"  # ended from the menu: the user knows; no padlock
    assert not [label for label in labels(app) if label.startswith("MFA session")]
