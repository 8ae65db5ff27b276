"""One credentials file: read its sections, and add, replace and remove trayapp's own.

The pieces: :mod:`.document` (lines and sections), :mod:`.codec` (bytes and
text), :mod:`.edits` (the new text), :mod:`.verify` (it reads as meant),
:mod:`.transaction` (the atomic update under the lock).  A file botocore can't
parse is never touched.

A text that is not known to parse gets a full check before it replaces the
file, while bytes this object itself last read or wrote are known good and
only the changed section and the header after it are re-parsed (one update on
a 1,000-section file in a resident app then costs a few milliseconds instead
of a full configparser pass).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from trayapp.core import ini
from trayapp.core.credentials_file import edits, transaction
from trayapp.core.credentials_file.codec import decode, encode, locale_encoding
from trayapp.core.credentials_file.document import managed_only, scan, section_names
from trayapp.core.credentials_file.safe_io import read_regular_file, reason, status
from trayapp.core.credentials_file.verify import own_items, parse, verify, verify_edit
from trayapp.core.errors import FileReadError, ForeignSection, UnparsableFile

__all__ = ["CredentialsFile"]

#: What a change makes of the file's text (and whether that text is known to parse): the new text, or None.
TextChange = Callable[[str, bool], str | None]


def _digest(data: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(data).digest()


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

    def read_sections(self, recall: ini.Recall | None = None) -> dict[str, dict[str, str]]:
        """``{section: {key: value}}`` for every section, as botocore reads them; {} if no file.
        *recall*: the last reading of this file by the same resident reader (``ini.Recall``)."""
        for attempt in range(3):
            try:
                before = status(self.path)
                data = read_regular_file(self.path)
                after = status(self.path)
            except OSError as exc:
                raise FileReadError(path=self.path, reason=reason(exc)) from None
            if data is None:
                return {}
            digest = _digest(data)
            try:
                text = decode(data, self.path, self.encoding)
                del data  # a large file is held as few times as possible
                # The plain shape is read in one tight loop; anything else by configparser.
                plain = ini.parse_plain(text, recall)
                items = plain if plain is not None else own_items(parse(text, self.path), text)
                del text
            except UnparsableFile:
                # Maybe caught while another tool rewrote it in place.
                time.sleep(transaction.SETTLE)
                with contextlib.suppress(OSError):
                    now = read_regular_file(self.path)
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
        edits.check_section_name(section)
        edits.check_values(values)

        def change(text: str, trusted: bool) -> str:
            if trusted and self._plain:
                fast = edits.with_section_plain(text, section, values, self.path)
                if fast is not None:
                    self._next_plain = True  # the block it put in is plain too
                    return fast
            doc = scan(text, section)
            new_text, window, window_names = edits.with_section(doc, section, values, self.path)
            if trusted:
                # The rest of the file is text already verified: only the
                # section and the header after it can have changed meaning.
                verify(window, window_names, section, values, self.path)
            else:
                names = section_names(doc)
                expected = names if section in names else [*names, section]
                verify(new_text, expected, section, values, self.path)
            return new_text

        notes, _changed = self._update(section, change, create=True)
        return notes

    def remove_section(self, section: str) -> bool:
        """Remove trayapp's ``[section]``; False if there is none."""
        edits.check_section_name(section)

        def change(text: str, trusted: bool) -> str | None:
            doc = scan(text, section)
            new_text = edits.without_section(doc, section, self.path)
            if new_text is not None:
                expected = [name for name in section_names(doc) if name != section]
                verify(new_text, expected, section, None, self.path)
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
        edits.check_section_name(section)
        removed = frozenset(key.lower() for key in remove)
        added = dict(add or {})
        edits.check_values(added)

        def change(text: str, trusted: bool) -> str | None:
            new_text = edits.with_keys_edited(scan(text, section), section, removed, added, create, self.path)
            if new_text is not None:
                verify_edit(text, new_text, section, removed, added, self.path)
            return new_text

        _notes, changed = self._update(section, change, create=create)
        return changed

    def _update(self, section: str, change: TextChange, *, create: bool) -> tuple[list[str], bool]:
        """The file's bytes through *change* as text, in one :func:`transaction.update`."""

        def on_bytes(base: bytes | None) -> bytes | None:
            self._next_plain = False
            text = decode(base, self.path, self.encoding) if base else ""
            trusted = not base or _digest(base) == self._verified
            try:
                new_text = change(text, trusted)
            except ForeignSection:
                if not trusted:
                    parse(text, self.path)  # a broken file is reported as broken first
                raise
            if new_text is None:
                return None
            if self.encoding == "utf-8":
                del text  # a large file is held as few times as possible: UTF-8 needs no original line
                return encode(new_text, "", None, self.encoding, self.path, section)
            return encode(new_text, text, base, self.encoding, self.path, section)

        def written(data: bytes) -> None:
            self._verified, self._plain = _digest(data), self._next_plain

        return transaction.update(
            self.path,
            on_bytes,
            create=create,
            lock_timeout=self.lock_timeout,
            windows=self._windows,
            written=written,
        )
