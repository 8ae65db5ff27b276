"""Whether a text reads, the way botocore reads it, as the change meant.

Before a new text replaces the file it is parsed like botocore parses it and
must hold exactly the expected sections (and the keys written).  configparser's
own messages quote the offending line, which may hold a secret, so only line
numbers are reported.
"""

from __future__ import annotations

import configparser
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from trayapp.core import ini
from trayapp.core.credentials_file.document import DEFAULT, MANAGED_KEY, MANAGED_VALUE
from trayapp.core.errors import CredentialsFileError, UnparsableFile
from trayapp.i18n import _

__all__ = ["nested_ok", "own_items", "parse", "verify", "verify_edit"]

_INDENTED_RE = re.compile(r"[\r\n][^\S\r\n]+\S")


def parse(text: str, path: Path) -> configparser.RawConfigParser:
    """Parse like ``botocore.configloader.raw_config_parse``, with safe messages."""
    parser = configparser.RawConfigParser()
    try:
        # newline=None: universal newlines, as when botocore opens the file.
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.DuplicateSectionError as exc:
        reason = _("line {line} repeats a section header").format(line=exc.lineno)
        raise UnparsableFile(path=path, reason=reason) from None
    except configparser.DuplicateOptionError as exc:
        reason = _("line {line} repeats a key of its section").format(line=exc.lineno)
        raise UnparsableFile(path=path, reason=reason) from None
    except configparser.MissingSectionHeaderError as exc:
        reason = _("line {line} comes before any [section] header").format(line=exc.lineno)
        raise UnparsableFile(path=path, reason=reason) from None
    except configparser.ParsingError as exc:
        numbers = ", ".join(str(number) for number, _line in exc.errors[:5])
        if len(exc.errors) == 1:
            what = _("line {lines} is not a [section], a key = value line or a comment")
        else:
            what = _("lines {lines} is not a [section], a key = value line or a comment")
        raise UnparsableFile(path=path, reason=what.format(lines=numbers)) from None
    except configparser.Error:
        raise UnparsableFile(path=path, reason=_("it is not a valid INI file")) from None
    # botocore also parses a value that starts on the next line as nested
    # keys; such a value needs an indented line, which most files lack.
    if _INDENTED_RE.search(text):
        for section in parser.sections():
            if not all(nested_ok(value) for _key, value in parser.items(section)):
                raise UnparsableFile(path=path, reason=_("an indented line under a key has no '='"))
    return parser


def nested_ok(value: str) -> bool:
    """botocore reads a value that starts on the next line as ``key = value`` lines."""
    return not value.startswith("\n") or all("=" in line for line in value.splitlines() if line.strip())


def own_items(parser: configparser.RawConfigParser, text: str) -> dict[str, dict[str, str]]:
    """Each section's own keys, without those inherited from [DEFAULT]."""
    if not parser.defaults():
        return {s: dict(parser.items(s)) for s in parser.sections()}
    # Re-read with no default section; strict=False merges repeated [DEFAULT]
    # headers the way the first parse (already validated) did.
    plain = configparser.RawConfigParser(default_section="\0", strict=False)
    plain.read_string(text.replace("\r\n", "\n").replace("\r", "\n"))
    return {s: dict(plain.items(s)) for s in plain.sections() if s != DEFAULT}


def _neighbour_changed(path: Path) -> CredentialsFileError:
    return CredentialsFileError(
        path=path, reason=_("the change would alter how a neighbouring section is read; edit the file by hand")
    )


def verify(text: str, expected: list[str], section: str, values: Mapping[str, str] | None, path: Path) -> None:
    """``text`` parses like botocore, holds exactly the expected sections and our keys."""
    plain = ini.parse_plain(text)  # configparser's reading, quicker; None: configparser judges
    parser = parse(text, path) if plain is None else None
    names = list(plain) if plain is not None else parser.sections() if parser is not None else []
    if names != expected:
        raise _neighbour_changed(path)
    if values is not None:
        # A header swallowed as a continuation line would show up in a value.
        wanted = {MANAGED_KEY: MANAGED_VALUE, **values}
        defaults: Mapping[str, str] = {}
        if plain is not None:
            got = plain[section]
        else:
            assert parser is not None
            got = {key: parser.get(section, key) for key in parser.options(section)}
            defaults = parser.defaults()
        if any(got.get(key) != value for key, value in wanted.items()) or not set(got) <= {*wanted, *defaults}:
            raise CredentialsFileError(path=path, reason=_("trayapp could not write the section safely"))


def verify_edit(old: str, new: str, section: str, remove: Iterable[str], add: Mapping[str, str], path: Path) -> None:
    """*new* reads like *old* except for exactly the keys removed from and added to ``[section]``."""
    before = own_items(parse(old, path), old) if old else {}
    after = own_items(parse(new, path), new)
    wanted = {name: dict(items) for name, items in before.items()}
    target = wanted.setdefault(section, {})
    for key in remove:
        target.pop(key, None)
    target.update(add)
    if after != wanted or list(after) != list(wanted):
        raise _neighbour_changed(path)
