"""``aws login`` sign-ins in the tray: their group in the menu, their share of the icon, the one
timer's events for them (a silent refresh at :data:`~trayapp.core.login_refresh.REFRESH_LEAD` left,
ahead of the SDKs) and the one notice of a sign-in that ended.

A sign-in rides the one timer as a :class:`LoginInfo` — a :class:`SessionInfo` whose profile is
``aws-login NAME`` (no profile of the menu has that name) and whose lead is the refresh lead — so
the scheduler, the icon and the after-sleep folding treat it like a session, with no timer of its
own.  Its keys last 15 minutes, so the tray refreshes each sign-in every 8 minutes while it lasts
(12 hours), and rewrites ``[<profile>-session]`` when one was bridged.  When the sign-in service
says the sign-in is over, one notice names ``aws login --profile NAME``; its **Sign in** runs that
command (the AWS CLI v2.32+ opens the browser itself); nothing is deleted.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from trayapp.core import errors
from trayapp.core.sessions import SessionInfo, State
from trayapp.i18n import _
from trayapp.tray import menu_model, notify

if TYPE_CHECKING:
    from trayapp.core.hosts import Engine
    from trayapp.core.login_refresh import LoginState

log = logging.getLogger(__name__)

#: The prefix of a sign-in's name where the timer and the notifier want a profile.
PREFIX = "aws-login "
#: The menu's and the notice's action: run ``aws login --profile NAME``.
SIGN_IN = "aws-login"
#: ``aws login`` came with the AWS CLI 2.32.
_CLI_VERSION = re.compile(r"aws-cli/(\d+)\.(\d+)")


@dataclass(frozen=True)
class LoginInfo(SessionInfo):
    """A sign-in as the timer and the icon see it: refreshed at 7 min left, "expired" once it ended."""

    refreshable: bool = False
    ended: bool = False

    def lead(self, warn: timedelta) -> timedelta:
        from trayapp.core.login_refresh import REFRESH_LEAD

        return REFRESH_LEAD

    def state(self, now: datetime, warn: timedelta) -> State:
        left = self.left(now)
        if left <= timedelta(0) or self.ended:
            return "expired"
        return "expiring" if left <= self.lead(warn) and not self.refreshable else "active"


def states(service: Engine) -> list[LoginState]:
    """Each login profile's sign-in (no key); none when the config has no login profile."""
    try:
        if not service.login().profiles:
            return []
        from trayapp.core import login_refresh  # only with login profiles in the config

        return login_refresh.states(service)
    except errors.TrayappError as exc:
        log.info("the aws login sign-ins can't be read: %s", exc)
        return []


def infos(found: Sequence[LoginState]) -> list[LoginInfo]:
    """The sign-ins that have (or had) keys, for the timer and the icon."""
    return [
        LoginInfo(PREFIX + s.profile, s.session, s.expires_at, refreshable=s.refreshable, ended=s.ended)
        for s in found
        if s.expires_at is not None
    ]


def profile_of(name: str) -> str | None:
    """The login profile of a timer event's or a notice's *name*, or None for anything else."""
    return name.removeprefix(PREFIX) if name.startswith(PREFIX) else None


@functools.cache
def aws_login_command() -> str | None:
    """The ``aws`` program when it is the AWS CLI v2.32 or later (it has ``aws login``), else None."""
    found = shutil.which("aws")
    if found is None:
        return None
    try:
        answer = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    version = _CLI_VERSION.search(answer.stdout + answer.stderr)
    return found if version and (int(version[1]), int(version[2])) >= (2, 32) else None


def menu(
    found: Sequence[LoginState], now: datetime, sessions: Any = None, *, after: Sequence[menu_model.MenuNode] = ()
) -> tuple[menu_model.MenuNode, ...]:
    """*after* (the sign-ins' part of the menu), then the "aws login" group: a heading, then one submenu
    per login profile with its state."""
    if not found:
        return tuple(after)
    from trayapp.core.login_refresh import describe

    nodes = [menu_model.MenuNode(_("aws login"), enabled=False)]
    for state in found:
        bridged = sessions is not None and state.profile in sessions
        word = state.word(now)
        label = _("{profile} — {state}").format(profile=state.profile, state=describe(state, now))
        children = (
            menu_model.MenuNode(
                _("Write {section} for other tools").format(section=f"{state.profile}-session"),
                menu_model.action(menu_model.ASSUME, state.profile),
                enabled=word in ("valid", "expired"),
            ),
            menu_model.MenuNode(
                _("Open AWS console"), menu_model.action(menu_model.CONSOLE, state.profile), enabled=word == "valid"
            ),
            menu_model.MenuNode(
                _("Sign in again (aws login)"),
                menu_model.action(SIGN_IN, state.profile),
                enabled=word in ("ended", "signed-out"),
            ),
            menu_model.MenuNode(
                _("Forget session"), menu_model.action(menu_model.FORGET, state.profile), enabled=bridged
            ),
        )
        nodes.append(menu_model.MenuNode(menu_model.shorten(label), children=children))
    return (*after, menu_model.SEPARATOR, *nodes) if after else tuple(nodes)


def ended_notice(profile: str, sign_in: bool) -> notify.Notification:
    """The one notice of a sign-in that ended; **Sign in** runs ``aws login`` where the CLI has it."""
    return notify.Notification(
        _("{profile} — aws login ended").format(profile=profile),
        _("The sign-in ended; run 'aws login --profile {profile}' to sign in again.").format(profile=profile),
        profile=PREFIX + profile,
        actions=((SIGN_IN, _("Sign in")),) if sign_in else (),
        icon="expired",
    )


def notice_action(profile: str, key: str) -> str | None:
    """The menu action a click on a sign-in's notice stands for, or None."""
    name = profile_of(profile)
    if name is None:
        return None
    return menu_model.action(SIGN_IN, name) if key in (SIGN_IN, "default") else None


class LoginWatch:
    """The tray's side of the sign-ins: refresh them on the timer's events, tell once when one ended,
    run ``aws login`` on **Sign in**.  Runs on the worker."""

    def __init__(
        self,
        service: Engine,
        say: Callable[[notify.Notification], None],
        run: Callable[[list[str]], object] | None = None,
    ) -> None:
        self._service = service
        self._say = say
        self._run = run or _start
        self._told: set[tuple[str, datetime | None]] = set()
        self._tried: set[tuple[str, datetime | None]] = set()

    def look(self) -> list[LoginState]:
        """Before each redraw: the sign-ins, after one try at those whose keys ended while no timer
        ran (the tray started later, or the computer slept) but which may still be refreshed — the
        timer drops a session first seen expired.  One try per expiry: never a storm."""
        found = states(self._service)
        now = self._service.now()
        late = [s for s in found if s.word(now) == "expired" and (s.profile, s.expires_at) not in self._tried]
        for state in late:
            self._tried.add((state.profile, state.expires_at))
            assert state.expires_at is not None
            self.due(state.profile, state.expires_at)
        return states(self._service) if late else found

    def due(self, name: str, expires_at: datetime) -> None:
        """The timer: *name*'s keys have 7 min or less left (or ended): refresh them silently (and the
        bridged section), or tell once that the sign-in is over."""
        from trayapp.core.login_refresh import bridge, engine

        profile = self._service.login().profiles.get(name)
        if profile is None:
            return
        try:
            token, outcome = engine(self._service).ensure(profile)
        except (errors.LoginEnded, errors.LoginSignedOut, errors.LoginNotPermitted) as exc:
            if (name, expires_at) not in self._told:
                self._told.add((name, expires_at))
                if isinstance(exc, errors.LoginNotPermitted):
                    self._say(notify.Notification(f"trayapp: {name}", str(exc)))
                else:
                    self._say(ended_notice(name, aws_login_command() is not None))
            return
        except errors.TrayappError as exc:  # the network: the expiry's event tries again
            log.info("the aws login sign-in of %s was not refreshed (%s)", name, exc)
            return
        log.info("the aws login sign-in of %s: %s", name, outcome)
        written = self._service.sessions().get(name)
        if written is not None and written.expires_at != token.expires_at:
            try:
                bridge(self._service, profile)
            except errors.TrayappError as exc:
                log.info("%s-session was not rewritten (%s)", name, exc)

    def sign_in(self, name: str) -> None:
        """**Sign in**: ``aws login --profile NAME`` (it opens the browser); the cache's change redraws."""
        command = aws_login_command()
        if command is None:
            raise errors.UsageError(
                reason=_("Install the AWS CLI v2 (2.32 or later) and run 'aws login --profile {profile}'.").format(
                    profile=name
                )
            )
        self._run([command, "login", "--profile", name])


def _start(argv: list[str]) -> object:
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
