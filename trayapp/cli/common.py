"""What the commands share: the prompt a command asks with, export lines, argument types."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trayapp.core import commands, errors, tk_check
from trayapp.core.prompts import CodeOnce, MfaPrompt, NoPrompt, TerminalPrompt, has_display
from trayapp.i18n import _

if TYPE_CHECKING:
    from trayapp.core.service import Service

#: Each command module's ``register(sub)`` adds its subcommand(s) to the parser.
Subparsers = Any


def describe_commands(parser: argparse.ArgumentParser) -> None:
    """Give every command, sub-commands' too, a description for its ``--help``: the one line the
    command list shows (its ``help=``), unless it has a description of its own."""
    from trayapp.compat.stdlib import parser_actions, subcommand_helps

    for action in parser_actions(parser):
        if not isinstance(action.choices, dict):  # only sub-commands map names to parsers
            continue
        helps = subcommand_helps(action)
        for name, child in action.choices.items():
            line = helps.get(name, "")
            if not child.description and line and line != argparse.SUPPRESS:
                child.description = line[:1].upper() + line[1:]
            describe_commands(child)


def given_code(text: str) -> str:
    """A code given with ``--code`` or ``--code-stdin``, checked as on every path
    (:func:`trayapp.core.commands.code`): a malformed one is refused (``InvalidCode``) whether or
    not the role will need it."""
    return commands.code(text)


def choose_prompt(args: argparse.Namespace, profile: str, service: Service | None = None) -> MfaPrompt:
    """Who gives *profile*'s MFA code: the one given, else a code source, the dialog, the terminal.
    With nobody at all (no code, no display, no terminal) and a *service* to ask, a profile that
    would need a person is refused at once, before any AWS call: a caller such as an SDK running
    ``credential-process`` sees the sentence now, not after the engine's start."""
    if args.code is not None:
        return CodeOnce(given_code(args.code))
    if args.code_stdin:
        return CodeOnce(given_code(sys.stdin.readline()))
    from trayapp.core.code_sources import SourcedPrompt, ykman_path  # mfa_process or a YubiKey first

    if has_display() and (tk_check.problem() is None or not sys.stdin.isatty()):
        # Without Tk a terminal asks instead; with no terminal either, the dialog's TkMissing says why.
        from trayapp.tray.dialog_prompt import DialogPrompt

        return SourcedPrompt(DialogPrompt())
    if sys.stdin.isatty():
        return SourcedPrompt(TerminalPrompt(), interactive=True)
    if service is not None and ykman_path() is None:
        waiting = needs_a_person(service, profile)
        if waiting is not None:
            raise errors.NoPrompt(profile=waiting)
    return SourcedPrompt(NoPrompt(), interactive=False)


def needs_a_person(service: Service, profile: str) -> str | None:
    """The profile of *profile*'s chain whose MFA code only a person could give now (no MFA
    session to sign with, no ``mfa_process``), or None.  Sign-ins (IAM Identity Center) say so
    themselves (``SsoNobodyToAsk``)."""
    roles = service.config().roles
    seen: set[str] = set()
    name: str | None = profile
    while name is not None and name in roles and name not in seen:
        seen.add(name)
        if service.can_renew_silently(name):
            return None
        role = roles[name]
        if role.mfa_serial is not None and role.mfa_process is None:
            return name
        name = role.source_profile
    return None


def export_line(name: str, value: str) -> str:
    """``export NAME=value`` in the user's shell (POSIX when the value can't be written in it)."""
    from trayapp.core import shell as shells

    try:
        return shells.set_line(name, value, shells.detect())
    except ValueError:
        return shells.set_line(name, value, shells.POSIX)


#: ``--duration SECONDS`` and ``--region R``: the checks of :mod:`trayapp.core.commands`, which the
#: fast path and the tray's channel use too.
seconds = commands.argparse_type(commands.duration)
region = commands.argparse_type(commands.region)


def duration_help(what: str) -> str:
    """*what* (a sentence with ``{low}`` and ``{high}``) with the bounds of a session's length."""
    return what.format(low=commands.MIN_DURATION, high=commands.MAX_DURATION)


def add_region(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--region", type=region, metavar="REGION", help=what)


def shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(value) or _("(none)")
    return str(value)
