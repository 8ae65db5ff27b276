"""`trayapp exec PROFILE -- COMMAND…`: COMMAND runs with the session's keys in its environment.

The habit of ``aws-vault exec prod -- terraform plan``: the session is assumed first when it is
missing or nearly over (the dialog, the terminal, or ``--code-stdin`` from a process that supplies
the code), then trayapp becomes COMMAND (``os.execvpe`` on POSIX), so COMMAND's exit status and
signals are trayapp's.  The keys travel in the environment only, never on a command line, and
``AWS_PROFILE``/``AWS_DEFAULT_PROFILE`` and any stale keys are removed so no SDK prefers them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from trayapp.cli.common import Subparsers, add_region, choose_prompt, duration_help, given_code, seconds
from trayapp.core import errors
from trayapp.core.reasons import os_reason
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service
    from trayapp.core.sts import Credentials

#: A cached session with less than this left is renewed before COMMAND gets it.
EXEC_MIN_LEFT = timedelta(minutes=5)
#: Set in COMMAND's environment (as aws-vault sets AWS_VAULT): which profile's session it holds.
MARKER = "TRAYAPP_PROFILE"
#: Removed from COMMAND's environment: they would pick other credentials or a stale session.
REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_EB_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CREDENTIAL_PROCESS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    MARKER,
)


class NestedSession(errors.UsageError):
    template = (
        "AWS_SESSION_TOKEN is already set in this environment for another role's session ({where}); "
        "leave that shell (or run 'unset AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY') "
        "and run trayapp exec from a clean one."
    )


class CommandNotFound(errors.TrayappError):
    exit_code = 127
    template = "The command '{command}' was not found on PATH."


class CommandNotRunnable(errors.TrayappError):
    exit_code = 126
    template = "The command '{command}' can't be run: {reason}."


class _ExecParser(argparse.ArgumentParser):
    """``exec``'s parser, which also keeps the words it was given: argparse lets PROFILE swallow
    the ``--`` after it, and then ``exec prod -- -v`` (run ``-v``) can't be told from
    ``exec prod -v`` (an option) without them."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        parsed.exec_words = list(args) if args is not None else sys.argv[1:]
        return parsed, extras


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "exec",
        help=_("run COMMAND with PROFILE's session keys in its environment (assuming first when needed)"),
        usage="%(prog)s PROFILE [--region REGION] [--duration SECONDS] [--code-stdin | --code CODE]"
        " -- COMMAND [ARG ...]",
    )
    p.add_argument("profile", metavar="PROFILE")
    add_options(p)
    # Everything after PROFILE: options (parsed again in cmd_exec), then '--' and the command.
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARG ...]", help=_("the command to run"))
    p.set_defaults(func=cmd_exec)
    p.__class__ = _ExecParser


def add_options(p: argparse.ArgumentParser) -> None:
    add_region(p, _("AWS_REGION and AWS_DEFAULT_REGION for COMMAND (default: the profile's region)"))
    p.add_argument(
        "--duration",
        type=seconds,
        metavar="SECONDS",
        help=duration_help(_("session length if one is assumed, {low}-{high} s")),
    )
    codes = p.add_mutually_exclusive_group()
    codes.add_argument(
        "--code-stdin", action="store_true", help=_("read the MFA code from the first line of standard input")
    )
    codes.add_argument("--code", metavar="CODE", help=_("the MFA code (visible to other users in the process list)"))


def split_command(args: argparse.Namespace) -> list[str]:
    """The command after ``--``; options between PROFILE and ``--`` are parsed into *args*."""
    rest = list(args.command)
    words = list(getattr(args, "exec_words", rest))
    head: list[str] = []
    command = rest
    if "--" in words:  # the command is everything after the first '--', whatever it looks like
        command = words[words.index("--") + 1 :]
        head = rest[: len(rest) - len(command)]
        if head and head[-1] == "--":
            head.pop()
    elif rest and rest[0].startswith("-"):  # options after PROFILE and no command
        head, command = rest, []
    if head:
        parser = argparse.ArgumentParser(prog="trayapp exec PROFILE", add_help=False)
        add_options(parser)
        parser.parse_args(head, namespace=args)
    return command


def cmd_exec(service: Service, args: argparse.Namespace) -> int:
    command = split_command(args)
    if command and not command[0]:
        raise errors.UsageError(
            reason=_("The command to run is empty: name it after '--', e.g. trayapp exec prod -- aws s3 ls.")
        )
    if not command:
        raise errors.UsageError(reason=_("Name the command to run after '--', e.g. trayapp exec prod -- aws s3 ls."))
    if args.code is not None:
        args.code = given_code(args.code)  # refused at once, whether or not a session is assumed
    check_nesting(service, args.profile, os.environ)
    creds, expires = session_for(service, args)
    region = args.region or service.session_region(args.profile)
    env = child_environment(os.environ, args.profile, creds, expires, region)
    return run(command, env)


def check_nesting(service: Service, profile: str, environ: Mapping[str, str]) -> None:
    """Refuse to run inside another role's session: its keys would be what the user meant to leave."""
    token = environ.get("AWS_SESSION_TOKEN")
    if not token:
        return
    try:
        current, _expires = service.session_credentials(profile)
    except errors.NoSession:
        current = None
    if current is not None and current.session_token == token:
        return  # the same role's session: nesting changes nothing
    inside = environ.get(MARKER)
    where = (
        _("trayapp exec {profile}").format(profile=inside)
        if inside and inside != profile
        else _("exported keys or an earlier 'trayapp env'")
    )
    raise NestedSession(where=where)


def session_for(service: Service, args: argparse.Namespace) -> tuple[Credentials, datetime]:
    """The valid session's keys, assuming the role first when it is missing or nearly over."""
    try:
        return service.session_credentials(args.profile, EXEC_MIN_LEFT)
    except errors.NoSession:
        pass
    if args.code_stdin:
        args.code, args.code_stdin = read_code_line(), False
    result = service.assume(args.profile, choose_prompt(args, args.profile, service), duration=args.duration)
    for note in result.notes:
        print(f"trayapp: {note}", file=sys.stderr)
    return service.session_credentials(args.profile)


def read_code_line(fd: int = 0) -> str:
    """The first line of *fd*, read a byte at a time: the rest of standard input is COMMAND's."""
    data = bytearray()
    while len(data) < 256:
        chunk = os.read(fd, 1)
        if not chunk or chunk == b"\n":
            break
        data += chunk
    return data.decode("utf-8", "replace")


def child_environment(
    environ: Mapping[str, str], profile: str, creds: Credentials, expires: datetime, region: str
) -> dict[str, str]:
    """*environ* without other credentials or profiles, plus the session's keys and region."""
    env: MutableMapping[str, str] = {k: v for k, v in environ.items() if k.upper() not in REMOVED}
    env.update(
        AWS_ACCESS_KEY_ID=creds.access_key_id,
        AWS_SECRET_ACCESS_KEY=creds.secret_access_key,
        AWS_SESSION_TOKEN=creds.session_token or "",
        AWS_CREDENTIAL_EXPIRATION=expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
    )
    env[MARKER] = profile
    return dict(env)


def run(command: list[str], env: dict[str, str]) -> int:
    """Become *command* (POSIX), or run it and hand back its exit status (Windows)."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if os.name == "posix":
            os.execvpe(command[0], command, env)
        return subprocess.call(command, env=env)
    except FileNotFoundError:
        raise CommandNotFound(command=command[0]) from None
    except OSError as exc:
        raise CommandNotRunnable(command=command[0], reason=os_reason(exc)) from None
    except ValueError:  # a NUL byte in a word
        raise CommandNotRunnable(command=command[0], reason=_("a word of it holds a NUL byte")) from None
