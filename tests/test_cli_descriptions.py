"""Every command says what it does in its own ``--help``: ``trayapp demo --help`` had no description."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from trayapp.cli import build_parser
from trayapp.compat.stdlib import parser_actions


def commands(parser: argparse.ArgumentParser, path: str = "trayapp") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every sub-command's parser, sub-commands of sub-commands too, by its full name."""
    for action in parser_actions(parser):
        if isinstance(action.choices, dict):
            for name, child in action.choices.items():
                yield f"{path} {name}", child
                yield from commands(child, f"{path} {name}")


def test_every_command_has_a_one_line_description() -> None:
    found = dict(commands(build_parser()))
    assert {"trayapp demo", "trayapp sso login", "trayapp keys rotate"} <= found.keys()
    missing = [name for name, parser in found.items() if not (parser.description or "").strip()]
    assert missing == [], f"no description in --help: {missing}"


@pytest.mark.integration
def test_demo_help_opens_with_what_the_demo_does() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "trayapp", "demo", "--help"], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    usage, description = shown.stdout.split("\n\n")[:2]
    assert usage.startswith("usage: trayapp demo")
    assert description == "Try the tray against a local STS stand-in and throwaway profiles"
