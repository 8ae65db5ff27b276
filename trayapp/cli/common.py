"""What the commands share: the prompt a command asks with, export lines, argument types."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trayapp.core import tk_check
from trayapp.core.prompts import CodeOnce, MfaPrompt, NoPrompt, TerminalPrompt, has_display
from trayapp.i18n import _

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


def choose_prompt(args: argparse.Namespace, profile: str) -> MfaPrompt:
    if args.code is not None:
        return CodeOnce(args.code)
    if args.code_stdin:
        return CodeOnce(sys.stdin.readline())
    from trayapp.core.code_sources import SourcedPrompt  # mfa_process or a YubiKey first, then ask

    if has_display() and (tk_check.problem() is None or not sys.stdin.isatty()):
        # Without Tk a terminal asks instead; with no terminal either, the dialog's TkMissing says why.
        from trayapp.tray.dialog_prompt import DialogPrompt

        return SourcedPrompt(DialogPrompt())
    if sys.stdin.isatty():
        return SourcedPrompt(TerminalPrompt(), interactive=True)
    return SourcedPrompt(NoPrompt(), interactive=False)


def export_line(name: str, value: str) -> str:
    """``export NAME=value`` in the user's shell (POSIX when the value can't be written in it)."""
    from trayapp.core import shell as shells

    try:
        return shells.set_line(name, value, shells.detect())
    except ValueError:
        return shells.set_line(name, value, shells.POSIX)


def seconds(text: str) -> int:
    from trayapp.core.typed import typed_int

    try:
        seconds = typed_int(text)  # ３６００ from an input method is 3600
    except ValueError:
        seconds = 0
    if not 900 <= seconds <= 43200:
        raise argparse.ArgumentTypeError(_("must be a number of seconds between 900 and 43200"))
    return seconds


def region(text: str) -> str:
    """``--region R``: a region name botocore accepts, checked as a profile's ``region`` is."""
    from trayapp.core.profiles import region_problem

    value = text.strip()
    problem = region_problem(value, _("the region"))
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_region(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--region", type=region, metavar="REGION", help=what)


def shown(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(value) or _("(none)")
    return str(value)
