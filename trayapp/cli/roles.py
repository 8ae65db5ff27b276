"""`trayapp list` and `trayapp status`: what is configured, and what trayapp wrote."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers
from trayapp.cli.login import login_rows, print_login_lines
from trayapp.cli.sso import print_sso_lines, sso_rows
from trayapp.core.sessions import time_left
from trayapp.i18n import _

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta

    from trayapp.core.login_refresh import LoginState
    from trayapp.core.service import Service
    from trayapp.core.sessions import SessionInfo


def register(sub: Subparsers) -> None:
    p = sub.add_parser("list", help=_("list role profiles and their sessions"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("status", help=_("show the sessions trayapp wrote"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.set_defaults(func=cmd_status)


def cmd_list(service: Service, args: argparse.Namespace) -> int:
    now, warn = service.now(), service.warn_lead()
    entries = service.roles(include_hidden=True)
    cfg = service.config()
    if args.json:
        rows = [
            {
                "profile": e.role.name,
                "kind": "role",
                "role_arn": e.role.role_arn,
                "source": e.role.source,
                "mfa_serial": e.role.mfa_serial,
                "mfa_process": e.role.mfa_process is not None,  # the command itself may hold a secret
                "region": cfg.source_region(e.role),
                "source_identity": e.role.source_identity,
                "session_tags": dict(e.role.session_tags),
                "transitive_session_tags": list(e.role.transitive_session_tags),
                "session": e.session.as_json(now, warn) if e.session else None,
            }
            for e in entries
        ]
        print(json.dumps(rows + sso_rows(service) + login_rows(service), indent=2))
    else:
        if not entries and not service.problems() and not service.sso().profiles and not service.login().profiles:
            print(
                _("No role profiles in {path}; add one with role_arn and source_profile.").format(path=cfg.config_path)
            )
        for e in entries:
            none = _("needs MFA") if e.role.mfa_serial else _("no session")
            state = time_left(e.session.left(now)) if e.session else none
            print(f"{e.role.name}\t{e.role.role_arn}\t{state}")
        print_sso_lines(service)
        print_login_lines(service)
    for name, reason in service.problems().items():
        problem = _("profile '{profile}' can't be used: {reason}.").format(profile=name, reason=reason)
        print(f"trayapp: {problem}", file=sys.stderr)
    return 0


def cmd_status(service: Service, args: argparse.Namespace) -> int:
    from trayapp.cli.login import states
    from trayapp.core.errors import TrayappError

    sessions = service.status()  # the credentials file alone: a config file that can't be read stops nothing here
    try:
        logins = states(service)
    except TrayappError as exc:  # the config file (aws login profiles live there): said, the sessions still shown
        print(f"trayapp: {exc}", file=sys.stderr)
        logins = []
    print_status(sessions, service.now(), service.warn_lead(), json_out=args.json, logins=logins)
    return 0


def print_status(
    sessions: list[SessionInfo], now: datetime, warn: timedelta, *, json_out: bool, logins: Sequence[LoginState] = ()
) -> None:
    """What ``trayapp status`` prints (here and when the running tray answered: cli/fast.py); the
    ``aws login`` sign-ins after the sessions (``kind: login``)."""
    from trayapp.cli import login

    if json_out:
        print(json.dumps([s.as_json(now, warn) for s in sessions] + login.status_rows(logins, now), indent=2))
        return
    login.print_status_lines(logins, now, warn)
    if not sessions and not logins:
        print(_("No sessions; assume a role with 'trayapp assume PROFILE'."))
    for s in sessions:
        until = s.expires_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        left = _("{left} (until {until})").format(left=time_left(s.left(now)), until=until)
        print(f"{s.profile}\t{s.session_profile}\t{s.state(now, warn)}\t{left}")
