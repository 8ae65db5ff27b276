"""A laptop's day for the real tray: the lid closes, the network drops, the clock moves — the icon never lies.

The tray runs on Xvfb with the recording notification server, against moto; libfaketime moves its
wall clock alone (its timers run on the monotonic clock, as across a real sleep), and a private
system bus carries logind's ``PrepareForSleep``, NetworkManager's ``StateChanged`` and timedated's
``PropertiesChanged`` (see tests/support/laptop.py).  Each deadline below is generous for a loaded
machine; before these changes the tray took about a minute to notice a resume, and said stale things.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.desktop import Desktop
from tests.support.laptop import LaptopDay
from tests.support.tray_desktop import write_aws_files

pytestmark = pytest.mark.desktop

#: Well under the minute the tray took before; the issue asks for 5 s on an idle machine.
NOTICED = 20.0


@pytest.fixture
def day(desktop: Desktop) -> Iterator[LaptopDay]:
    from tests.support.fixtures import require_tools

    require_tools("dbus-daemon", "faketime")  # the faketime package brings libfaketime
    write_aws_files(desktop.home)
    with LaptopDay(desktop) as laptop:
        yield laptop


def test_after_a_3_hour_sleep_a_session_that_ended_gets_one_expired_notice_at_once(day: LaptopDay) -> None:
    day.write_session("prod", timedelta(minutes=60))
    day.start_tray()
    assert day.status() == {"prod": "active"}

    day.sleep(hours=3)

    notice = day.wait_for_notice(r"^prod expired", NOTICED)
    (record,) = [n for n in day.desktop.notifications() if n["summary"] == "prod expired"]
    assert record["actions"] == ["renew", "Renew"]
    day.wait_for_icon("expired", NOTICED)
    assert day.status() == {"prod": "expired"}
    # never the stale warning of a session that ended while asleep, never a time in the past
    assert not [n for n in day.notices() if "expires in" in n], day.notices()
    assert [n for n in day.notices() if n.startswith("prod expired")] == [notice]


def test_after_a_13_hour_sleep_the_mfa_session_and_two_sessions_ended_get_one_notice_each(day: LaptopDay) -> None:
    day.start_tray()
    for args in (("prod", "--code", "123456"), ("dev",)):
        done = day.trayapp("assume", *args)
        assert done.returncode == 0, done.stderr
    day.wait("the tray to show both sessions", lambda: day.status() == {"dev": "active", "prod": "active"}, NOTICED)

    day.sleep(hours=13)  # longer than the 12-hour MFA session

    listed = day.wait_for_notice(r"^2 sessions expired", NOTICED)
    assert "dev, prod" in listed
    day.wait_for_notice(r"^The MFA session has ended", NOTICED)
    day.wait_for_icon("needs-mfa", NOTICED)  # prod renewed on the MFA session: a code renews it now
    assert day.status() == {"dev": "expired", "prod": "expired"}
    notices = day.notices()
    assert not [
        n for n in notices if "expires in" in n or "failed" in n or n.startswith(("dev expired", "prod expired"))
    ]
    assert len([n for n in notices if "MFA session" in n]) == 1


def test_clock_set_back_2_hours_makes_an_expiring_session_valid_again(day: LaptopDay) -> None:
    expires = day.write_session("prod", timedelta(minutes=5))
    day.start_tray()
    assert day.status() == {"prod": "expiring"}
    warning = day.wait_for_notice(r"^prod expires in", NOTICED)
    # The minutes left, rounded up, as the warning was shown (on a crawling start the harness starts the
    # tray twice, minutes apart: the warning must tell the time left then, not the 5 minutes written).
    left = math.ceil((expires - day.wall.now()) / timedelta(minutes=1))
    said = re.match(r"prod expires in (\d+) min", warning)
    assert said is not None and left <= int(said[1]) <= left + 1, warning

    day.wall.move(timedelta(hours=-2))
    day.wall.settled()
    # The kernel's clock-set signal (timerfd) can't see libfaketime: timedated's signal stands in.
    day.bus.time_settings_changed()

    # A change of state after the start shows in the icon's title (the one at start may not, on xorg).
    day.wait_for_title("sessions valid", NOTICED)
    day.wait_for_icon("valid", NOTICED)
    assert day.status() == {"prod": "active"}


def test_sts_down_when_renewal_is_due_then_back_renews_at_once_with_one_notice(day: LaptopDay) -> None:
    # dev renews without a code; 9 minutes left is inside the 10-minute lead: renewal is due at start.
    day.write_session("dev", timedelta(minutes=9))
    day.sts.stop(keep_port=True)  # the network is gone
    day.start_tray()
    waiting = day.wait_for_notice(r"^Renewing dev is waiting for AWS", NOTICED)
    assert "can't be reached" in waiting and "tries again" in waiting

    day.sts.start()  # the same port: the network is back
    day.bus.network(70)  # NetworkManager: connected
    day.wait("dev renewed", lambda: day.access_key() not in ("", "ASIAOLDSESSION000000"), NOTICED)
    assert day.status() == {"dev": "active"}
    assert len([n for n in day.notices() if "dev" in n]) == 1, day.notices()
    assert "Traceback" not in day.log()


def test_assume_for_900_seconds_beside_the_tray_keeps_900_seconds_through_renewal(day: LaptopDay) -> None:
    day.start_tray()
    done = day.trayapp("assume", "prod", "--code-stdin", "--duration", "900", stdin="123456\n")
    assert done.returncode == 0, done.stderr
    assert "(14 min left)" in done.stdout or "(15 min left)" in done.stdout, done.stdout
    first = day.access_key()
    assert timedelta(minutes=14) <= day.expiry("prod") - day.wall.now() <= timedelta(minutes=15)
    day.wait("the tray to show the session", lambda: day.status() == {"prod": "active"}, NOTICED)
    assert day.access_key() == first  # what `assume` printed is what the file holds

    day.sleep(hours=8 / 60)  # 7 min left: past half its life, the lead that fits a 15-minute session

    day.wait("prod renewed", lambda: day.access_key() != first, NOTICED)
    left = day.expiry("prod") - day.wall.now()
    assert timedelta(minutes=13) <= left <= timedelta(minutes=15), left
    assert "trayapp_duration = 900" in day.credentials.read_text()
    assert not [n for n in day.notices() if "prod" in n], day.notices()  # renewed silently


def test_a_new_time_zone_shows_in_the_next_notice(day: LaptopDay) -> None:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private /etc/localtime")
    day.write_session("prod", timedelta(minutes=30))
    day.start_tray(zone="UTC")

    day.set_zone("Asia/Tokyo")  # the user picks a new time zone; timedated says so
    day.bus.time_settings_changed()
    day.sleep(hours=25 / 60)

    warning = day.wait_for_notice(r"^prod expires in", NOTICED)
    tokyo = day.expiry("prod").astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    assert warning.startswith(("prod expires in 5 min", "prod expires in 4 min")), warning
    assert f"ends at {tokyo}" in warning, warning  # (" tomorrow" follows past Tokyo's midnight)


@pytest.mark.slow
def test_a_9_hour_working_day_of_short_sleeps_renews_on_time_and_stays_flat(day: LaptopDay) -> None:
    """08:00 to 17:00 at speed: the lid closed eight minutes at a time, dev renewed each hour."""
    day.write_session("dev", timedelta(minutes=60))
    day.start_tray()
    lead = timedelta(minutes=10)
    renewals, baseline = 0, None
    for step in range(9 * 60 // 8):
        day.sleep(hours=8 / 60)
        expiry = day.expiry("dev")
        if expiry - day.wall.now() <= lead:  # the tray must renew now, before the next step ends it
            day.wait(f"dev renewed (step {step})", lambda e=expiry: day.expiry("dev") != e, NOTICED)
            renewals += 1
        if step == 60 // 8:
            baseline = day.resources()  # after the first hour: everything lazily started has started
    rss, threads = day.resources()
    assert baseline is not None
    print(f"renewals: {renewals}; RSS {baseline[0]} -> {rss} kB; threads {baseline[1]} -> {threads}")
    assert renewals >= 8
    assert day.status() == {"dev": "active"}
    assert not [n for n in day.notices() if "dev" in n], day.notices()  # never warned, never expired
    assert "Traceback" not in day.log()
    assert threads <= baseline[1] + 1
    assert rss <= baseline[0] + 10 * 1024


def test_after_a_52_minute_sleep_a_role_on_the_mfa_session_is_renewed_not_warned(day: LaptopDay) -> None:
    """Issue 29: prod, assumed through the tray with a code for an hour, has 8 minutes left after the
    lid was closed 52 minutes: the MFA session (12 hours) renews it silently, for the hour it was
    assumed with.  The tray decided on the profile's own duration (two hours: too long for a role
    signed by an MFA session) and warned, though the renewal keeps the session's hour."""
    config = day.desktop.home / ".aws" / "config"
    config.write_text(
        config.read_text().replace("region = eu-west-1\n", "region = eu-west-1\nduration_seconds = 7200\n", 1)
    )
    day.start_tray()
    done = day.trayapp("assume", "prod", "--code", "123456", "--duration", "3600")
    assert done.returncode == 0, done.stderr
    first = day.access_key()
    day.wait("the tray to show the session", lambda: day.status() == {"prod": "active"}, NOTICED)

    day.sleep(hours=52 / 60)  # 8 min left: inside the 10-minute lead

    day.wait("prod renewed", lambda: day.access_key() != first, NOTICED)
    assert timedelta(minutes=55) <= day.expiry("prod") - day.wall.now() <= timedelta(minutes=60)
    assert day.status() == {"prod": "active"}
    assert not [n for n in day.notices() if "prod" in n], day.notices()  # renewed silently, never warned
    assert "Traceback" not in day.log()
