"""Clock times shown to a person carry the day when it is not today.

"MFA session active until 06:45" was tomorrow's 06:45, with no word of it.  Every clock time in the
menu, the notices and the command line goes through ``sessions.clock_time``; these tests fix the
clock around midnight in a zone twelve hours east of UTC (local midnight is 12:00 UTC).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.tray_fakes import NOW, FakeService, make_app, run_action
from trayapp.cli.fast import assumed_message
from trayapp.core import sessions
from trayapp.core.sessions import SessionInfo
from trayapp.tray.menu_model import build_menu
from trayapp.tray.notify import expiring_notice

#: 23:50 local, ten minutes before midnight (NOW is 12:00 UTC, local midnight).
BEFORE_MIDNIGHT = NOW - timedelta(minutes=10)


@pytest.fixture(autouse=True)
def east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "NZST-12")  # UTC+12, no summer time
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def local(day: int, hour: int, minute: int) -> datetime:
    """A moment given in the test zone's local time, January 2030."""
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC) - timedelta(hours=12)


def test_clock_time_names_the_day_when_it_is_not_today() -> None:
    now = local(1, 23, 50)
    assert sessions.clock_time(local(1, 23, 59), now) == "23:59"
    assert sessions.clock_time(local(2, 6, 45), now) == "06:45 tomorrow"
    assert sessions.clock_time(local(1, 0, 5), local(2, 0, 1)) == "00:05 yesterday"
    assert sessions.clock_time(local(4, 6, 45), now) == "06:45 on 2030-01-04"
    assert sessions.clock_time(local(2, 0, 30), now, seconds=True) == "00:30:00 tomorrow"


def test_mfa_session_active_until_tomorrow_says_tomorrow_in_the_menu() -> None:
    items = build_menu([], {}, local(1, 23, 50), timedelta(minutes=10), mfa_until=local(2, 6, 45))
    assert items[0].label == "MFA session active until 06:45 tomorrow — roles renew without a code"


def test_mfa_session_ending_today_shows_only_the_time() -> None:
    items = build_menu([], {}, local(1, 0, 10), timedelta(minutes=10), mfa_until=local(1, 6, 45))
    assert items[0].label == "MFA session active until 06:45 — roles renew without a code"


def test_expiring_notice_before_midnight_says_the_session_ends_tomorrow() -> None:
    session = SessionInfo("prod", "arn", local(2, 0, 5))
    notice = expiring_notice(session, local(1, 23, 55))
    assert notice.body == "Session prod-session ends at 00:05 tomorrow. Renew to keep working."


def test_assume_after_midnight_prints_the_day_the_session_ends() -> None:
    text = assumed_message(SessionInfo("prod", "arn", local(2, 0, 30)), local(1, 23, 30))
    assert "is valid until 00:30:00 tomorrow (1 h 0 min left)" in text


class LateService(FakeService):
    def now(self) -> datetime:
        return BEFORE_MIDNIGHT


def test_ready_notice_of_a_session_that_ends_after_midnight_says_tomorrow() -> None:
    app, events = make_app(LateService())
    run_action(app, "assume:prod")
    assert ("notify", "trayapp: prod is ready", "AWS_PROFILE=prod-session works until 01:00 tomorrow.") in events
