"""A credentials file's text as lines and sections, read the way botocore reads it.

A section's boundaries must agree with how botocore reads the file: the rules
are :mod:`trayapp.core.ini_scan`'s, shared with :func:`trayapp.core.ini.parse_plain`.
Each line is kept with its own line ending (CRLF, LF or CR), so a text split
here joins back to exactly the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from trayapp.core import ini_scan
from trayapp.core.ini_scan import DEFAULT, Section

__all__ = [
    "DEFAULT",
    "MANAGED_KEY",
    "MANAGED_VALUE",
    "Doc",
    "Section",
    "dominant_newline",
    "eol",
    "managed_only",
    "scan",
    "section_names",
    "split",
]

#: The key that marks a section trayapp wrote (and may replace or remove).
MANAGED_KEY = "trayapp_managed"
MANAGED_VALUE = "1"

LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass
class Doc:
    lines: list[str]  # each with its line ending ("" for a last line without one)
    contents: list[str]  # the same lines without their endings
    sections: list[Section]
    newline: str  # the dominant line ending

    @property
    def text(self) -> str:
        return "".join(self.lines)


def split(text: str) -> tuple[list[str], list[str]]:
    """The lines of *text* with their line endings, and without."""
    if "\r" not in text:
        contents = text.split("\n")
        if contents[-1] == "":
            contents.pop()
            lines = [c + "\n" for c in contents]
        else:
            lines = [c + "\n" for c in contents]
            lines[-1] = contents[-1]
        return lines, contents
    lines = LINE_RE.findall(text)
    return lines, [line.rstrip("\r\n") for line in lines]


def dominant_newline(text: str) -> str:
    if "\r" not in text:
        return "\n"
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    cr = text.count("\r") - crlf
    if crlf > lf and crlf >= cr:
        return "\r\n"
    if cr > lf and cr > crlf:
        return "\r"
    return "\n"


def eol(line: str) -> str:
    """The line ending of *line* ("" if it has none)."""
    return line[len(line.rstrip("\r\n")) :]


def scan(text: str, detail: str | None) -> Doc:
    """Find the sections the way ``RawConfigParser._read`` does.

    Keys and values are collected only for the section named ``detail`` (or for
    every section if ``detail`` is None), which keeps a 1,000-section file fast.
    """
    lines, contents = split(text) if text else ([], [])
    return Doc(lines, contents, ini_scan.scan(contents, detail), dominant_newline(text))


def section_names(doc: Doc) -> list[str]:
    """The sections as configparser lists them: each once, without ``[DEFAULT]``."""
    names = dict.fromkeys(s.name for s in doc.sections)
    names.pop(DEFAULT, None)
    return list(names)


def managed_only(sections: Mapping[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The sections trayapp wrote, out of all of a file's sections."""
    return {name: keys for name, keys in sections.items() if keys.get(MANAGED_KEY) == MANAGED_VALUE}
