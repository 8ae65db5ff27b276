"""``aws login`` profiles in ``trayapp list`` and ``trayapp status`` (``kind: login``); ``assume``,
``env``, ``exec``, ``console`` and ``credential-process`` take them through the service."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trayapp.i18n import _

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from trayapp.core.login_refresh import LoginState
    from trayapp.core.service import Service


def states(service: Service) -> list[LoginState]:
    if not service.login().profiles:
        return []  # no login profile: nothing more is imported
    from trayapp.core import login_refresh

    return login_refresh.states(service)


def login_rows(service: Service) -> list[dict[str, object]]:
    """``trayapp list --json``'s rows for login profiles; their problems go to stderr."""
    now, warn, sessions = service.now(), service.warn_lead(), service.sessions()
    config = service.login()
    rows: list[dict[str, object]] = []
    for state in states(service):
        written = sessions.get(state.profile)
        profile = config.profiles[state.profile]
        rows.append(
            {"profile": state.profile, "kind": "login", "region": profile.region}
            | state.as_json(now)
            | {"session": written.as_json(now, warn) if written else None}
        )
    print_problems(service)
    return rows


def print_login_lines(service: Service) -> None:
    """``trayapp list``'s lines for login profiles: ``dev  ARN  keys valid until 14:05``."""
    from trayapp.core.login_refresh import describe

    now = service.now()
    for state in states(service):
        print(f"{state.profile}\t{state.session}\t{describe(state, now)}")
    print_problems(service)


def status_rows(found: Sequence[LoginState], now: datetime) -> list[dict[str, Any]]:
    return [{"profile": s.profile, "kind": "login"} | s.as_json(now) for s in found]


def print_status_lines(found: Sequence[LoginState], now: datetime, warn: timedelta) -> None:
    from trayapp.core.login_refresh import describe

    for state in found:
        print(f"{state.profile}\taws login\t{state.word(now)}\t{describe(state, now)}")


def print_problems(service: Service) -> None:
    for name, reason in service.login().problems.items():
        problem = _("profile '{profile}' can't be used: {reason}.").format(profile=name, reason=reason)
        print(f"trayapp: {problem}", file=sys.stderr)
