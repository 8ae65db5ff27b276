"""Notifications: the texts, the fallbacks, and the D-Bus backend against a real
notification server (the harness's recorder) on a private session bus."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.fixtures import Desktop, require_tools
from tests.support.procs import wait_until
from trayapp.core.schedule import Event, Scheduler
from trayapp.core.sessions import SessionInfo, clock_time
from trayapp.tray import notify
from trayapp.tray.notify import (
    DbusNotifier,
    LogNotifier,
    Notification,
    PystrayNotifier,
    choose_notifier,
    expired_notice,
    expiring_notice,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROD = SessionInfo("prod", "arn:aws:iam::123456789012:role/admin", T0 + timedelta(minutes=10))


# --- texts -------------------------------------------------------------------------


def test_the_warning_names_profile_session_and_local_end_time() -> None:
    n = expiring_notice(PROD, T0)
    local = clock_time(PROD.expires_at, T0)  # the time, and the day when it is not today here
    assert n.title == "prod expires in 10 min"
    assert n.body == f"Session prod-session ends at {local}. Renew to keep working."
    assert (n.profile, n.actions, n.urgency) == ("prod", (("renew", "Renew"),), "normal")


def test_the_warning_rounds_minutes_up_and_never_says_zero() -> None:
    assert expiring_notice(PROD, T0 + timedelta(milliseconds=3)).title == "prod expires in 10 min"
    assert expiring_notice(PROD, T0 + timedelta(minutes=9, seconds=50)).title == "prod expires in 1 min"


def test_the_expiry_notice() -> None:
    n = expired_notice(PROD)
    assert n.title == "prod expired"
    assert n.body == "Session prod-session has expired. Renew to get a new one."
    assert (n.profile, n.actions, n.urgency) == ("prod", (("renew", "Renew"),), "critical")


def test_no_text_holds_more_than_names_and_a_time() -> None:
    # A SessionInfo carries no secret; the texts don't even show the role ARN.
    for n in (expiring_notice(PROD, T0), expired_notice(PROD)):
        assert "arn:" not in n.title + n.body


def test_icons_come_from_assets_when_present() -> None:
    assert notify.icon_path("expiring").endswith("assets/icon-expiring-64.png")
    assert notify.icon_path("no-such-state") == ""
    assert notify.icon_path(None) == ""


# --- fallbacks -------------------------------------------------------------------------


def test_the_log_notifier_logs(caplog: pytest.LogCaptureFixture) -> None:
    LogNotifier().send(expired_notice(PROD))
    assert "prod expired: Session prod-session has expired." in caplog.text


class FakeIcon:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def notify(self, message: str, title: str | None = None) -> None:
        if self.fail:
            raise NotImplementedError
        self.calls.append((message, title or ""))


def test_the_pystray_adapter_passes_body_and_title_and_swallows_failures(caplog: pytest.LogCaptureFixture) -> None:
    icon = FakeIcon()
    PystrayNotifier(icon).send(expired_notice(PROD))
    assert icon.calls == [("Session prod-session has expired. Renew to get a new one.", "prod expired")]
    PystrayNotifier(FakeIcon(fail=True)).send(expired_notice(PROD))  # xorg backend: NotImplementedError
    assert "notice: prod expired: " in caplog.text
    assert PystrayNotifier(icon).supports_actions is False


def test_an_app_notice_logged_without_a_server_is_not_prefixed_twice(caplog: pytest.LogCaptureFixture) -> None:
    # Seen on stderr from the installed .deb (no notification server, no log file): "trayapp: trayapp: …"
    LogNotifier().send(Notification("trayapp", "Using default preferences: no usable keyring was found."))
    assert "notice: Using default preferences: no usable keyring was found." in caplog.text
    assert "trayapp: Using" not in caplog.text


def test_choose_notifier_off_linux_and_without_a_bus(tmp_path: Path) -> None:
    icon = FakeIcon()
    assert isinstance(choose_notifier(platform="darwin", icon=icon, environ={}), PystrayNotifier)
    assert isinstance(choose_notifier(platform="win32", icon=None, environ={}), LogNotifier)
    assert isinstance(choose_notifier(platform="linux", environ={}), LogNotifier)
    nowhere = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}"}
    assert isinstance(choose_notifier(platform="linux", environ=nowhere), LogNotifier)


def test_an_unreachable_bus_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    n = DbusNotifier(f"unix:path={tmp_path / 'no-bus'}")
    n.send(expired_notice(PROD))
    assert n.supports_actions is False
    assert "notice: prod expired: " in caplog.text
    n.close()


# --- D-Bus, for real ----------------------------------------------------------------------


@pytest.fixture
def bus_desktop() -> Iterator[Desktop]:
    """A private session bus with the recording notification server (no tray needed)."""
    require_tools("Xvfb", "dbus-daemon")
    with Desktop(notifications=True, tray=False) as d:
        yield d


class Actions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.event = threading.Event()

    def __call__(self, profile: str, key: str) -> None:
        self.calls.append((profile, key, threading.current_thread().name))
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        ok = self.event.wait(timeout)
        self.event.clear()
        return ok


@pytest.mark.desktop
def test_send_is_recorded_with_summary_body_actions_icon_and_urgency(bus_desktop: Desktop) -> None:
    notifier = DbusNotifier(bus_desktop.bus_address)
    try:
        assert notifier.supports_actions is True
        notifier.send(expiring_notice(PROD, T0))
        rec = bus_desktop.wait_for_notification(lambda n: n["summary"] == "prod expires in 10 min")
        assert rec["app_name"] == "trayapp"
        assert rec["body"].startswith("Session prod-session ends at ")
        assert rec["actions"] == ["renew", "Renew"]
        assert rec["hints"]["urgency"] == 1
        assert rec["app_icon"].endswith("icon-expiring-64.png") and Path(rec["app_icon"]).is_file()
        assert rec["replaces_id"] == 0
    finally:
        notifier.close()


def _titled(prefix: str) -> Callable[[dict[str, Any]], bool]:
    return lambda n: str(n["summary"]).startswith(prefix)


@pytest.mark.desktop
def test_the_renew_action_calls_on_action_with_the_profile_on_the_listener_thread(bus_desktop: Desktop) -> None:
    actions = Actions()
    notifier = DbusNotifier(bus_desktop.bus_address, on_action=actions)
    try:
        notifier.send(expiring_notice(PROD, T0))
        other = SessionInfo("dev", PROD.role_arn, PROD.expires_at)
        notifier.send(expired_notice(other))
        recs = [bus_desktop.wait_for_notification(_titled(p)) for p in ("prod", "dev")]
        bus_desktop.invoke_action(recs[1]["id"], "renew", close=False)
        assert actions.wait()
        bus_desktop.invoke_action(recs[0]["id"], "renew")  # and then closes it
        assert actions.wait()
        assert actions.calls == [("dev", "renew", "trayapp-notify"), ("prod", "renew", "trayapp-notify")]
        # once closed, a (spurious) action for that id is not ours any more (invoke_action returned
        # after the server sent the close; its signals reach the notifier in the order sent)
        bus_desktop.invoke_action(recs[0]["id"], "renew", close=False)
        bus_desktop.invoke_action(999, "renew", close=False)  # another app's notification
        assert not actions.wait(0.3)
    finally:
        notifier.close()
    assert not [t for t in threading.enumerate() if t.name == "trayapp-notify"], "the reader outlived close()"


@pytest.mark.desktop
def test_a_click_read_before_send_has_the_notifications_id_still_renews(
    bus_desktop: Desktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine the reader hands Notify's reply to the sender and reads a click on that
    notification before the sender has noted whose it is: the click must not be lost."""
    actions = Actions()
    notifier = DbusNotifier(bus_desktop.bus_address, on_action=actions)
    notify_call, invoked = DbusNotifier._notify, DbusNotifier._invoked
    heard = threading.Event()

    def heard_too(self: DbusNotifier, body: tuple[Any, ...]) -> None:
        invoked(self, body)
        heard.set()

    def click_before_the_id_is_noted(self: DbusNotifier, n: Any) -> int:
        nid = notify_call(self, n)
        bus_desktop.invoke_action(nid, "renew", close=False)  # the user clicks as it shows
        assert heard.wait(10)  # the reader has read the click: the sender is only now back
        return nid

    monkeypatch.setattr(DbusNotifier, "_invoked", heard_too)
    monkeypatch.setattr(DbusNotifier, "_notify", click_before_the_id_is_noted)
    try:
        notifier.send(expiring_notice(PROD, T0))
        assert actions.wait()
        assert [c[:2] for c in actions.calls] == [("prod", "renew")]
    finally:
        notifier.close()


@pytest.mark.desktop
def test_another_apps_click_heard_while_connecting_does_not_lose_the_notification(
    bus_desktop: Desktop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A click on some other notification (ActionInvoked is broadcast) that arrives between the
    notifier's subscriptions is read on its reading thread, which must not wait for the notifier's
    lock while the notifier waits for that thread to read the next subscription's reply."""
    subscribe = notify.Bus.on_signal

    def click_meanwhile(bus: Any, rule: Any, handler: Callable[[tuple[Any, ...]], None]) -> None:
        subscribe(bus, rule, handler)
        if rule.header_fields.get("member") == "ActionInvoked":
            bus_desktop.invoke_action(999, "renew", close=False)  # on the bus before the next reply

    monkeypatch.setattr(notify.Bus, "on_signal", click_meanwhile)
    notifier = DbusNotifier(bus_desktop.bus_address, on_action=Actions())
    try:
        notifier.send(expired_notice(PROD))
        assert "notice: " not in caplog.text
        bus_desktop.wait_for_notification(lambda n: n["summary"] == "prod expired")
    finally:
        notifier.close()


@pytest.mark.desktop
def test_no_server_on_the_bus_logs_and_goes_on_then_a_late_server_is_used(
    bare_bus: Desktop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trayapp.tray.notify")
    notifier = choose_notifier(environ=bare_bus.env, platform="linux")
    assert isinstance(notifier, DbusNotifier)  # the bus is reachable, the server is not there yet
    try:
        assert notifier.supports_actions is False
        notifier.send(expired_notice(PROD))
        assert "notice: prod expired: " in caplog.text
        assert "ServiceUnknown" in caplog.text

        out = bare_bus.tmp_dir / "late.jsonl"
        bare_bus.spawn(
            [sys.executable, "-m", "tests.support.notify_server", str(out)],
            name="late-server",
            extra_env={"PYTHONPATH": str(REPO_ROOT)},
        )
        wait_until("the late server on the bus", lambda: bare_bus.name_has_owner("org.freedesktop.Notifications"), 10)
        notifier.send(expired_notice(PROD))
        assert '"summary": "prod expired"' in out.read_text()
        assert '"actions": ["renew", "Renew"]' in out.read_text()
    finally:
        notifier.close()


@pytest.mark.desktop
def test_a_bus_that_goes_away_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    require_tools("Xvfb", "dbus-daemon")
    desktop = Desktop(notifications=True, tray=False).start()
    notifier = DbusNotifier(desktop.bus_address)
    try:
        notifier.send(expiring_notice(PROD, T0))
        desktop.wait_for_notification()
    finally:
        desktop.stop()
    notifier.send(expired_notice(PROD))  # the bus is gone
    notifier.send(expired_notice(PROD))  # and reconnecting fails too
    assert caplog.text.count("notice: prod expired: ") == 2
    notifier.close()


@pytest.mark.desktop
def test_a_short_session_warns_once_and_expires_once_through_the_real_timer(bus_desktop: Desktop) -> None:
    """Scheduler + DbusNotifier, real clock: a 1.2 s session with a 1 s warning lead."""
    notifier = DbusNotifier(bus_desktop.bus_address)
    session = SessionInfo("prod", PROD.role_arn, datetime.now(UTC) + timedelta(seconds=1.2))
    expired = threading.Event()

    def on_event(event: Event) -> None:
        now = datetime.now(UTC)
        if event.kind == "warn":
            notifier.send(expiring_notice(session, now))
        elif event.kind == "expire":
            notifier.send(expired_notice(session))
            expired.set()

    scheduler = Scheduler(on_event, clock=lambda: datetime.now(UTC), warn=timedelta(seconds=1))
    try:
        for _ in range(3):  # as file-change events would
            scheduler.reschedule([session])
        assert expired.wait(5)
        wait_until("the expiry shown", lambda: len(bus_desktop.notifications()) == 2, 5)
        scheduler.reschedule([session])
        time.sleep(0.2)  # the behaviour under test: nothing more is shown (no event says "nothing")
        summaries: list[Any] = [n["summary"] for n in bus_desktop.notifications()]
        assert summaries == ["prod expires in 1 min", "prod expired"]
        assert scheduler.wakeup is None
    finally:
        scheduler.close()
        notifier.close()


# --- Windows: the balloon's fixed-size fields --------------------------------------------


class Win32Icon:
    """pystray's win32 ``Icon.notify``: the strings go into ``NOTIFYICONDATAW``'s
    ``WCHAR szInfoTitle[64]`` and ``WCHAR szInfo[256]``; a longer one raises (and pystray's
    call fails), so the notification never shows."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    @staticmethod
    def _field(text: str, size: int) -> str:
        units = len(text.encode("utf-16-le")) // 2
        if units >= size:  # the NUL must fit too
            raise ValueError("string too long")
        return text

    def notify(self, message: str, title: str | None = None) -> None:
        self.shown.append((self._field(title or "", 64), self._field(message, 256)))


LONG = SessionInfo("production-eu-central-1-platform-team-admin-break-glass", "arn:aws:iam::1:role/a", PROD.expires_at)


def test_a_long_title_still_shows_on_windows_with_the_whole_title_in_the_body() -> None:
    icon = Win32Icon()
    notice = expiring_notice(LONG, T0)
    assert len(notice.title) > 63
    choose_notifier(platform="win32", icon=icon, environ={}).send(notice)
    ((title, body),) = icon.shown
    assert title.endswith("…") and len(title.encode("utf-16-le")) // 2 <= 63
    assert body.startswith(notice.title + "\n")


def test_windows_limits_count_utf16_units_and_cut_the_body_too() -> None:
    icon = Win32Icon()
    title = "本番環境" * 10 + "😀" * 20  # 40 BMP characters, then 20 that take two UTF-16 units each
    choose_notifier(platform="win32", icon=icon, environ={}).send(notify.Notification(title=title, body="x" * 400))
    ((shown_title, shown_body),) = icon.shown
    assert shown_title.startswith("本番環境" * 10) and shown_title.endswith("…")
    assert len(shown_body.encode("utf-16-le")) // 2 <= 255 and shown_body.endswith("…")


def test_short_texts_are_left_alone_on_windows_and_elsewhere() -> None:
    icon = Win32Icon()
    choose_notifier(platform="win32", icon=icon, environ={}).send(expired_notice(PROD))
    assert icon.shown == [("prod expired", "Session prod-session has expired. Renew to get a new one.")]
    mac = FakeIcon()
    long_notice = expiring_notice(LONG, T0)
    choose_notifier(platform="darwin", icon=mac, environ={}).send(long_notice)
    assert mac.calls == [(long_notice.body, long_notice.title)]


@pytest.mark.desktop
def test_names_with_markup_reach_a_markup_server_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that advertises body-markup renders ``<b>`` and ``<a href>``: the body is escaped
    there (and only there: a plain-text server gets the name as written)."""
    require_tools("Xvfb", "dbus-daemon")
    name = '<b>prod</b>&<a href="https://evil.example/">x</a>'
    session = SessionInfo(name, PROD.role_arn, PROD.expires_at)
    sent = {}
    for caps in ("actions,body,body-markup", "actions,body"):
        monkeypatch.setenv("NOTIFY_SERVER_CAPABILITIES", caps)
        with Desktop(notifications=True, tray=False) as d:
            notifier = DbusNotifier(d.bus_address)
            try:
                notifier.send(expired_notice(session))
                sent[caps] = d.wait_for_notification(lambda n: "expired" in str(n["summary"]))
            finally:
                notifier.close()
    markup = sent["actions,body,body-markup"]["body"]
    assert markup == (
        'Session &lt;b&gt;prod&lt;/b&gt;&amp;&lt;a href="https://evil.example/"&gt;x&lt;/a&gt;-session '
        "has expired. Renew to get a new one."
    )
    assert "<" not in markup and ">" not in markup
    assert sent["actions,body"]["body"] == f"Session {name}-session has expired. Renew to get a new one."
