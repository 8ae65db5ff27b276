"""The tray's renewal and notification policy: the one timer's events, silent renewal with retries,
and what is told (and when) about sessions ending and the MFA session running out.

The policy's parts without a GUI live in :mod:`trayapp.core.schedule` (the one timer, folding what
passed while asleep), :mod:`trayapp.core.renewal` (which failures are retried, and when) and
:mod:`trayapp.tray.notices` (the words); :class:`Renewer` wires them to the service.  Timer threads
only hand over: the work runs on the tray's worker through *submit*.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING

from trayapp.core.errors import TrayappError
from trayapp.core.prompts import SilentPrompt
from trayapp.core.renewal import Retries, is_transient
from trayapp.core.schedule import Scheduler, TimerFactory, thread_timer
from trayapp.tray import login_watch, notices, notify, sso_watch
from trayapp.tray.prefs import PrefsHolder

if TYPE_CHECKING:
    from trayapp.core.schedule import Event
    from trayapp.core.sessions import SessionInfo
    from trayapp.tray.view import TrayService

log = logging.getLogger(__name__)

Say = Callable[[notify.Notification], None]
Submit = Callable[..., None]


class Renewer:
    """Warns, renews and tells, for the sessions the service holds.

    *submit* runs a function on the worker, *refresh* redraws (on the worker), *clock_moved* is
    told of a jump in wall time the timer noticed."""

    def __init__(
        self,
        service: TrayService,
        prefs: PrefsHolder,
        *,
        say: Say,
        submit: Submit,
        refresh: Callable[[], None],
        clock_moved: Callable[[], None],
        timer_factory: TimerFactory | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._prefs = prefs
        self._say = say
        self._submit = submit
        self._refresh = refresh
        self._clock_moved = clock_moved
        self._timers: TimerFactory = timer_factory or thread_timer
        self._monotonic = monotonic  # what the timers wait on (tests: their clock's awake time)
        self.scheduler: Scheduler | None = None
        self.retries: Retries | None = None
        self._mfa_until: datetime | None = None
        self._mfa_ended = False  # the MFA session ran out (not ended by the user) and none since
        self._failed: set[tuple[str, datetime]] = set()
        self.sign_ins = sso_watch.SignIns(service, say)
        self.logins = login_watch.LoginWatch(service, say)

    @property
    def mfa_ended(self) -> bool:
        return self._mfa_ended

    def start(self) -> None:
        """The one timer and the retries (worker, once the icon shows)."""
        self.scheduler = Scheduler(
            lambda event: self._submit(self._handle_event, event),
            clock=self._service.now,
            warn=self._service.warn_lead(),
            timer_factory=self._timers,
            on_jump=self._clock_moved,
            on_events=lambda events: self._submit(self._handle_events, events),
            monotonic=self._monotonic,
        )
        self.retries = Retries(
            lambda p: self._submit(self._retry, p), clock=self._service.now, timer_factory=self._timers
        )

    def look(self, hidden: Collection[str]) -> None:
        """Worker, before each redraw: tell an MFA session that ran out; re-arm the one timer."""
        self._tell_mfa_ended()
        if self.scheduler is not None:
            with contextlib.suppress(TrayappError):
                sessions = [s for s in self._service.sessions().values() if s.profile not in hidden]
                sessions += sso_watch.infos(sso_watch.states(self._service))  # refreshed at 20 min left
                sessions += login_watch.infos(self.logins.look())  # refreshed at 7 min left
                self.scheduler.reschedule(sessions, warn=self._service.warn_lead())

    def network_back(self) -> None:
        if self.retries is not None:
            self.retries.network_back()

    def stop(self) -> None:
        if self.retries is not None:
            self.retries.close()
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.close()

    def _tell_mfa_ended(self) -> None:
        """One notice when the MFA session that signed renewals ran out (asleep or not); none
        when the user ended it from the menu."""
        alive = self._service.mfa_sessions()
        until, self._mfa_until = self._mfa_until, alive[-1].expires_at if alive else None
        ran_out = until is not None and until - self._service.now() <= notices.MFA_ENDING
        if alive or (until is not None and not ran_out):  # a new one, or ended from the menu
            self._mfa_ended = False
        elif ran_out:
            self._mfa_ended = True
            if self._prefs().notifications:
                self._say(notices.mfa_ended_notice())

    def _handle_events(self, events: list[Event]) -> None:
        """Events that came due together (after a sleep): one notice for what ended; a sign-in is
        refreshed, or told once, never signed in again by itself."""
        sessions = self._service.sessions()
        ended = [
            sessions[e.profile]
            for e in events
            if e.kind == "expire" and e.profile in sessions and sessions[e.profile].expires_at == e.expires_at
        ]
        for event in events:
            if sso_watch.session_of(event.profile) is not None or login_watch.profile_of(event.profile) is not None:
                self._sign_in_due(event)
            elif event.kind == "warn":
                self._handle_event(event, refresh=False)
        if ended and self._prefs().notifications:
            for notice in notices.expired_notices(ended):
                self._say(notice)
        self._refresh()

    def _sign_in_due(self, event: Event) -> None:
        name = sso_watch.session_of(event.profile)
        if name is not None and event.kind != "label":
            self.sign_ins.due(name, event.expires_at)
        login = login_watch.profile_of(event.profile)
        if login is not None and event.kind != "label":
            self.logins.due(login, event.expires_at)

    def _handle_event(self, event: Event, *, refresh: bool = True) -> None:
        if sso_watch.session_of(event.profile) is not None or login_watch.profile_of(event.profile) is not None:
            self._sign_in_due(event)
        elif event.kind != "label":
            session = self._service.sessions().get(event.profile)
            current = session is not None and session.expires_at == event.expires_at
            if current and event.kind == "warn":
                assert session is not None
                if not self._renew_silently(event.profile, session) and self._prefs().notifications:
                    self._say(notify.expiring_notice(session, self._service.now()))
            elif current and event.kind == "expire" and self._prefs().notifications:
                assert session is not None
                self._say(notify.expired_notice(session))
        if refresh:
            self._refresh()

    def _renew_silently(self, profile: str, session: SessionInfo) -> bool:
        """Renew before expiry without a prompt while the MFA session lasts; False to warn instead."""
        # Decided for the duration the renewal keeps (issue 29: the profile's own, longer than an
        # MFA session may sign, made a role that renews on it warned instead).
        if profile in self._prefs().hidden or not self._service.can_renew_silently(profile, session.duration):
            return False
        try:
            # The duration it was assumed with, not the profile's default (issue 21).
            self._service.assume(profile, SilentPrompt(), duration=session.duration)
        except TrayappError as exc:
            self._failed_renewal(profile, session, exc)
            return True
        if self.retries is not None:
            self.retries.succeeded(profile)
        log.info("renewed %s without a prompt", profile)
        return True

    def _failed_renewal(self, profile: str, session: SessionInfo, exc: TrayappError) -> None:
        transient = is_transient(exc) and self.retries is not None
        first = self.retries.failed(profile, session.expires_at) if self.retries is not None and transient else True
        key = (profile, session.expires_at)
        if first and key not in self._failed:  # notified once per session, not per retry
            self._failed.add(key)
            notice = notices.retrying_notice if transient else notices.refused_notice
            self._say(notice(profile, str(exc)))
        log.info("renewing %s failed (%s)", profile, "will retry" if transient else "for good")

    def _retry(self, profile: str) -> None:
        """Worker: a renewal that waited for the network tries again, while its session lasts."""
        session = self._service.sessions().get(profile)
        if session is None or session.left(self._service.now()).total_seconds() <= 0:
            return
        if self._service.can_renew_silently(profile, session.duration):
            self._renew_silently(profile, session)
        self._refresh()
