"""The one door to other libraries' insides.

Every private name of pystray, botocore and the standard library that trayapp touches is
reached through this package, and nowhere else: :mod:`trayapp.compat.pystray` (the tray
process only), :mod:`trayapp.compat.botocore` and :mod:`trayapp.compat.stdlib` (any process
that may import the core).  Each module lists what it touches in ``PRIVATE``, with why and
the upstream issue (or "no upstream issue found"); ``tests/test_compat.py`` checks every
entry against the installed libraries, so an upgrade that renames one fails in CI, not on a
user's machine.  ``pyproject.toml`` bounds pystray and botocore to the versions checked.

This package imports nothing of trayapp outside itself, and none of the libraries it
describes at import time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["MODULES", "Private", "registry"]

#: What a :class:`Private` entry promises, checked by ``tests/test_compat.py``:
#: ``attr``   — ``module.name`` exists (a module attribute, or a class attribute/method);
#: ``self``   — the class ``name.split(".")[0]`` in *module*'s source defines the method, or
#:              assigns ``self.<attribute>`` (an instance attribute set by pystray's ``__init__``);
#:              *detail*, when not None, is the method's parameters after ``self``;
#: ``module`` — *module* exists (a private module whose name trayapp reads);
#: ``reads``  — the function ``module.name`` looks up each global in *detail* when called;
#: ``uses``   — *module*'s source still spells out the dotted *name* where it uses it (looked up
#:              then, not bound at import, so a replacement of that module attribute is seen).
KINDS = ("attr", "self", "module", "reads", "uses")

#: The compat modules, each with a ``PRIVATE`` tuple.
MODULES = ("botocore", "pystray", "stdlib")


@dataclass(frozen=True)
class Private:
    """One private name of another library that trayapp relies on."""

    module: str
    name: str
    kind: str
    why: str
    upstream: str
    detail: tuple[str, ...] | None = None


def registry() -> list[Private]:
    """Every entry of every compat module (importing them imports none of the libraries)."""
    entries: list[Private] = []
    for name in MODULES:
        entries.extend(importlib.import_module(f"trayapp.compat.{name}").PRIVATE)
    return entries
