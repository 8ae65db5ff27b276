"""The credentials file's bytes as text and back, in the encoding botocore reads it in.

The file is decoded in the locale's preferred encoding, as botocore opens it
(UTF-8 on UTF-8 locales; cp1252, cp932... on Windows), and written back in that
encoding with every line outside the section being changed byte for byte; a
file that doesn't decode, or starts with a byte order mark, is refused.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from trayapp.core.credentials_file.document import split
from trayapp.core.errors import CredentialsFileError, UnparsableFile
from trayapp.i18n import _

__all__ = ["decode", "encode", "locale_encoding"]

BOM = b"\xef\xbb\xbf"
_LINE_RE_BYTES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def locale_encoding() -> str:
    """The encoding botocore reads the AWS files in: the locale's preferred one (``open()``'s default)."""
    import locale

    return codecs.lookup(locale.getpreferredencoding(False)).name


def decode(data: bytes, path: Path, encoding: str = "utf-8") -> str:
    if data.startswith(BOM):
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


def encode(new_text: str, old_text: str, base: bytes | None, encoding: str, path: Path, section: str) -> bytes:
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
    old_lines = split(old_text)[0]
    old_raw = _LINE_RE_BYTES.findall(base)
    if len(old_raw) != len(old_lines):  # pragma: no cover - line breaks are ASCII in every locale encoding
        return encoded
    originals = dict(zip(old_lines, old_raw, strict=True))
    return b"".join(originals.get(line) or line.encode(encoding) for line in split(new_text)[0])
