"""Names for profiles made from a directory (IAM Identity Center): safe, and never an existing one.

The names and ids come from a server, so nothing of them reaches the config file unchecked: an
account id must be 12 ASCII digits and a role name IAM's characters (else the entry is skipped), and
a profile name is made of ``a-z``, ``0-9`` and ``-`` only (accents folded, everything else a dash,
at most :data:`NAME_MAX` characters) — no ``]``, line break, comment mark, space or control
character can reach a section header.

A new name must differ from every name botocore could read out of the config and credentials files,
compared as botocore compares them and then some: a ``[profile NAME]`` header is split like
botocore splits it (``shlex``: ``[profile  "x"]`` is profile ``x``), ``[default]`` is ``default``,
and every word of every header (sso-sessions, services…) counts as taken, compared case-folded and
NFKC-normalised.  A name ``N-session`` next to a profile ``N`` (or the other way round) is taken
too: ``[N-session]`` is where trayapp writes N's keys.  A taken name becomes
``<name>-<account id>``, then ``<name>-<account id>-2`` … ``-20``; past that the entry is skipped.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Iterable
from typing import TypeGuard

from trayapp.core.sessions import SESSION_SUFFIX, session_name
from trayapp.core.sso_config import _ACCOUNT, _ROLE_NAME  # one definition of a valid id and role

__all__ = ["NAME_MAX", "NameBook", "readable_name", "shown", "valid_account_id", "valid_role_name"]

#: The longest readable part of a generated profile name (a suffix may follow).
NAME_MAX = 64
_SUFFIXES = 20
_SHOWN_MAX = 60
_NOT_NAME = re.compile(r"[^a-z0-9]+")


def valid_account_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _ACCOUNT.fullmatch(value) is not None


def valid_role_name(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _ROLE_NAME.fullmatch(value) is not None


def shown(value: object) -> str:
    """*value* as it may appear in a sentence: no control or format characters, spaces collapsed,
    at most a few dozen characters."""
    text = str(value)[: _SHOWN_MAX * 4] if isinstance(value, str) else repr(value)[: _SHOWN_MAX * 4]
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text[: NAME_MAX * 4])
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return _NOT_NAME.sub("-", plain).strip("-")


def readable_name(account_id: str, account_name: str, role_name: str) -> str:
    """``production-admin``: the account's name and the role, lower case, dashes; the account id
    stands in for a name with nothing readable left."""
    role = _ascii(role_name)[: NAME_MAX // 2].rstrip("-")
    name = (_ascii(account_name) or account_id)[: NAME_MAX - len(role) - 1].rstrip("-")
    return f"{name}-{role}".strip("-")


def key(name: str) -> str:
    """What two names share when botocore (or a person) could take one for the other."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _words(header: str) -> list[str]:
    try:
        words = shlex.split(header)
    except ValueError:  # botocore ignores such a header; its words are still kept away from
        words = header.replace('"', " ").replace("'", " ").split()
    return [header, *words]


class NameBook:
    """The names already in use, and each new one as it is handed out."""

    def __init__(self, config_sections: Iterable[str], credential_profiles: Iterable[str] = ()) -> None:
        self._taken: set[str] = set()
        for header in config_sections:
            self._taken.update(key(word) for word in _words(header))
        self._taken.update(key(name) for name in credential_profiles)

    def free(self, name: str) -> bool:
        if key(name) in self._taken or key(session_name(name)) in self._taken:
            return False
        stem = name.removesuffix(SESSION_SUFFIX)
        return stem == name or key(stem) not in self._taken

    def take(self, account_id: str, base: str) -> str | None:
        """A free name from *base* (then with the account id), now taken; None if none is free."""
        candidates = [base, f"{base}-{account_id}"] + [f"{base}-{account_id}-{n}" for n in range(2, _SUFFIXES + 1)]
        for name in candidates:
            if self.free(name):
                self._taken.add(key(name))
                return name
        return None
