"""The new text of a credentials file: pure text edits, no file system.

Every byte outside the section being changed is kept exactly (comments, blank
lines, order, case, CRLF or LF, a missing final newline, other tools'
sections).  Why not configupdater: 4.1.1 appends a new section with LF line
endings into a CRLF file, and add-then-remove on a file without a final newline
does not give back the original bytes.  So the text is spliced here, line by line.

Decisions, so that add-then-forget always gives back the original bytes:

* A new section is appended at the end, using the file's dominant line ending.
  If the file does not end with a line break, one is inserted first and the new
  section itself is written *without* a final line break, so the file keeps
  its "no final newline" shape.  Removing a section that ends the file without
  a line break therefore also removes the line break just before it.
* An empty (or missing) file gets a section that ends with a line break;
  removing it leaves an empty file.  Removing never deletes the file, so a
  missing file + add + forget leaves an empty 0600 file.
* A section's extent is its header up to its last key or continuation line;
  blank and comment lines after that belong to whatever follows and stay.
  Comments *inside* trayapp's own section are not kept when it is rewritten.

*path* only names the file in error messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from trayapp.core.credentials_file.document import (
    DEFAULT,
    MANAGED_KEY,
    MANAGED_VALUE,
    Doc,
    Section,
    dominant_newline,
    eol,
    scan,
)
from trayapp.core.credentials_file.verify import nested_ok, verify
from trayapp.core.errors import CredentialsFileError, ForeignSection, UnparsableFile
from trayapp.core.ini_scan import SECTCRE
from trayapp.i18n import _

__all__ = [
    "check_section_name",
    "check_values",
    "with_keys_edited",
    "with_section",
    "with_section_plain",
    "without_section",
]

_KEY_RE = re.compile(r"[a-z0-9_][a-z0-9_.\-]*\Z")


def check_section_name(section: str) -> None:
    header = SECTCRE.match(f"[{section}]")
    if (
        not section
        or section != section.strip()
        or section == DEFAULT
        or any(ch in section for ch in "\r\n")
        or header is None
        or header.group("header") != section
    ):
        raise ValueError(f"not a usable section name: {section!r}")


def check_values(values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if not _KEY_RE.match(key) or key == MANAGED_KEY:
            raise ValueError(f"not a usable key: {key!r}")
        if value != value.strip() or "\r" in value or "\n" in value:
            raise ValueError(f"the value of {key!r} has line breaks or surrounding spaces")


def _only(doc: Doc, section: str, path: Path) -> Section | None:
    """``[section]`` of *doc*, None if there is none; a repeated one is refused."""
    found = [s for s in doc.sections if s.name == section]
    if len(found) > 1:
        lines = _(" and ").join(str(s.header + 1) for s in found[:2])
        reason = _("section [{section}] appears twice, at lines {lines}").format(section=section, lines=lines)
        raise UnparsableFile(path=path, reason=reason)
    return found[0] if found else None


def _find(doc: Doc, section: str, path: Path) -> Section | None:
    """trayapp's own ``[section]``, None if there is none."""
    ours = _only(doc, section, path)
    if ours is None:
        return None
    if ours.own.get(MANAGED_KEY) != MANAGED_VALUE:
        raise ForeignSection(path=path, section=section)
    if not ours.valid or not all(nested_ok(value) for value in ours.own.values()):
        raise UnparsableFile(
            path=path,
            reason=_(
                "section [{section}] at line {line} has a line that is not a key = value line, or repeats a key"
            ).format(section=section, line=ours.header + 1),
        )
    return ours


def _block(section: str, values: Mapping[str, str], newline: str, indent: str, last: str) -> str:
    rows = [f"[{section}]", f"{indent}{MANAGED_KEY} = {MANAGED_VALUE}"]
    rows += [f"{indent}{key} = {value}" for key, value in values.items()]
    return newline.join(rows) + last


def with_section(doc: Doc, section: str, values: Mapping[str, str], path: Path) -> tuple[str, str, list[str]]:
    """The new text with trayapp's ``[section]`` holding exactly *values*, and the part of it
    around the section with the sections it holds.

    That part is enough to verify the change when the rest is known to parse.
    """
    ours = _find(doc, section, path)
    if ours is None:
        text = doc.text
        if not text or text.endswith(("\n", "\r")):
            block = _block(section, values, doc.newline, "", doc.newline)
            return text + block, block, [section]
        # Keep the file's "no final newline" shape; see the module docstring.
        block = _block(section, values, doc.newline, "", "")
        return text + doc.newline + block, block, [section]
    # Keys are indented like the next header, so that header stays a header.
    later = next((s for s in doc.sections if s.header > ours.header), None)
    indent = ""
    window_end = len(doc.lines)
    window_names = [section]
    if later is not None:
        line = doc.contents[later.header]
        indent = line[: len(line) - len(line.lstrip())]
        window_end = later.header + 1
        if later.name != DEFAULT:
            window_names.append(later.name)
    block = _block(section, values, doc.newline, indent, eol(doc.lines[ours.end - 1]))
    new_text = "".join(doc.lines[: ours.header]) + block + "".join(doc.lines[ours.end :])
    return new_text, block + "".join(doc.lines[ours.end : window_end]), window_names


def _bracket_lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of every line that starts with ``[``."""
    at = 0 if text.startswith("[") else text.find("\n[") + 1 or -1
    while at >= 0:
        end = text.find("\n", at)
        yield at, text[at : len(text) if end < 0 else end]
        at = -1 if end < 0 else text.find("\n[", end) + 1 or -1


def with_section_plain(text: str, section: str, values: Mapping[str, str], path: Path) -> str | None:
    """What :func:`with_section` and the trusted check make of *text*, through the lines around
    the section only; None when *text* is not plain (see below) or the full path must speak.

    For verified plain text (read by :func:`ini.parse_plain`: no indented line other than a
    comment) with only LF or CRLF line breaks, a line is a header exactly when it starts with
    ``[`` and matches ``SECTCRE``, and the section's extent doesn't depend on anything before
    it: so the section's header up to the next header line (or the last line, for a new
    section) is scanned, changed and checked as before, and the rest is kept as it is,
    without splitting a large file into lines.
    """
    if not text or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    found: list[int] = []
    following: int | None = None
    for start, line in _bracket_lines(text):
        header = SECTCRE.match(line.strip())
        if header is None:
            continue
        if header.group("header") == section:
            found.append(start)
        elif found and following is None:
            following = start
    if len(found) > 1:
        return None  # the full path names both lines
    if found:
        start = found[0]
        if following is None:
            stop = len(text)
        else:
            line_end = text.find("\n", following)
            stop = len(text) if line_end < 0 else line_end + 1
    else:
        start = stop = len(text)
        if not text.endswith("\n"):
            start = text.rfind("\n") + 1  # the last line, which the new section follows
    doc = scan(text[start:stop], section)
    doc.newline = dominant_newline(text)
    try:
        new_window, window, window_names = with_section(doc, section, values, path)
    except UnparsableFile:
        return None  # its line numbers are the whole file's
    verify(window, window_names, section, values, path)
    return "".join((text[:start], new_window, text[stop:]))  # one copy of a large file, not two


def without_section(doc: Doc, section: str, path: Path) -> str | None:
    """The text without trayapp's ``[section]``; None if there is none."""
    ours = _find(doc, section, path)
    if ours is None:
        return None
    before = doc.lines[: ours.header]
    if ours.end == len(doc.lines) and not eol(doc.lines[-1]) and before:
        # The section ended the file without a line break: give the line break
        # before it back too, so the file ends as it did before the add.
        before = [*before[:-1], before[-1].rstrip("\r\n")]
    return "".join(before) + "".join(doc.lines[ours.end :])


def with_keys_edited(
    doc: Doc, section: str, remove: Iterable[str], add: Mapping[str, str], create: bool, path: Path
) -> str | None:
    """The text with exactly the lines of the keys *remove* taken out of the user's ``[section]``
    and the lines of *add* put in after its header; None when there is nothing to change.

    *doc* must be scanned with ``[section]`` as its detail (its keys' lines are needed).
    """
    sec = _only(doc, section, path)
    if sec is None:
        if not add or not create:
            return None
        text = doc.text
        block = doc.newline.join([f"[{section}]", *(f"{key} = {value}" for key, value in add.items())])
        if not text or text.endswith(("\n", "\r")):
            return text + block + doc.newline
        return text + doc.newline + block
    if sec.own.get(MANAGED_KEY) == MANAGED_VALUE:
        raise CredentialsFileError(
            path=path,
            reason=_("[{section}] is a session trayapp wrote, not a profile of yours").format(section=section),
        )
    if not sec.valid or not all(nested_ok(value) for value in sec.own.values()):
        raise CredentialsFileError(
            path=path,
            reason=_(
                "section [{section}] at line {line} has a line that is not a key = value line, or repeats a key; "
                "edit the file by hand"
            ).format(section=section, line=sec.header + 1),
        )
    keys = sec.spans or []
    drop: set[int] = set()
    for key, start, end in keys:
        if key in remove:
            if end - start > 1:
                raise CredentialsFileError(
                    path=path,
                    reason=_("{key} in [{section}] spans several lines; edit the file by hand").format(
                        key=key, section=section
                    ),
                )
            drop.add(start)
    for key in add:
        if key in sec.own:
            raise CredentialsFileError(
                path=path, reason=_("[{section}] already has {key}").format(section=section, key=key)
            )
    if not drop and not add:
        return None
    lines = list(doc.lines)
    if add:
        first = doc.contents[keys[0][1]] if keys else ""
        indent = first[: len(first) - len(first.lstrip())]
        ending = eol(lines[sec.header]) or doc.newline
        if not eol(lines[sec.header]):  # the header ends the file without a line break
            lines[sec.header] += doc.newline
            ending = ""
        rows = [f"{indent}{key} = {value}" for key, value in add.items()]
        lines[sec.header] += doc.newline.join(rows) + ending
    kept = [line for index, line in enumerate(lines) if index not in drop]
    if drop and max(drop) == len(lines) - 1 and not eol(lines[-1]) and kept:
        # The last line went and had no line break: the file keeps its "no final newline" shape.
        kept[-1] = kept[-1].rstrip("\r\n")
    return "".join(kept)
