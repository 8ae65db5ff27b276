"""IAM Identity Center sign-ins in the tray: their menu part, their share of the icon, the one
timer's events for them (a silent refresh at :data:`~trayapp.core.sso.REFRESH_LEAD` left) and
the one notice of a sign-in that ended.

A sign-in rides the one timer as a :class:`SignInInfo` — a :class:`SessionInfo` whose profile is
``sso-session NAME`` (a name no profile of the menu has) and whose lead is the refresh lead — so
the scheduler, the icon and the after-sleep folding treat it like a session, with no timer of its
own.  A browser never opens by itself: the timer refreshes with the refresh token or tells, and
**Sign in** (on the notice or in the menu) is the user's click.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from trayapp.core.errors import TrayappError
from trayapp.core.profiles import RoleProfile
from trayapp.core.results import RoleEntry
from trayapp.core.sessions import SessionInfo, State
from trayapp.i18n import _
from trayapp.tray import menu_model, notify

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine
    from trayapp.core.sso import SsoSignIns, SsoState
    from trayapp.core.sso_signin import DeviceCode

log = logging.getLogger(__name__)

#: The prefix of a sign-in's name where the timer and the notifier want a profile.
PREFIX = "sso-session "
#: A notice's action: sign in again.
SIGN_IN = "sso-login"
#: A device code's notice: copy the code.
COPY = "copy"


@dataclass(frozen=True)
class SignInInfo(SessionInfo):
    """A sign-in as the timer and the icon see it: refreshed at 20 min left when it can be,
    "expiring" from then on when it can't, "expired" once it ended."""

    refreshable: bool = False

    def lead(self, warn: timedelta) -> timedelta:
        from trayapp.core.sso import REFRESH_LEAD

        return REFRESH_LEAD

    def state(self, now: datetime, warn: timedelta) -> State:
        left = self.left(now)
        if left <= timedelta(0):
            return "expired"
        return "expiring" if left <= self.lead(warn) and not self.refreshable else "active"


def _engine(service: Engine) -> SsoSignIns:
    from trayapp.core.sso import sign_ins  # ~0.2 s of imports: only with sign-ins in the config

    return sign_ins(service)


def session_of(profile: str) -> str | None:
    """The sign-in's name of a timer event's or a notice's *profile*, or None for a role."""
    return profile.removeprefix(PREFIX) if profile.startswith(PREFIX) else None


def states(service: Engine) -> list[SsoState]:
    """Each sign-in's state (no token), by name; none when the config has no sign-in."""
    try:
        sessions = sorted(service.sso().sessions.items())
        return [_engine(service).state(session) for _name, session in sessions] if sessions else []
    except TrayappError as exc:
        log.info("the sign-ins can't be read: %s", exc)
        return []


def as_roles(service: Engine) -> list[RoleEntry]:
    """The SSO profiles, listed like roles: **Assume role** writes ``[<profile>-session]``."""
    try:
        found, sessions = service.sso().profiles, service.sessions()
    except TrayappError:
        return []
    return [RoleEntry(RoleProfile(name, p.role_arn), sessions.get(name)) for name, p in sorted(found.items())]


def infos(found: list[SsoState]) -> list[SignInInfo]:
    """The sign-ins that have (or had) a token, for the timer and the icon."""
    return [
        SignInInfo(PREFIX + s.session, "", s.expires_at, refreshable=s.refreshable)
        for s in found
        if s.expires_at is not None
    ]


def signed_out_notice(session: str) -> notify.Notification:
    """The one notice of a sign-in that ended and can't be refreshed: **Sign in** opens the browser."""
    return notify.Notification(
        _("{session} — signed out").format(session=session),
        _("The IAM Identity Center sign-in ended; its profiles need a new sign-in."),
        profile=PREFIX + session,
        actions=((SIGN_IN, _("Sign in")),),
        icon="expired",
    )


def sign_in_before_notice(session: str, expires_at: datetime) -> notify.Notification:
    """The one notice of a sign-in IAM Identity Center won't refresh: it works to its end, and
    **Sign in** signs in again before then."""
    at = expires_at.astimezone().strftime("%H:%M")
    return notify.Notification(
        _("{session} — sign in again before {time}").format(session=session, time=at),
        _("IAM Identity Center did not refresh the sign-in; it keeps working until then."),
        profile=PREFIX + session,
        actions=((SIGN_IN, _("Sign in")),),
        icon="expiring",
    )


def device_code_notice(code: DeviceCode) -> notify.Notification:
    """No browser to open: the code to confirm on the sign-in page; **Copy** puts it on the clipboard."""
    return notify.Notification(
        _("{session}: sign in with code {code}").format(session=code.session, code=code.user_code),
        _("Open {url} on any device and confirm the code.").format(url=code.verification_uri),
        profile=PREFIX + code.session,
        actions=((COPY, _("Copy")),),
    )


def has_browser() -> bool:
    """Whether a browser can be opened here (``BROWSER``, or one Python's ``webbrowser`` finds)."""
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def notice_action(profile: str, key: str) -> str | None:
    """The menu action a click on a sign-in's notice stands for, or None."""
    name = session_of(profile)
    if name is None:
        return None
    if key == COPY:
        return menu_model.action(menu_model.SSO_COPY_CODE, name)
    return menu_model.action(menu_model.SSO_LOGIN, name) if key in (SIGN_IN, "default") else None


class SignIns:
    """The tray's side of the sign-ins: keep them alive on the timer's events (on the worker), tell
    once when one ended; **Sign in…** waits for the person on a prompt job of its own."""

    def __init__(self, service: Engine, say: Callable[[notify.Notification], None]) -> None:
        self._service = service
        self._say = say
        self._told: set[tuple[object, ...]] = set()
        #: The device code of each sign-in under way without a browser, for **Copy**.
        self.codes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._waiting: list[threading.Event] = []  # one per sign-in under way: set when it ends
        self._ending_now = False

    def due(self, name: str, expires_at: datetime) -> None:
        """The timer: *name*'s token has 20 min or less left (or ended): refresh it silently, or
        tell once that it ended.  Never a browser."""
        session = self._service.sso().sessions.get(name)
        if session is None:
            return
        engine = _engine(self._service)
        engine.ending = self._ending  # "sign in again before HH:MM", once, however it was found out
        try:
            _token, outcome = engine.ensure(session, interactive=False)
        except TrayappError as exc:
            log.info("the sign-in %s can't be kept (%s)", name, exc)
            if (name, expires_at) not in self._told:
                self._told.add((name, expires_at))
                self._say(signed_out_notice(name))
            return
        log.info("the sign-in %s: %s, without a browser", name, outcome)

    def _ending(self, name: str, expires_at: datetime) -> None:
        if ("ending", name, expires_at) not in self._told:
            self._told.add(("ending", name, expires_at))
            self._say(sign_in_before_notice(name, expires_at))

    def sign_in(self, name: str) -> None:
        """A prompt job: **Sign in…**: the browser — or, with none to open, a device code shown in
        a notice with **Copy** —, one at a time across processes.  The worker goes on meanwhile."""
        engine = _engine(self._service)
        engine.notice = self._show_code
        session = self._service.sso().session(name)
        done, failed = threading.Event(), []
        with self._lock:
            if self._ending_now:
                return
            self._waiting.append(done)

        def sign_in() -> None:  # a thread of its own, so that Quit need not wait for the browser
            try:
                engine.ensure(session, interactive=True, device=not has_browser(), asked=True)
            except BaseException as exc:
                failed.append(exc)
            finally:
                done.set()

        threading.Thread(target=sign_in, name="trayapp-sso-sign-in", daemon=True).start()
        try:
            done.wait()
        finally:
            with self._lock:
                self._waiting.remove(done)
            self.codes.pop(name, None)
        if failed:
            raise failed[0]

    def abort(self) -> None:
        """The tray ends: stop waiting for the sign-ins (their threads end with the process)."""
        with self._lock:
            self._ending_now = True
            waiting = list(self._waiting)
        for done in waiting:
            done.set()

    def _show_code(self, code: DeviceCode) -> None:
        self.codes[code.session] = code.user_code
        self._say(device_code_notice(code))

    def sign_out(self, name: str) -> None:
        """Worker: **Sign out**: the token, its profiles' sessions, the AWS CLI's cached keys."""
        from trayapp.core import sso_logout

        for sentence in sso_logout.sign_out(self._service, self._service.sso().session(name)):
            log.info("%s", sentence)
