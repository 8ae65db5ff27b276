"""The AWS credentials file: add, replace and remove trayapp's own sections.

The file is the user's data.  Every byte outside the section being changed is
kept exactly (comments, blank lines, order, case, CRLF or LF, a missing final
newline, other tools' sections), the file is replaced atomically, and a file
botocore can't parse is never touched.

Why not configupdater: 4.1.1 appends a new section with LF line endings into a
CRLF file, and add-then-remove on a file without a final newline does not give
back the original bytes.  So this module splices text itself, line by line.

Reading a section's boundaries must agree with how botocore reads the file
(``botocore.configloader.raw_config_parse``: a default ``RawConfigParser``):
headers match ``RawConfigParser.SECTCRE`` on the stripped line, ``#`` and ``;``
start comment lines, and an indented line after an option is a continuation of
that option's value, never a header (blank and comment lines do not end a
value).  Section names are case-sensitive.

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
* The file is decoded in the locale's preferred encoding, as botocore opens
  it (UTF-8 on UTF-8 locales; cp1252, cp932... on Windows), and written back in
  that encoding with every line outside the section byte for byte; a file that
  doesn't decode, or starts with a byte order mark, is refused.

Writing: a temp file (0600 from creation) in the target's folder, fsync,
``os.replace``, fsync of the folder.  A symlink is followed and its target
replaced, so the link stays.  Before the replace, the new text is parsed the
way botocore parses it and must hold exactly the expected sections; a text
that is not known to parse gets a full pass, while bytes this object itself
last read or wrote are known good and only the changed section and the header
after it are re-parsed (one update on a 1,000-section file in a resident app
then costs a few milliseconds instead of a full configparser pass).

Safe surroundings (POSIX), as ``ssh`` checks them: the file and every folder
above it belong to the user or root, a symbolic link on the way belongs to the
user or root, and the folder holding the file is not writable by group or
others (its ancestors may be, with the sticky bit, like ``/tmp``; a group that
is the user's own private group counts as the user).  Otherwise nothing is
written and the sentence names the fix.  Non-regular files (a FIFO, a socket, a
device) are refused without ever blocking on them.

Windows: no handle on the file is open when it is replaced (Windows refuses to
replace an open file), and a replace refused because another program has the
file open is retried for about 2 s before one clear sentence.  File modes mean
nothing there (``st_mode`` always reads 0666 and ``chmod`` only sets the
read-only flag): privacy comes from the ACL of the user's profile folder, which
only the user (and administrators) can read, so no mode is checked or reported
and the ownership checks above are skipped.

Concurrency: a ``filelock`` lock on ``<target>.lock`` (mode 0600, left in
place) serialises trayapp writers; temp files left by a killed writer are
removed under that lock.  ``aws configure set`` takes no lock and rewrites the
file in place, so the file is read again just before ``os.replace`` and the
whole update is computed again if it changed (at most 20 times); an empty or
unterminated file, or one that doesn't parse, is looked at again shortly in
case it was caught half-written.
"""

from __future__ import annotations

import codecs
import configparser
import contextlib
import errno
import io
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from trayapp.core import ini
from trayapp.core.errors import (
    CredentialsFileError,
    FileAccessError,
    FileReadError,
    ForeignSection,
    UnparsableFile,
)
from trayapp.i18n import N_, _

__all__ = ["MANAGED_KEY", "CredentialsFile", "NotRegularFile", "read_regular_file", "shadowing_profiles"]

MANAGED_KEY = "trayapp_managed"
_MANAGED_VALUE = "1"

#: How often the read-modify-write is redone when another program changed the
#: file while trayapp was preparing its update.
_MAX_ATTEMPTS = 20
#: Seconds to look again at a file that may be caught half-written by another
#: tool: one without a final line break, and (longer) an empty one.
_SETTLE = 0.01
_SETTLE_EMPTY = 0.05
#: Seconds to wait after a replace for a tool that opened the old file just
#: before it and writes into that (then unlinked) file.
_LATE_WRITER = 0.002
#: Seconds a replace refused on Windows (another program has the file open) is retried.
_REPLACE_RETRY = 2.0
_REPLACE_PAUSE = 0.05
_TMP_SUFFIX = ".trayapp-tmp"
#: Imitate a platform (True: Windows file semantics) in tests; None: the real one.
WINDOWS: bool | None = None
_BOM = b"\xef\xbb\xbf"

_SECTCRE = configparser.RawConfigParser.SECTCRE
_OPTCRE = configparser.RawConfigParser.OPTCRE
_NONSPACECRE = configparser.RawConfigParser.NONSPACECRE
_DEFAULT_SECTION = configparser.DEFAULTSECT
_COMMENT_PREFIXES = ("#", ";")
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_LINE_RE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_INDENTED_RE = re.compile(r"[\r\n][^\S\r\n]+\S")
_KEY_RE = re.compile(r"[a-z0-9_][a-z0-9_.\-]*\Z")


# --- parsing ------------------------------------------------------------------


@dataclass
class _Section:
    name: str
    header: int  # index of the header line
    end: int  # index one past the last key/continuation line (>= header + 1)
    own: dict[str, str] = field(default_factory=dict)
    valid: bool = True  # False if a line in it is not a key, value or comment


@dataclass
class _Doc:
    lines: list[str]  # each with its line ending ("" for a last line without one)
    contents: list[str]  # the same lines without their endings
    sections: list[_Section]
    newline: str  # the dominant line ending

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _split(text: str) -> tuple[list[str], list[str]]:
    if "\r" not in text:
        contents = text.split("\n")
        if contents[-1] == "":
            contents.pop()
            lines = [c + "\n" for c in contents]
        else:
            lines = [c + "\n" for c in contents]
            lines[-1] = contents[-1]
        return lines, contents
    lines = _LINE_RE.findall(text)
    return lines, [line.rstrip("\r\n") for line in lines]


def _dominant_newline(text: str) -> str:
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


def _eol(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _scan(text: str, detail: str | None) -> _Doc:
    """Find the sections the way ``RawConfigParser._read`` does.

    Keys and values are collected only for the section named ``detail`` (or for
    every section if ``detail`` is None), which keeps a 1,000-section file fast.
    """
    lines, contents = _split(text) if text else ([], [])
    sections: list[_Section] = []
    current: _Section | None = None
    optname: str | None = None
    indent_level = 0
    for index, line in enumerate(contents):
        value = line.strip()
        if not value or value.startswith(_COMMENT_PREFIXES):
            continue  # empty_lines_in_values: a blank line does not end a value
        first = _NONSPACECRE.search(line)
        indent = first.start() if first else 0
        if current is not None and optname and indent > indent_level:
            current.end = index + 1  # continuation of the value
            if detail is None or current.name == detail:
                current.own[optname] += "\n" + value
            continue
        indent_level = indent
        header = _SECTCRE.match(value)
        if header:
            current = _Section(header.group("header"), index, index + 1)
            sections.append(current)
            optname = None
            continue
        if current is None:
            continue  # a line before any header: the parser check reports it
        current.end = index + 1
        if detail is not None and current.name != detail:
            optname = "?"  # only truthiness matters outside the detailed section
            continue
        option = _OPTCRE.match(value)
        if option is None or not option.group("option").rstrip():
            current.valid = False
            continue
        optname = option.group("option").rstrip().lower()
        if optname in current.own:
            current.valid = False
        current.own[optname] = option.group("value").strip()
    return _Doc(lines, contents, sections, _dominant_newline(text))


def _decode(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    if data.startswith(_BOM):
        raise UnparsableFile(path=path, reason=_("it starts with a byte order mark (BOM)"))
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if encoding == "utf-8":
            reason = _("line {line} is not UTF-8 text").format(line=line)
        else:
            reason = _("line {line} is not text in this system's encoding ({encoding})").format(
                line=line, encoding=encoding
            )
        raise UnparsableFile(path=path, reason=reason) from None


def _encode(new_text: str, old_text: str, base: bytes | None, encoding: str, path: Path, section: str) -> bytes:
    """``new_text`` in the file's encoding, with every unchanged line as its original bytes.

    UTF-8 and single-byte code pages give the original bytes back anyway; in
    cp932 some characters have two byte forms, so lines are taken from ``base``.
    """
    try:
        encoded = new_text.encode(encoding)
        if encoding == "utf-8" or not base or old_text.encode(encoding) == base:
            return encoded
    except UnicodeEncodeError:
        raise CredentialsFileError(
            path=path,
            reason=_("the name [{section}] can't be written in this system's encoding ({encoding})").format(
                section=section, encoding=encoding
            ),
        ) from None
    old_lines = _split(old_text)[0]
    old_raw = _LINE_RE_BYTES.findall(base)
    if len(old_raw) != len(old_lines):  # pragma: no cover - line breaks are ASCII in every locale encoding
        return encoded
    originals = dict(zip(old_lines, old_raw, strict=True))
    return b"".join(originals.get(line) or line.encode(encoding) for line in _split(new_text)[0])


def locale_encoding() -> str:
    """The encoding botocore reads the AWS files in: the locale's preferred one (``open()``'s default)."""
    import locale

    return codecs.lookup(locale.getpreferredencoding(False)).name


def _parse(text: str, path: Path) -> configparser.RawConfigParser:
    """Parse like ``botocore.configloader.raw_config_parse``, with safe messages.

    configparser's own messages quote the offending line, which may hold a
    secret, so only line numbers are reported.
    """
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
            if not all(_nested_ok(value) for _key, value in parser.items(section)):
                raise UnparsableFile(path=path, reason=_("an indented line under a key has no '='"))
    return parser


def _nested_ok(value: str) -> bool:
    """botocore reads a value that starts on the next line as ``key = value`` lines."""
    return not value.startswith("\n") or all("=" in line for line in value.splitlines() if line.strip())


def _own_items(parser: configparser.RawConfigParser, text: str) -> dict[str, dict[str, str]]:
    """Each section's own keys, without those inherited from [DEFAULT]."""
    if not parser.defaults():
        return {s: dict(parser.items(s)) for s in parser.sections()}
    # Re-read with no default section; strict=False merges repeated [DEFAULT]
    # headers the way the first parse (already validated) did.
    plain = configparser.RawConfigParser(default_section="\0", strict=False)
    plain.read_string(text.replace("\r\n", "\n").replace("\r", "\n"))
    return {s: dict(plain.items(s)) for s in plain.sections() if s != _DEFAULT_SECTION}


# --- the new text ---------------------------------------------------------------


def _check_section_name(section: str) -> None:
    header = _SECTCRE.match(f"[{section}]")
    if (
        not section
        or section != section.strip()
        or section == _DEFAULT_SECTION
        or any(ch in section for ch in "\r\n")
        or header is None
        or header.group("header") != section
    ):
        raise ValueError(f"not a usable section name: {section!r}")


def _check_values(values: Mapping[str, str]) -> None:
    for key, value in values.items():
        if not _KEY_RE.match(key) or key == MANAGED_KEY:
            raise ValueError(f"not a usable key: {key!r}")
        if value != value.strip() or "\r" in value or "\n" in value:
            raise ValueError(f"the value of {key!r} has line breaks or surrounding spaces")


def _find(doc: _Doc, section: str, path: Path) -> _Section | None:
    found = [s for s in doc.sections if s.name == section]
    if len(found) > 1:
        lines = _(" and ").join(str(s.header + 1) for s in found[:2])
        reason = _("section [{section}] appears twice, at lines {lines}").format(section=section, lines=lines)
        raise UnparsableFile(path=path, reason=reason)
    if not found:
        return None
    ours = found[0]
    if ours.own.get(MANAGED_KEY) != _MANAGED_VALUE:
        raise ForeignSection(path=path, section=section)
    if not ours.valid or not all(_nested_ok(value) for value in ours.own.values()):
        raise UnparsableFile(
            path=path,
            reason=_(
                "section [{section}] at line {line} has a line that is not a key = value line, or repeats a key"
            ).format(section=section, line=ours.header + 1),
        )
    return ours


def _block(section: str, values: Mapping[str, str], newline: str, indent: str, last: str) -> str:
    rows = [f"[{section}]", f"{indent}{MANAGED_KEY} = {_MANAGED_VALUE}"]
    rows += [f"{indent}{key} = {value}" for key, value in values.items()]
    return newline.join(rows) + last


def _with_section(doc: _Doc, section: str, values: Mapping[str, str], path: Path) -> tuple[str, str, list[str]]:
    """The new text, and the part of it around the section with the sections it holds.

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
        if later.name != _DEFAULT_SECTION:
            window_names.append(later.name)
    block = _block(section, values, doc.newline, indent, _eol(doc.lines[ours.end - 1]))
    new_text = "".join(doc.lines[: ours.header]) + block + "".join(doc.lines[ours.end :])
    return new_text, block + "".join(doc.lines[ours.end : window_end]), window_names


def _bracket_lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line) of every line that starts with ``[``."""
    at = 0 if text.startswith("[") else text.find("\n[") + 1 or -1
    while at >= 0:
        end = text.find("\n", at)
        yield at, text[at : len(text) if end < 0 else end]
        at = -1 if end < 0 else text.find("\n[", end) + 1 or -1


def _with_section_plain(text: str, section: str, values: Mapping[str, str], path: Path) -> str | None:
    """What :func:`_with_section` and the trusted check make of *text*, through the lines around
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
        header = _SECTCRE.match(line.strip())
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
    doc = _scan(text[start:stop], section)
    doc.newline = _dominant_newline(text)
    try:
        new_window, window, window_names = _with_section(doc, section, values, path)
    except UnparsableFile:
        return None  # its line numbers are the whole file's
    _verify(window, window_names, section, values, path)
    return "".join((text[:start], new_window, text[stop:]))  # one copy of a large file, not two


def _without_section(doc: _Doc, section: str, path: Path) -> str | None:
    ours = _find(doc, section, path)
    if ours is None:
        return None
    before = doc.lines[: ours.header]
    if ours.end == len(doc.lines) and not _eol(doc.lines[-1]) and before:
        # The section ended the file without a line break: give the line break
        # before it back too, so the file ends as it did before the add.
        before = [*before[:-1], before[-1].rstrip("\r\n")]
    return "".join(before) + "".join(doc.lines[ours.end :])


def _verify(text: str, expected: list[str], section: str, values: Mapping[str, str] | None, path: Path) -> None:
    """``text`` parses like botocore, holds exactly the expected sections and our keys."""
    plain = ini.parse_plain(text)  # configparser's reading, quicker; None: configparser judges
    parser = _parse(text, path) if plain is None else None
    names = list(plain) if plain is not None else parser.sections() if parser is not None else []
    if names != expected:
        raise CredentialsFileError(
            path=path,
            reason=_("the change would alter how a neighbouring section is read; edit the file by hand"),
        )
    if values is not None:
        # A header swallowed as a continuation line would show up in a value.
        wanted = {MANAGED_KEY: _MANAGED_VALUE, **values}
        defaults: Mapping[str, str] = {}
        if plain is not None:
            got = plain[section]
        else:
            assert parser is not None
            got = {key: parser.get(section, key) for key in parser.options(section)}
            defaults = parser.defaults()
        if any(got.get(key) != value for key, value in wanted.items()) or not set(got) <= {*wanted, *defaults}:
            raise CredentialsFileError(path=path, reason=_("trayapp could not write the section safely"))


def _key_lines(doc: _Doc, sec: _Section) -> list[tuple[str, int, int]]:
    """``(key, first line, one past its last line)`` of each key of *sec*, as ``_scan`` reads them."""
    found: list[tuple[str, int, int]] = []
    indent_level = len(doc.contents[sec.header]) - len(doc.contents[sec.header].lstrip())
    for index in range(sec.header + 1, sec.end):
        line = doc.contents[index]
        value = line.strip()
        if not value or value.startswith(_COMMENT_PREFIXES):
            continue
        first = _NONSPACECRE.search(line)
        indent = first.start() if first else 0
        if found and indent > indent_level:
            key, start, _end = found[-1]
            found[-1] = (key, start, index + 1)
            continue
        indent_level = indent
        option = _OPTCRE.match(value)
        if option is None:  # pragma: no cover - the section was checked to be valid
            continue
        found.append((option.group("option").rstrip().lower(), index, index + 1))
    return found


def _with_keys_edited(
    doc: _Doc, section: str, remove: Iterable[str], add: Mapping[str, str], create: bool, path: Path
) -> str | None:
    """The text with exactly the lines of the keys *remove* taken out of the user's ``[section]``
    and the lines of *add* put in after its header; None when there is nothing to change."""
    found = [s for s in doc.sections if s.name == section]
    if len(found) > 1:
        where = _(" and ").join(str(s.header + 1) for s in found[:2])
        reason = _("section [{section}] appears twice, at lines {lines}").format(section=section, lines=where)
        raise UnparsableFile(path=path, reason=reason)
    if not found:
        if not add or not create:
            return None
        text = doc.text
        block = _block_plain(section, add, doc.newline)
        if not text or text.endswith(("\n", "\r")):
            return text + block + doc.newline
        return text + doc.newline + block
    sec = found[0]
    if sec.own.get(MANAGED_KEY) == _MANAGED_VALUE:
        raise CredentialsFileError(
            path=path,
            reason=_("[{section}] is a session trayapp wrote, not a profile of yours").format(section=section),
        )
    if not sec.valid or not all(_nested_ok(value) for value in sec.own.values()):
        raise CredentialsFileError(
            path=path,
            reason=_(
                "section [{section}] at line {line} has a line that is not a key = value line, or repeats a key; "
                "edit the file by hand"
            ).format(section=section, line=sec.header + 1),
        )
    keys = _key_lines(doc, sec)
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
        eol = _eol(lines[sec.header]) or doc.newline
        if not _eol(lines[sec.header]):  # the header ends the file without a line break
            lines[sec.header] += doc.newline
            eol = ""
        rows = [f"{indent}{key} = {value}" for key, value in add.items()]
        lines[sec.header] += doc.newline.join(rows) + eol
    kept = [line for index, line in enumerate(lines) if index not in drop]
    if drop and max(drop) == len(lines) - 1 and not _eol(lines[-1]) and kept:
        # The last line went and had no line break: the file keeps its "no final newline" shape.
        kept[-1] = kept[-1].rstrip("\r\n")
    return "".join(kept)


def _block_plain(section: str, values: Mapping[str, str], newline: str) -> str:
    return newline.join([f"[{section}]", *(f"{key} = {value}" for key, value in values.items())])


def _verify_edit(old: str, new: str, section: str, remove: Iterable[str], add: Mapping[str, str], path: Path) -> None:
    """*new* reads like *old* except for exactly the keys removed from and added to ``[section]``."""
    before = _own_items(_parse(old, path), old) if old else {}
    after = _own_items(_parse(new, path), new)
    wanted = {name: dict(items) for name, items in before.items()}
    target = wanted.setdefault(section, {})
    for key in remove:
        target.pop(key, None)
    target.update(add)
    if after != wanted or list(after) != list(wanted):
        raise CredentialsFileError(
            path=path,
            reason=_("the change would alter how a neighbouring section is read; edit the file by hand"),
        )


def _section_names(doc: _Doc) -> list[str]:
    names = dict.fromkeys(s.name for s in doc.sections)
    names.pop(_DEFAULT_SECTION, None)
    return list(names)


# --- file system ------------------------------------------------------------------

_REASONS = {
    errno.EACCES: N_("permission denied"),
    errno.EPERM: N_("permission denied"),
    errno.EROFS: N_("the file system is read-only"),
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk quota is exhausted"),
    errno.EFBIG: N_("the disk is full or a file size limit was reached"),
    errno.EISDIR: N_("it is a folder, not a file"),
    errno.ENOTDIR: N_("a part of its path is not a folder"),
    errno.ELOOP: N_("its symbolic links form a loop"),
    errno.ENAMETOOLONG: N_("its path is too long"),
    errno.ENXIO: N_("it is not a regular file"),
}


class NotRegularFile(OSError):
    """A FIFO, socket or device where a file was expected (never opened for reading)."""

    def __init__(self, path: os.PathLike[str] | str) -> None:
        super().__init__(errno.EINVAL, _("it is not a regular file"), str(path))


def _reason(exc: OSError) -> str:
    if isinstance(exc, NotRegularFile):
        return _("it is not a regular file")
    if exc.errno in _REASONS:
        return _(_REASONS[exc.errno])
    return os.strerror(exc.errno) if exc.errno else _("an operating system error occurred")


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def _open_regular(path: os.PathLike[str] | str) -> int | None:
    """A read-only descriptor on a regular file; None if there is none.

    Opened non-blocking, so a FIFO without a writer can't hang the caller; a
    FIFO, socket or device raises :class:`NotRegularFile`, a folder
    :class:`IsADirectoryError`.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise NotRegularFile(path) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular_file(path: os.PathLike[str] | str) -> bytes | None:
    """The bytes of a regular file, None if it doesn't exist; never blocks.

    A FIFO, socket or device raises :class:`NotRegularFile` (an ``OSError``
    whose ``strerror`` is the translated reason "it is not a regular file") at
    once; a folder raises ``IsADirectoryError``.  No handle stays open.
    """
    fd = _open_regular(path)
    if fd is None:
        return None
    try:
        return _read_fd(fd)
    finally:
        os.close(fd)


_read_bytes = read_regular_file


def _digest(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


def _fd_holds(fd: int | None, data: bytes | None) -> bool:
    """Whether the open file *fd* (None: no file) holds exactly *data*, read a chunk at a time."""
    if fd is None or data is None:
        return fd is None and data is None
    os.lseek(fd, 0, os.SEEK_SET)
    at = 0
    while chunk := os.read(fd, 1 << 20):
        if not data.startswith(chunk, at):
            return False
        at += len(chunk)
    return at == len(data)


def _read_unless(path: Path, known: bytes) -> bytes | None:
    """The bytes of *path*: *known* itself when it holds them (a large file isn't read into a copy)."""
    fd = _open_regular(path)
    if fd is None:
        return None
    try:
        return known if _fd_holds(fd, known) else _read_fd(fd)
    finally:
        os.close(fd)


def _status(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _read_fd(fd: int) -> bytes:
    """All of the file from its start (``os.pread`` does not exist on Windows)."""
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _on_windows(flag: bool | None = None) -> bool:
    if flag is not None:
        return flag
    return WINDOWS if WINDOWS is not None else sys.platform == "win32"


def _unsafe_location(path: Path) -> str | None:
    """Why writing keys at *path* would let another local user in, or None (POSIX).

    Like ``ssh``'s StrictModes: the folder holding the file (and the one holding
    a symbolic link to it) is writable by nobody else; every folder above belongs
    to the user or root and, unless it has the sticky bit (``/tmp``), is not
    writable by others either; every symbolic link on the way, the file and its
    lock file belong to the user or root.  A group that is the user's own
    private group counts as the user.
    """
    uid = os.geteuid()
    trusted = {uid, 0}
    path = Path(os.path.abspath(path))
    target = Path(os.path.realpath(path))
    for holder in dict.fromkeys([Path(os.path.realpath(path.parent)), target.parent]):
        reason = _unsafe_folders(holder, uid, trusted)
        if reason is not None:
            return reason
    # Symbolic links on the way (any of them could send the keys elsewhere).
    for part in [*reversed(path.parents), path]:
        try:
            st = os.lstat(part)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in trusted:
            return _(
                "{link} is a symbolic link that belongs to another user (uid {uid}); remove it if you did not make it"
            ).format(link=part, uid=st.st_uid)
    for file in (target, Path(f"{target}.lock")):
        try:
            st = os.lstat(file)
        except FileNotFoundError:
            continue
        if st.st_uid not in trusted or stat.S_ISLNK(st.st_mode):
            return _("{file} belongs to another user (uid {uid}); remove it if you did not make it").format(
                file=file, uid=st.st_uid
            )
    return None


def _unsafe_folders(holder: Path, uid: int, trusted: set[int]) -> str | None:
    """The first folder from *holder* up to ``/`` that another user could write into."""
    first = True
    for folder in [holder, *holder.parents]:
        try:
            st = os.stat(folder)
        except FileNotFoundError:
            continue  # made 0700 by trayapp, then checked again
        if st.st_uid not in trusted:
            return _("the folder {folder} belongs to another user (uid {uid})").format(folder=folder, uid=st.st_uid)
        writable = st.st_mode & 0o002 or (st.st_mode & 0o020 and not _private_group(st.st_gid, uid))
        sticky = st.st_mode & stat.S_ISVTX
        holds_file, first = first and folder == holder, False
        if not writable or (sticky and not holds_file):
            continue  # others can't replace what is in a sticky folder, only add to it
        if sticky:
            return _(
                "other users can create files in its folder {folder}; keep the credentials file in a folder of your own"
            ).format(folder=folder)
        return _("other users can write into the folder {folder}; run chmod go-w {folder}").format(folder=folder)
    return None


def _private_group(gid: int, uid: int) -> bool:
    """The user's own group (named like the user, no other members), as Debian's ssh allows."""
    import grp
    import pwd

    try:
        user = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return user.pw_gid == gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems can't fsync a directory; the rename is done
    finally:
        os.close(fd)


def _is_read_only(path: Path, st: os.stat_result) -> bool:
    # The owner's write bit is checked too: root can write anything, but a
    # user who made the file (or ~/.aws) read-only meant it.
    return not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)


# --- public ---------------------------------------------------------------------------


class CredentialsFile:
    """One credentials file; each call reads it afresh and holds no cache."""

    def __init__(
        self,
        path: os.PathLike[str] | str,
        *,
        lock_timeout: float = 10.0,
        encoding: str | None = None,
        windows: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        #: The file's encoding: the locale's, as botocore reads it, unless given.
        self.encoding = codecs.lookup(encoding).name if encoding else locale_encoding()
        self._windows = windows
        # The digest of the bytes last seen to parse like botocore (read or written here),
        # and whether they are plain (see ini.parse_plain) and will be after the next change.
        self._verified: bytes | None = None
        self._plain = self._next_plain = False

    # reading

    def read_managed(self) -> dict[str, dict[str, str]]:
        """``{section: {key: value}}`` for every section trayapp wrote."""
        return managed_only(self.read_sections())

    def read_sections(self) -> dict[str, dict[str, str]]:
        """``{section: {key: value}}`` for every section, as botocore reads them; {} if no file."""
        for attempt in range(3):
            try:
                before = _status(self.path)
                data = _read_bytes(self.path)
                after = _status(self.path)
            except OSError as exc:
                raise FileReadError(path=self.path, reason=_reason(exc)) from None
            if data is None:
                return {}
            digest = _digest(data)
            try:
                text = _decode(data, self.path, self.encoding)
                del data  # a large file is held as few times as possible
                # The plain shape is read in one tight loop; anything else by configparser.
                plain = ini.parse_plain(text)
                items = plain if plain is not None else _own_items(_parse(text, self.path), text)
                del text
            except UnparsableFile:
                # Maybe caught while another tool rewrote it in place.
                time.sleep(_SETTLE)
                with contextlib.suppress(OSError):
                    now = _read_bytes(self.path)
                    if attempt < 2 and (now is None or _digest(now) != digest):
                        continue
                raise
            self._verified, self._plain = digest, plain is not None
            if plain is not None and before and after and self.encoding == locale_encoding():
                ini.remember(before, after, plain)  # botocore's own reading of the file, done
            return items
        raise AssertionError("unreachable")  # pragma: no cover

    # writing

    def write_section(self, section: str, values: Mapping[str, str]) -> list[str]:
        """Create or replace ``[section]`` with exactly ``values`` plus the marker."""
        _check_section_name(section)
        _check_values(values)

        def change(text: str, trusted: bool) -> str:
            if trusted and self._plain:
                fast = _with_section_plain(text, section, values, self.path)
                if fast is not None:
                    self._next_plain = True  # the block it put in is plain too
                    return fast
            doc = _scan(text, section)
            new_text, window, window_names = _with_section(doc, section, values, self.path)
            if trusted:
                # The rest of the file is text already verified: only the
                # section and the header after it can have changed meaning.
                _verify(window, window_names, section, values, self.path)
            else:
                names = _section_names(doc)
                expected = names if section in names else [*names, section]
                _verify(new_text, expected, section, values, self.path)
            return new_text

        notes, _changed = self._update(section, change, create=True)
        return notes

    def remove_section(self, section: str) -> bool:
        """Remove trayapp's ``[section]``; False if there is none."""
        _check_section_name(section)

        def change(text: str, trusted: bool) -> str | None:
            doc = _scan(text, section)
            new_text = _without_section(doc, section, self.path)
            if new_text is not None:
                expected = [name for name in _section_names(doc) if name != section]
                _verify(new_text, expected, section, None, self.path)
            return new_text

        _notes, changed = self._update(section, change, create=False)
        return changed

    def edit_keys(
        self,
        section: str,
        *,
        remove: Iterable[str] = (),
        add: Mapping[str, str] | None = None,
        create: bool = False,
    ) -> bool:
        """Take exactly the lines of the keys *remove* out of the user's ``[section]``
        and put *add* in after its header (a missing section is appended when *create*).

        For the user's own sections (long-term keys moved to the keyring and back,
        a ``credential_process`` line): every other byte stays, same lock, atomic
        replace, and the new text must read like the old but for those keys.  A
        section of trayapp's, one with a line that isn't ``key = value``, a key to
        remove that spans several lines, or a key to add that is there already is
        refused.  False when there was nothing to change.
        """
        _check_section_name(section)
        removed = frozenset(key.lower() for key in remove)
        added = dict(add or {})
        _check_values(added)

        def change(text: str, trusted: bool) -> str | None:
            new_text = _with_keys_edited(_scan(text, section), section, removed, added, create, self.path)
            if new_text is not None:
                _verify_edit(text, new_text, section, removed, added, self.path)
            return new_text

        _notes, changed = self._update(section, change, create=create)
        return changed

    # the read-modify-write transaction

    def _target(self) -> Path:
        """The file to replace: a symlink is followed, so the link itself stays."""
        try:
            return Path(os.path.realpath(self.path, strict=False))
        except OSError as exc:  # pragma: no cover - realpath(strict=False) rarely raises
            raise FileAccessError(path=self.path, reason=_reason(exc)) from None

    def _update(
        self, section: str, change: Callable[[str, bool], str | None], *, create: bool
    ) -> tuple[list[str], bool]:
        target = self._target()
        notes: list[str] = []
        if not create and not os.path.lexists(target):
            return notes, False
        self._check_location()
        self._check_kind(target)  # before the lock file is made
        self._prepare_directory(target.parent)
        self._check_location()  # again: the folder may be new, or changed meanwhile
        import filelock  # only writers pay for it: reading the file needs no lock

        lock = filelock.FileLock(f"{target}.lock", timeout=self.lock_timeout, mode=0o600)
        try:
            with lock:
                self._remove_stale_temps(target)
                return self._transact(target, section, change, notes)
        except filelock.Timeout:
            raise FileAccessError(
                path=self.path,
                reason=_("another program held its lock for more than {seconds} s").format(
                    seconds=f"{self.lock_timeout:g}"
                ),
            ) from None
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=_reason(exc)) from None

    def _transact(
        self, target: Path, section: str, change: Callable[[str, bool], str | None], notes: list[str]
    ) -> tuple[list[str], bool]:
        # After a replace, another tool may turn out to have written meanwhile;
        # then ``pending`` holds (its version to build on, what the path holds).
        pending: tuple[bytes | None, bytes | None] | None = None
        changed = False
        for attempt in range(_MAX_ATTEMPTS):
            if pending is None:
                base = expected = self._read_base(target)
                if base is not None and not base.endswith((b"\n", b"\r")):
                    # ``aws configure set`` truncates the file and then writes it:
                    # an empty or unterminated file may be one caught half-written.
                    time.sleep(_SETTLE if base else _SETTLE_EMPTY)
                    if _read_bytes(target) != base:
                        continue
            else:
                base, expected = pending
            self._next_plain = False
            try:
                text = _decode(base, self.path, self.encoding) if base else ""
                trusted = not base or _digest(base) == self._verified
                try:
                    new_text = change(text, trusted)
                except ForeignSection:
                    if not trusted:
                        _parse(text, self.path)  # a broken file is reported as broken first
                    raise
            except UnparsableFile:
                # ``aws configure set`` rewrites the file in place: a read that
                # caught it half-written is retried, a broken file is refused.
                time.sleep(_SETTLE)
                if _read_bytes(target) != base and attempt < _MAX_ATTEMPTS - 1:
                    pending = None
                    continue
                raise
            new_bytes: bytes | None = None
            if new_text is not None and self.encoding == "utf-8":
                del text  # a large file is held as few times as possible: UTF-8 needs no original line
                new_bytes = _encode(new_text, "", None, self.encoding, self.path, section)
            elif new_text is not None:
                new_bytes = _encode(new_text, text, base, self.encoding, self.path, section)
            del new_text
            if new_bytes is None or (pending is not None and new_bytes == base == expected):
                return notes, changed  # nothing (more) to do
            if base is not None and not notes and not _on_windows(self._windows):
                # On Windows st_mode always reads 0666; see the module docstring.
                mode = stat.S_IMODE(os.stat(target).st_mode)
                if mode & 0o077:
                    notes.append(
                        _(
                            "Tightened permissions of {path} from {mode} to 0600, so other users can't read your keys."
                        ).format(path=self.path, mode=f"{mode:04o}")
                    )
            outcome = self._replace(target, expected, new_bytes)
            if outcome is None:
                pending = None  # changed before the replace: start again
                continue
            changed = True
            self._verified, self._plain = _digest(new_bytes), self._next_plain
            old_file, path_now = outcome
            if path_now == new_bytes and old_file is None:
                return notes, True
            # Build again on the late writer's version, or on what now stands
            # at the path (our change may already be in it: then stop).
            pending = (path_now, path_now) if old_file is None else (old_file, path_now)
        raise FileAccessError(
            path=self.path,
            reason=_("another program kept changing it while trayapp was writing; try again"),
        )

    def _check_kind(self, target: Path) -> None:
        try:
            st = os.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=_reason(exc)) from None
        if stat.S_ISDIR(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("it is a folder, not a file"))
        if not stat.S_ISREG(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("it is not a regular file"))

    def _read_base(self, target: Path) -> bytes | None:
        try:
            st = os.stat(target)
        except FileNotFoundError:
            return None
        if stat.S_ISDIR(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("it is a folder, not a file"))
        if not stat.S_ISREG(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("it is not a regular file"))
        if _is_read_only(target, st):
            raise FileAccessError(path=self.path, reason=_("it is read-only"))
        return _read_bytes(target)

    def _replace(
        self, target: Path, expected: bytes | None, new_bytes: bytes
    ) -> tuple[bytes | None, bytes | None] | None:
        """Write a temp file and put it in place unless the file changed meanwhile.

        Returns None if the file was not ``expected`` any more, else, a moment
        after the replace, the old file's content if another tool wrote into it
        (``aws configure set`` writes in place, and may have opened it just
        before) or None, and what the path holds then (a tool that read the
        file before may have rewritten it with its stale copy).
        """
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
        old: int | None = None
        try:
            with open(fd, "wb") as handle:
                handle.write(new_bytes)
                handle.flush()
                os.fsync(handle.fileno())
            if _on_windows(self._windows):
                # No handle may be open at the replace: read by path, then let go.
                if not self._replace_windows(tmp_name, target, expected):
                    os.unlink(tmp_name)
                    return None
                _fsync_dir(target.parent)
                time.sleep(_LATE_WRITER)
                return None, _read_bytes(target)
            # POSIX: a handle on the old file shows a late writer after the replace.
            old = _open_regular(target)
            if not _fd_holds(old, expected):
                os.unlink(tmp_name)
                return None
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            if old is not None:
                os.close(old)
            raise
        _fsync_dir(target.parent)
        time.sleep(_LATE_WRITER)
        if old is None:
            return None, _read_unless(target, new_bytes)
        try:
            if _fd_holds(old, expected):
                return None, _read_unless(target, new_bytes)
            time.sleep(_SETTLE)  # let that writer finish
            return _read_fd(old), _read_bytes(target)
        finally:
            os.close(old)

    def _replace_windows(self, tmp_name: str, target: Path, expected: bytes | None) -> bool:
        """Replace *target* unless it changed; retry while another program has it open.

        Windows refuses to replace (or delete) a file another program has open
        (winerror 32, or 5): the AWS CLI reading it, an editor.  The file is
        compared again before every attempt, so a writer that held it is not
        overwritten.  False if the file was not ``expected`` any more.
        """
        deadline = time.monotonic() + _REPLACE_RETRY
        while True:
            if _read_bytes(target) != expected:
                return False
            try:
                os.replace(tmp_name, target)
                return True
            except PermissionError as exc:
                if getattr(exc, "winerror", None) not in (5, 32):
                    raise
                if time.monotonic() >= deadline:
                    raise FileAccessError(
                        path=self.path,
                        reason=_(
                            "another program kept it open for more than {seconds} s; close that program, then try again"
                        ).format(seconds=f"{_REPLACE_RETRY:g}"),
                    ) from None
            time.sleep(_REPLACE_PAUSE)

    def _check_location(self) -> None:
        if _on_windows(self._windows) or not hasattr(os, "geteuid"):
            return
        try:
            reason = _unsafe_location(self.path)
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=_reason(exc)) from None
        if reason is not None:
            raise FileAccessError(path=self.path, reason=reason)

    def _prepare_directory(self, directory: Path) -> None:
        try:
            if not directory.exists():
                os.makedirs(directory, mode=0o700, exist_ok=True)
                os.chmod(directory, 0o700)
            st = os.stat(directory)
        except OSError as exc:
            raise FileAccessError(path=self.path, reason=_reason(exc)) from None
        if not stat.S_ISDIR(st.st_mode):
            raise FileAccessError(path=self.path, reason=_("{folder} is not a folder").format(folder=directory))
        if _is_read_only(directory, st):
            raise FileAccessError(path=self.path, reason=_("its folder {folder} is read-only").format(folder=directory))

    def _remove_stale_temps(self, target: Path) -> None:
        # Under the lock, a temp file of ours is left over from a killed writer.
        prefix = f".{target.name}."
        try:
            names = os.listdir(target.parent)
        except OSError:
            return
        for name in names:
            if name.startswith(prefix) and name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(target.parent / name)


def managed_only(sections: Mapping[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The sections trayapp wrote, out of all of a file's sections."""
    return {name: keys for name, keys in sections.items() if keys.get(MANAGED_KEY) == _MANAGED_VALUE}


def shadowing_profiles(config_sections: Iterable[str], session_section: str) -> list[str]:
    """The config-file sections botocore reads as profile ``session_section``.

    ``[profile prod-session]`` in the config file is merged with
    ``[prod-session]`` of the credentials file; if it sets a credential source
    (``role_arn``, ``credential_process``, SSO…), that one wins over the keys
    trayapp wrote.  Whether it does is for the caller to judge.
    """
    from botocore.configloader import build_profile_map

    return [name for name in config_sections if session_section in build_profile_map({name: {}})["profiles"]]
