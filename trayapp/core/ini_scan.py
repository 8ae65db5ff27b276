"""configparser's line rules for the AWS files, written once.

botocore reads the AWS files with a default ``configparser.RawConfigParser``
(``botocore.configloader.raw_config_parse``).  trayapp reads them itself in two
places, and both follow ``RawConfigParser._read`` through :func:`scan`:
:func:`trayapp.core.ini.parse_plain` (the fast reading of a plain file, for
botocore's sessions and ``trayapp list``) and the credentials file's scanner
(which also needs each section's line numbers, to splice text).

The rules, line by line:

* a line that is blank once stripped, or starts with ``#`` or ``;``, is skipped
  (``empty_lines_in_values``: a blank line does not end a value);
* an indented line after a key, indented more than that key, continues its value;
* otherwise a line matching ``SECTCRE`` once stripped is a header (section
  names are case-sensitive);
* otherwise ``key = value`` or ``key: value``, split at the first delimiter as
  ``OPTCRE`` does: the key loses its trailing white space and is lowered, the
  value is stripped; a line without a delimiter or key is not valid.

``tests/test_ini.py`` and ``tests/test_credentials_file.py`` compare both
readings with configparser's on many generated files.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["DEFAULT", "SECTCRE", "Section", "lines", "scan", "scan_plain"]

SECTCRE = configparser.RawConfigParser.SECTCRE
DEFAULT = configparser.DEFAULTSECT


@dataclass(slots=True)
class Section:
    name: str
    header: int  # index of the header line
    end: int  # index one past the last key/continuation line (>= header + 1)
    own: dict[str, str] = field(default_factory=dict)
    valid: bool = True  # False if a line in it is not a key, value or comment, or repeats a key
    #: ``(key, first line, one past its last line)`` of each key, for the section :func:`scan` details.
    spans: list[tuple[str, int, int]] | None = None


def lines(text: str, chunk: int = 1 << 20) -> Iterator[str]:
    """``text.split("\\n")``, a megabyte at a time (a large file's lines are never all held at once)."""
    start = 0
    while True:
        end = text.find("\n", start + chunk)
        if end < 0:
            yield from text[start:].split("\n")
            return
        yield from text[start:end].split("\n")
        start = end + 1


def scan(contents: Iterable[str], detail: str | None = None) -> list[Section]:
    """The sections of the text whose lines (without their line breaks) are *contents*.

    Keys and values are collected only for the section named *detail*, with the
    lines each key spans (or, without spans, for every section if *detail* is
    None), which keeps a 1,000-section file fast.  Nothing is refused: a line
    before any header is skipped, a section with a line that is not a key, or a
    repeated key, is marked not ``valid``, a repeated header is a second section.
    """
    found = _scan(contents, detail, plain=False)
    assert found is not None  # only the plain reading gives up
    return found[0]


def scan_plain(contents: Iterable[str]) -> dict[str, dict[str, str]] | None:
    """``{section: {key: value}}``, or None at the first line outside the plain shape.

    The plain shape: no indented line other than a comment (it may be a
    continuation or a nested value, which only configparser's own rules
    settle), no ``[DEFAULT]`` or repeated header, no line before the first
    header, every other line a key that its section doesn't have yet.
    """
    found = _scan(contents, None, plain=True)
    return None if found is None else found[1]


def _scan(
    contents: Iterable[str], detail: str | None, *, plain: bool
) -> tuple[list[Section], dict[str, dict[str, str]]] | None:
    """The sections (not *plain*), or the keys of each section (*plain*: None when it isn't).

    One loop for both, kept tight: a plain reading of a 100,000-section file is
    on the path of ``trayapp list``.
    """
    sections: list[Section] = []
    plain_sections: dict[str, dict[str, str]] = {}
    current: Section | None = None
    end = 0  # the current section's last key or continuation line, stored as the section closes
    own: dict[str, str] | None = None  # the keys of the current section, if they are collected
    spans: list[tuple[str, int, int]] | None = None
    optname: str | None = None
    indent_level = 0
    keys: dict[str, str] = {}  # one string object per key name, shared by all sections
    sectcre_match = SECTCRE.match
    for index, line in enumerate(contents):
        value = line.strip()
        if not value:
            continue  # empty_lines_in_values: a blank line does not end a value
        first = value[0]
        if first == "#" or first == ";":
            continue
        if line[0] == first:
            indent_level = 0
        else:  # indented
            if plain:
                return None  # a continuation or a nested value, configparser's to judge
            indent = len(line) - len(line.lstrip())
            if optname and indent > indent_level:
                end = index  # continuation of the value
                if own is not None:
                    own[optname] += "\n" + value
                    if spans:
                        key, start, _end = spans[-1]
                        spans[-1] = (key, start, index + 1)
                continue
            indent_level = indent
        if first == "[":
            header = sectcre_match(value)
            if header is not None:
                name = header.group("header")
                optname = None
                if plain:
                    if name in plain_sections or name == DEFAULT:
                        return None
                    own = plain_sections[name] = {}
                    continue
                if current is not None:
                    current.end = end + 1
                end = index
                own = spans = None
                if detail is None or name == detail:
                    own = {}
                    if detail is not None:
                        spans = []
                current = Section(name, index, index + 1, {} if own is None else own, True, spans)
                sections.append(current)
                continue
        if own is None:
            if plain:
                return None  # a key before any header: configparser's error
            if current is not None:  # else a line before any header: the parser check reports it
                end = index
                optname = "?"  # only truthiness matters outside a section whose keys are collected
            continue
        end = index
        # OPTCRE, ``(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$``, splits at the first delimiter.
        equals, colon = value.find("="), value.find(":")
        cut = colon if equals < 0 or 0 <= colon < equals else equals
        key = value[:cut].rstrip().lower() if cut >= 0 else ""
        if not key or key in own:
            if plain:
                return None
            assert current is not None
            current.valid = False
            if not key:
                continue
        optname = keys.setdefault(key, key)
        own[optname] = value[cut + 1 :].strip()
        if spans is not None:
            spans.append((optname, index, index + 1))
    if current is not None:
        current.end = end + 1
    return sections, plain_sections
