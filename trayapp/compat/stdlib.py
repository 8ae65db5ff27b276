"""The standard library's private names and implementation details trayapp relies on.

Importable from any process (the core's rules apply: no GUI toolkit).
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Callable
from typing import Any

from trayapp.compat import Private

_ARGPARSE = (
    "https://github.com/python/cpython/issues/144932 (a public way to reach a parser's actions and sub-parsers: open)"
)
_EXPAND = "no upstream issue found (expandvars/expanduser take no environment)"

PRIVATE: tuple[Private, ...] = (
    *(
        Private(
            module,
            function,
            "reads",
            "expand a path with another environment: the function's own code is run with an `os` "
            "whose environ is that environment",
            _EXPAND,
            ("os",),
        )
        for module in ("posixpath", "ntpath")
        for function in ("expandvars", "expanduser")
    ),
    Private(
        "argparse", "_ActionsContainer._actions", "self", "shell completion lists each parser's actions", _ARGPARSE
    ),
    Private("argparse", "_SubParsersAction", "attr", "shell completion finds the sub-commands", _ARGPARSE),
    Private(
        "argparse",
        "_SubParsersAction._choices_actions",
        "self",
        "shell completion shows each sub-command's help",
        _ARGPARSE,
    ),
)


def with_globals(function: Callable[..., Any], scope: dict[str, Any]) -> Callable[..., Any]:
    """*function*'s own code, looking its globals up in *scope* instead of its module."""
    return types.FunctionType(
        function.__code__,
        scope,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )


def parser_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Every action of *parser*, in the order they were added."""
    return list(parser._actions)


def subparsers_action(parser: argparse.ArgumentParser) -> Any:
    """*parser*'s sub-commands (``add_subparsers()``'s result): ``.choices`` maps name → parser."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def subcommand_helps(sub: Any) -> dict[str, str]:
    """Each sub-command's ``help=`` text, by name."""
    return {a.dest: a.help or "" for a in sub._choices_actions}
