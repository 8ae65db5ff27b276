"""`trayapp sso login|logout|status`: IAM Identity Center sign-ins, shared with the AWS CLI and SDKs;
and `trayapp assume` of an SSO profile (its keys written as ``[<profile>-session]``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from trayapp.cli.common import Subparsers
from trayapp.core.sessions import time_left
from trayapp.i18n import _, ngettext

if TYPE_CHECKING:
    from trayapp.core.service import Service
    from trayapp.core.sso import SsoSignIns
    from trayapp.core.sso_config import SsoConfig, SsoSession
    from trayapp.core.sso_directory import Directory


def register(sub: Subparsers) -> None:
    p = sub.add_parser("sso", help=_("sign in to IAM Identity Center (SSO), sign out, show the sign-ins"))
    commands = p.add_subparsers(title=_("commands"), metavar="COMMAND", required=True)
    login = commands.add_parser("login", help=_("sign in in the browser (or refresh the sign-in)"))
    login.add_argument("session", metavar="SESSION", nargs="?", help=_("an sso-session name or an SSO profile"))
    login.add_argument(
        "--device-code", action="store_true", help=_("confirm a code on a page instead of a browser on this computer")
    )
    login.set_defaults(func=cmd_login)
    logout = commands.add_parser(
        "logout", help=_("sign out: the cached sign-in, its profiles' sessions and the AWS CLI's cached keys")
    )
    which = logout.add_mutually_exclusive_group()
    which.add_argument("session", metavar="SESSION", nargs="?", help=_("an sso-session name or an SSO profile"))
    which.add_argument("--all", action="store_true", help=_("sign out of every sign-in, as 'aws sso logout' does"))
    logout.set_defaults(func=cmd_logout)
    profiles = commands.add_parser("profiles", help=_("list every account and role the sign-in can use as profiles"))
    profiles.add_argument("session", metavar="SESSION", nargs="?", help=_("an sso-session name or an SSO profile"))
    profiles.add_argument(
        "--write", action="store_true", help=_("append the missing profiles to the config file (none is changed)")
    )
    profiles.set_defaults(func=cmd_profiles)
    status = commands.add_parser("status", help=_("show each sign-in and the time it has left"))
    status.add_argument("--json", action="store_true", help=_("print JSON"))
    status.set_defaults(func=cmd_status)


def sso_config(service: Service) -> SsoConfig:
    return service.sso()


def sign_ins(service: Service) -> SsoSignIns:
    from trayapp.core.sso import sign_ins

    return sign_ins(service)


def cmd_login(service: Service, args: argparse.Namespace) -> int:
    session = sso_config(service).session(args.session)
    token, outcome = sign_ins(service).ensure(session, interactive=True, device=args.device_code or None, asked=True)
    left = time_left(token.expires_at - service.now())
    messages = {
        "valid": _("Already signed in to '{session}' ({left})."),
        "refreshed": _("Refreshed the sign-in to '{session}' ({left})."),
        "signed-in": _("Signed in to '{session}' ({left})."),
        "ending": _("Already signed in to '{session}' ({left})."),
    }
    print(messages[outcome].format(session=session.name, left=left))
    return 0


def cmd_logout(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core import sso_logout

    session = None if args.all else sso_config(service).session(args.session)
    for sentence in sso_logout.sign_out(service, session):
        print(sentence)
    return 0


def cmd_profiles(service: Service, args: argparse.Namespace) -> int:
    from trayapp.core import sso_directory

    config = sso_config(service)
    session = config.session(args.session)
    directory = _assignments(service, session)
    for sentence in directory.skipped:
        print(f"trayapp: {sentence}", file=sys.stderr)
    if not args.write:
        plan = sso_directory.missing_profiles(service.config(), config, session, directory.assignments)
        for sentence in plan.skipped:
            print(f"trayapp: {sentence}", file=sys.stderr)
        print(sso_directory.as_text(plan.sections), end="")
        if not plan.sections:
            print(_("Every account and role of '{session}' has a profile already.").format(session=session.name))
        return 0
    written, skipped, notes = sso_directory.write(service.config(), config, session, directory.assignments)
    for sentence in [*skipped, *notes]:
        print(f"trayapp: {sentence}", file=sys.stderr)
    path = service.config().config_path
    if written:
        added = ngettext(
            "Added {count} profile to {path}: {names}.", "Added {count} profiles to {path}: {names}.", len(written)
        )
        print(added.format(count=len(written), path=path, names=", ".join(written)))
    else:
        print(_("Every account and role of '{session}' has a profile already.").format(session=session.name))
    return 0


def _assignments(service: Service, session: SsoSession) -> Directory:
    """The directory's accounts and roles; no network, throttled, refused or nonsense: one sentence."""
    from trayapp.core import errors, sso_directory, sso_wire

    signins = sign_ins(service)
    portal = sso_directory.listing_client(session.region)

    def refused(code: str) -> errors.TrayappError:
        if code == "UnauthorizedException":
            return errors.SsoSignedOut(session=session.name)
        return errors.SsoRefused(profile=session.name, code=code)

    with sso_wire.plain_errors(portal, refused):
        return sso_directory.assignments(signins, session, portal=portal)


def cmd_status(service: Service, args: argparse.Namespace) -> int:
    config, signins, now = sso_config(service), sign_ins(service), service.now()
    states = [signins.state(session) for session in config.sessions.values()]
    if args.json:
        rows = [
            state.as_json(now) | {"profiles": [p.name for p in config.profiles_of(config.sessions[state.session])]}
            for state in states
        ]
        print(json.dumps(rows, indent=2))
    else:
        if not states:
            print(_("No IAM Identity Center sign-ins in {path}.").format(path=service.config().config_path))
        for state in states:
            if state.signed_in and state.expires_at is not None:
                text = _("signed in, {left}").format(left=time_left(state.expires_at - now))
            else:
                text = _("signed out")
            print(f"{state.session}\t{text}")
    _print_problems(config)
    return 0


def sso_rows(service: Service) -> list[dict[str, object]]:
    """``trayapp list --json``'s rows for SSO profiles (``kind: sso``); problems go to stderr."""
    config, signins, now, warn = sso_config(service), sign_ins(service), service.now(), service.warn_lead()
    sessions, states = service.sessions(), {}
    rows: list[dict[str, object]] = []
    for profile in config.profiles.values():
        session = profile.session
        if session.name not in states:
            states[session.name] = signins.state(session)
        written = sessions.get(profile.name)
        rows.append(
            {
                "profile": profile.name,
                "kind": "sso",
                "role_arn": profile.role_arn,
                "sso_session": session.name,
                "start_url": session.start_url,
                "account_id": profile.account_id,
                "role_name": profile.role_name,
                "region": profile.region or session.region,
                "signed_in": states[session.name].signed_in,
                "session": written.as_json(now, warn) if written else None,
            }
        )
    _print_problems(config)
    return rows


def print_sso_lines(service: Service) -> None:
    """``trayapp list``'s lines for SSO profiles: the session's time left, else the sign-in's state."""
    now = service.now()
    for row in sso_rows(service):
        written = row["session"]
        if isinstance(written, dict):
            state = time_left(service.sessions()[str(row["profile"])].left(now))
        elif row["signed_in"]:
            state = _("{session}: signed in").format(session=row["sso_session"])
        else:
            state = _("{session}: signed out").format(session=row["sso_session"])
        print(f"{row['profile']}\t{row['role_arn']}\t{state}")


def _print_problems(config: SsoConfig) -> None:
    for name, reason in config.problems.items():
        problem = _("profile '{profile}' can't be used: {reason}.").format(profile=name, reason=reason)
        print(f"trayapp: {problem}", file=sys.stderr)
