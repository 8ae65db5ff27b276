"""New sections appended to an AWS config file in one transaction: all of them or none.

The sections are chosen *inside* the transaction (:func:`trayapp.core.credentials_file.transaction.update`:
the file's lock, a temp file, fsync, ``os.replace``), from the file as it is at that moment, so a
section another program added meanwhile is seen before a name is picked; when the file changes
before the replace, the choice is made again on the new file.  The new text must read, the way
botocore reads it, as the old sections unchanged and in order followed by exactly the new ones —
else nothing is written.  Every byte of the old file is kept; the new sections follow a blank line,
in the file's own line ending.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from trayapp.core.credentials_file import transaction
from trayapp.core.credentials_file.codec import decode, encode, locale_encoding
from trayapp.core.credentials_file.document import dominant_newline
from trayapp.core.credentials_file.edits import check_section_name, check_values
from trayapp.core.credentials_file.verify import own_items, parse
from trayapp.core.errors import CredentialsFileError, TrayappError
from trayapp.i18n import _

__all__ = ["ConfigNotChanged", "Planner", "append_sections"]

#: From the file's sections as botocore reads them (header → keys), the sections to add (header → keys).
Planner = Callable[[Mapping[str, Mapping[str, str]]], dict[str, dict[str, str]]]


class ConfigNotChanged(TrayappError):
    template = "The AWS config file {path} was not changed: {reason}."


def _appended(text: str, sections: Mapping[str, Mapping[str, str]]) -> str:
    newline = dominant_newline(text)
    blocks = [
        newline.join([f"[{header}]", *(f"{key} = {value}" for key, value in keys.items())])
        for header, keys in sections.items()
    ]
    lead = ""
    if text:
        lead = newline if text.endswith(("\n", "\r")) else newline * 2
    return text + lead + (newline * 2).join(blocks) + newline


def append_sections(
    path: os.PathLike[str] | str, planner: Planner, *, lock_timeout: float = 10.0
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Append what *planner* makes of the file, in one atomic replace under the file's lock.

    Returns the sections written (those of the content that was put in place; {} when the planner
    found nothing to add) and notes for the user.  Errors are :class:`ConfigNotChanged` sentences.
    """
    where = Path(path)
    encoding = locale_encoding()
    planned: dict[bytes, dict[str, dict[str, str]]] = {}
    written: list[dict[str, dict[str, str]]] = []

    def change(base: bytes | None) -> bytes | None:
        text = decode(base, where, encoding) if base else ""
        before = own_items(parse(text, where), text) if text else {}
        sections = planner(before)
        if not sections:
            return None
        for header, keys in sections.items():
            check_section_name(header)
            check_values(keys)
            if header in before:
                raise ValueError(f"[{header}] exists already")  # the planner's job: a bug, not input
        new_text = _appended(text, sections)
        after = own_items(parse(new_text, where), new_text)
        if list(after.items()) != [*before.items(), *sections.items()]:
            raise CredentialsFileError(
                path=where,
                reason=_("the change would alter how a neighbouring section is read; edit the file by hand"),
            )
        data = encode(new_text, text, base, encoding, where, next(iter(sections)))
        planned[data] = sections
        return data

    try:
        notes, _changed = transaction.update(
            where, change, create=True, lock_timeout=lock_timeout, written=lambda data: written.append(planned[data])
        )
    except CredentialsFileError as exc:
        raise ConfigNotChanged(path=where, reason=exc.fields.get("reason", str(exc))) from None
    return (written[-1] if written else {}), notes
