"""The AWS credentials file: add, replace and remove trayapp's own sections.

The file is the user's data.  Every byte outside the section being changed is
kept exactly, the file is replaced atomically, and a file botocore can't parse
is never touched.  The rooms, each doing one job:

* :mod:`.document` — the text as lines and sections, read with configparser's
  line rules (:mod:`trayapp.core.ini_scan`, shared with :mod:`trayapp.core.ini`);
* :mod:`.codec` — bytes to text and back in the locale's encoding, unchanged
  lines byte for byte;
* :mod:`.edits` — the new text: pure functions from text to text;
* :mod:`.verify` — the new text reads, the way botocore reads it, as meant;
* :mod:`.transaction` — ``update(path, change)``: lock, temp file, replace,
  late writers, the Windows branch;
* :mod:`.safe_io` — reading without blocking on a FIFO, errors as sentences;
* :mod:`.strict_modes` — ``ssh``-style checks of the folders around the file;
* :mod:`.file` — :class:`CredentialsFile`, which puts them together.
"""

from __future__ import annotations

from trayapp.core.credentials_file.codec import locale_encoding
from trayapp.core.credentials_file.document import MANAGED_KEY, managed_only
from trayapp.core.credentials_file.file import CredentialsFile
from trayapp.core.credentials_file.safe_io import NotRegularFile, read_regular_file
from trayapp.core.shadowing import shadowing_profiles

__all__ = [
    "MANAGED_KEY",
    "CredentialsFile",
    "NotRegularFile",
    "locale_encoding",
    "managed_only",
    "read_regular_file",
    "shadowing_profiles",
]
