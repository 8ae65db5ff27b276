"""The one table of the commands (core/commands.py): what the fast path takes, the parser takes
too, with the same values — so a bad value is never answered by one path and taken by the other."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trayapp.cli import build_parser
from trayapp.core import commands

WORDS = [
    "prod", "dev", "", "-", "--", "-x", "--help", "--json", "--code-stdin", "--code", "--code=",
    "--duration", "--duration=3600", "--shell", "--region", "--co", "--dur",
    "123456", "１２３４５６", "12 34 56", "abcdef", "12345", "1234567",
    "900", "899", "43200", "43201", "3600.5", "-3600", "３６００", "0",
    "eu-west-1", "eu west 1", "123", "-eu-west-1", "fish", "PowerShell", "klingon",
]  # fmt: skip


def parsed(argv: list[str]) -> argparse.Namespace | None:
    """The parser's reading of *argv*, or None when it refuses it (a usage error)."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return build_parser().parse_args(argv)
        except SystemExit:
            return None


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(commands.TABLE)), st.lists(st.sampled_from(WORDS), max_size=5))
def test_what_the_fast_path_takes_the_parser_takes_alike(command: str, words: list[str]) -> None:
    argv = [command, *words]
    request = commands.parse(argv)
    if request is None:
        return  # the parser answers it: one answer
    args = parsed(argv)
    assert args is not None, argv
    if commands.TABLE[command].profile:
        assert request["profile"] == args.profile
    if command == "assume":
        assert request["duration"] == args.duration
        assert request["code_stdin"] == args.code_stdin
        assert (request["code"] is None) == (args.code is None)
        if args.code is not None:
            assert request["code"] == commands.code(args.code)
    if command == "env":
        assert request["region"] == args.region
        assert request["shell"] == (commands.shell(args.shell) if args.shell else None)
    if command == "status":
        assert request["json"] == args.json


@pytest.mark.parametrize(("text", "seconds"), [("900", 900), ("43200", 43200), ("３６００", 3600), (" 3600 ", 3600)])
def test_a_duration_in_bounds_is_taken_as_a_person_types_it(text: str, seconds: int) -> None:
    assert commands.duration(text) == seconds


@pytest.mark.parametrize("text", ["899", "43201", "0", "-900", "3600.5", "an hour", ""])
def test_a_duration_out_of_bounds_is_one_sentence_naming_them(text: str) -> None:
    with pytest.raises(commands.Invalid, match=r"^must be a number of seconds between 900 and 43200$"):
        commands.duration(text)


def test_the_bounds_are_written_once() -> None:
    """Every reader of a session's length uses the table's bounds."""
    from trayapp.core import console, preferences, profiles

    assert (commands.MIN_DURATION, commands.MAX_DURATION) == (900, 43200)
    assert (console.MIN_CONSOLE_SECONDS, console.MAX_CONSOLE_SECONDS) == (commands.MIN_DURATION, commands.MAX_DURATION)
    assert (profiles.MIN_DURATION, profiles.MAX_DURATION) == (commands.MIN_DURATION, commands.MAX_DURATION)
    with pytest.raises(ValueError):
        preferences.KEYS["duration"][1](str(commands.MAX_DURATION + 1))
