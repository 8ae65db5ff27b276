"""A fast reading of the AWS files that gives exactly what botocore's reading gives.

botocore reads both files with ``configparser.RawConfigParser`` (through
``botocore.configloader.raw_config_parse``), which costs several microseconds
a line and grows worse than linearly: a credentials file of 100,000 sections
takes seconds, and botocore reads it up to four times for one assume.

:func:`parse_plain` reads the common shape of these files in one tight loop:
``[section]`` headers, ``key = value`` lines, blank lines and comments, with no
indented line (an indented line may be a continuation or a nested value, which
only configparser's own rules settle).  For anything else — an indented line,
a ``[DEFAULT]`` section, a repeated section or key, a line that is not a key,
a key before any header — it returns None and the caller uses configparser,
so errors and unusual files are read (and refused) exactly as before.
``tests/test_ini.py`` compares both readings on many generated files.

:func:`raw_config_parse` is ``botocore.configloader.raw_config_parse`` with that
fast path and a memory of the last reading of each file (by device and inode, size, mtime
and ctime; each caller gets its own copy); :func:`install_in_botocore`, called once as a process starts,
makes botocore's own sessions and credential providers use it, so one process reads a large file once.

:class:`Recall` is for a process that reads the same file again after each change (the tray's
``Service``): it keeps the sections of the last reading by the text of each, so the next reading
scans only the sections whose text changed (an edit of one profile in a 10,000-profile config:
~9 ms instead of ~35 ms).  The sections are still read by :mod:`~trayapp.core.ini_scan`'s rules,
one section at a time; the result is the same as a reading of the whole text.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from typing import Any

from trayapp.compat import botocore as compat_botocore
from trayapp.core import ini_scan

__all__ = ["Recall", "file_stamp", "install_in_botocore", "parse_plain", "raw_config_parse", "remember"]

Sections = dict[str, dict[str, str]]


def parse_plain(text: str, recall: Recall | None = None) -> Sections | None:
    """``{section: {key: value}}`` as ``RawConfigParser`` reads *text*, or None.

    None means the text is not of the plain shape (see the module docstring),
    including every text configparser refuses; the caller then asks configparser.
    Line breaks are read as universal newlines, as when a file is opened.
    The line rules are :mod:`trayapp.core.ini_scan`'s, shared with the credentials file.
    *recall*: the last reading of the same file, for a reader that reads it again after each change.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if recall is not None:
        return recall.read(text)
    return ini_scan.scan_plain(ini_scan.lines(text))


class Recall:
    """The sections of one file's last plain reading, by the text of each section.

    In the plain shape a header is a line that starts with ``[`` (an indented line is not plain),
    so the text between one line starting with ``[`` and the next is one section, read by the
    scanner alone exactly as within the whole text: only ``[DEFAULT]`` and a repeated name
    depend on the other sections, and both are checked here as the whole reading checks them.
    A section whose text was in the last reading is not scanned again; every caller gets its own
    copy of each section's keys.  Anything unusual (a line starting with ``[`` that is not a
    header, a text not of the plain shape) is read as a whole, as without a recall.
    Not thread-safe: one reader (the tray's ``Service``, under its lock) owns one.
    """

    __slots__ = ("_by_text",)

    def __init__(self) -> None:
        #: ``text after "\n[" → (name, keys)``: the sections of the last reading, nothing older.
        self._by_text: dict[str, tuple[str, dict[str, str]]] = {}

    def read(self, text: str) -> Sections | None:
        """:func:`parse_plain` of *text* (universal newlines already applied)."""
        chunks = text.split("\n[")
        known = self._by_text
        if not known:
            return self._read_whole(text, chunks)
        first = ini_scan.scan_plain(chunks[0].split("\n"))  # what precedes the second header: small
        if first is None:
            self._by_text = {}
            return None
        out: Sections = {name: values.copy() for name, values in first.items()}
        kept: dict[str, tuple[str, dict[str, str]]] = {}
        for chunk in chunks[1:]:
            section = known.get(chunk)
            if section is None:
                scanned = ini_scan.scan_plain(("[" + chunk).split("\n"))
                if scanned is None or len(scanned) != 1:  # a line "[…" that is no header, or not plain
                    return self._read_whole(text, chunks)
                section = next(iter(scanned.items()))
            name = section[0]
            if name in out:  # a repeated section: configparser's to judge
                self._by_text = {}
                return None
            out[name] = section[1].copy()
            kept[chunk] = section
        self._by_text = kept
        return out

    def _read_whole(self, text: str, chunks: list[str]) -> Sections | None:
        """The whole text in one scan (faster than section by section when nothing is known),
        then each section remembered by its text when every chunk after the first is one section."""
        whole = ini_scan.scan_plain(ini_scan.lines(text))
        self._by_text = {}
        if whole is None:
            return None
        first = ini_scan.scan_plain(chunks[0].split("\n")) or {}
        names = list(whole)[len(first) :]
        if len(names) == len(chunks) - 1:
            self._by_text = {chunk: (name, whole[name].copy()) for chunk, name in zip(chunks[1:], names, strict=True)}
        return whole


_Stamp = tuple[int, int, int]
#: The last plain reading of each file by (device, inode), with its (size, mtime, ctime) then;
#: a file of another shape is not held.  Every caller gets its own copy of the sections (one
#: that changes what it got, as a caller of botocore's scoped config may, changes nothing else).
#: ctime is in the key because a file rewritten in place with its size kept and its mtime set
#: back (``cp -p``, ``rsync -t --inplace``) changes nothing else the kernel reports.
_memory: dict[tuple[int, int], tuple[_Stamp, Sections]] = {}
_memory_lock = threading.Lock()


def _copy(sections: Sections) -> Sections:
    """Sections another reader can change freely (the values are strings: one level suffices)."""
    return {name: values.copy() for name, values in sections.items()}


def remember(before: os.stat_result, after: os.stat_result, parsed: Sections) -> None:
    """Keep a copy of *parsed*, read from the file whose status was *before* and *after* the
    reading, for the next :func:`raw_config_parse` of that file (when the file did not change meanwhile)."""
    if _stamp(before) == _stamp(after) and _slot(before) == _slot(after):
        kept = _copy(parsed)
        with _memory_lock:
            _memory[_slot(after)] = (_stamp(after), kept)


def raw_config_parse(
    config_filename: str | None, parse_subsections: bool = True, *, keep: bool = True, recall: Recall | None = None
) -> dict[str, Any]:
    """``botocore.configloader.raw_config_parse``: same argument, result and errors, faster.

    *keep*: keep the reading for the next call (and use the one kept); a caller
    that reads a file once passes False.  A kept reading is used only when the file
    can still be opened (a file made unreadable is read as botocore reads it) and is
    still the same file with the same size, mtime and ctime.
    *recall*: the last reading of this file by the same resident reader (see :class:`Recall`).
    """
    original = compat_botocore.original_config_reader()
    if config_filename is None:
        return _botocore(original, config_filename, parse_subsections)
    path = os.path.expanduser(os.path.expandvars(config_filename))
    try:
        st = os.stat(path)
    except OSError:
        return _botocore(original, config_filename, parse_subsections)
    if not stat.S_ISREG(st.st_mode):
        return _botocore(original, config_filename, parse_subsections)
    parsed: Sections | None
    try:
        # Opened before the memory is asked: a file that can no longer be read is never served.
        with open(path) as handle:  # the locale's encoding and universal newlines, as configparser opens it
            before = os.fstat(handle.fileno())
            if keep:
                with _memory_lock:
                    held = _memory.get(_slot(before))
                if held is not None and held[0] == _stamp(before):
                    return _copy(held[1])
            parsed = parse_plain(handle.read(), recall)
            after = os.fstat(handle.fileno())
    except (OSError, UnicodeDecodeError):
        parsed = None
    if parsed is None:
        return _botocore(original, config_filename, parse_subsections)
    if keep and _stamp(before) == _stamp(after):
        with _memory_lock:  # this reader's own result is returned; the memory holds the original
            _memory[_slot(after)] = (_stamp(after), parsed)
        return _copy(parsed)
    return parsed


def _botocore(original: Callable[..., Any], config_filename: str | None, parse_subsections: bool) -> dict[str, Any]:
    result: dict[str, Any] = original(config_filename, parse_subsections)
    return result


def file_stamp(path: os.PathLike[str] | str) -> tuple[int, ...] | None:
    """What says a file is unchanged (device, inode, size, mtime, ctime), or None when it can't be
    looked at: for every memory of a reading of the AWS files, so none is fooled by ``cp -p``."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (*_slot(st), *_stamp(st))


def _slot(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def _stamp(st: os.stat_result) -> _Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def install_in_botocore() -> None:
    """Make botocore's sessions and credential providers read the AWS files through
    :func:`raw_config_parse`: once, at a process's start (``trayapp.cli.main``); see
    :mod:`trayapp.compat.botocore` for why it is done this way."""
    compat_botocore.install_config_reader(raw_config_parse)
