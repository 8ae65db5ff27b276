"""Compile gettext catalogues (.po → .mo) with the standard library only.

    python packaging/i18n/compile_mo.py                  # every trayapp/locale/*/LC_MESSAGES/trayapp.po
    python packaging/i18n/compile_mo.py IN.po OUT.mo     # one file

The output is the GNU .mo format (little-endian, no hash table), byte-for-byte
the same for the same .po, so a test can check that the committed .mo is current.
Fuzzy entries and untranslated ones are left out, as msgfmt does.
"""

from __future__ import annotations

import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "trayapp" / "locale"
DOMAIN = "trayapp"


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    #: msgstr, or msgstr[0], msgstr[1], ... for a plural entry
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        return any(self.msgstr) and "fuzzy" not in self.flags


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {text!r}")
    # PO strings use C escapes; a Python string literal reads the same ones.
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def parse_po(text: str, name: str = "<po>") -> list[Entry]:
    """The entries of a .po file, the header (msgid "") included."""
    entries: list[Entry] = []
    entry = Entry()
    started = False
    current: tuple[str, int] | None = None  # which field continuation lines extend

    def finish() -> None:
        nonlocal entry, started, current
        if started:
            entries.append(entry)
        entry, started, current = Entry(), False, None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue  # obsolete
        if line.startswith("#"):
            if started and current is not None and current[0] != "comment":
                finish()
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            else:
                entry.comments.append(raw)
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"{where}: a string continues nothing")
            value = _unquote(line, where)
            kind, index = current
            if kind == "msgid":
                entry.msgid += value
            elif kind == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + value
            elif kind == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + value
            else:
                entry.msgstr[index] += value
            continue
        if keyword in ("msgctxt", "msgid") and started and entry.msgstr:
            finish()
        started = True
        if keyword == "msgctxt":
            entry.msgctxt, current = _unquote(rest, where), ("msgctxt", 0)
        elif keyword == "msgid":
            entry.msgid, current = _unquote(rest, where), ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural, current = _unquote(rest, where), ("msgid_plural", 0)
        elif keyword == "msgstr":
            entry.msgstr = [_unquote(rest, where)]
            current = ("msgstr", 0)
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            index = int(keyword[7:-1])
            if index != len(entry.msgstr):
                raise ValueError(f"{where}: msgstr[{index}] out of order")
            entry.msgstr.append(_unquote(rest, where))
            current = ("msgstr", index)
        else:
            raise ValueError(f"{where}: unknown line {line!r}")
    finish()
    return entries


def mo_bytes(entries: list[Entry]) -> bytes:
    """The .mo image of *entries* (header first, keys sorted as gettext's binary search needs)."""
    catalogue: dict[bytes, bytes] = {}
    for e in entries:
        if e.msgid and not e.translated:
            continue
        if not e.msgid and "fuzzy" in e.flags and not e.msgstr:
            continue
        key = e.msgid if e.msgid_plural is None else e.msgid + "\0" + e.msgid_plural
        if e.msgctxt is not None:
            key = e.msgctxt + "\x04" + key
        catalogue[key.encode("utf-8")] = "\0".join(e.msgstr).encode("utf-8")
    keys = sorted(catalogue)
    count = len(keys)
    originals_at = 7 * 4
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    ids = b"".join(k + b"\0" for k in keys)
    strs = b"".join(catalogue[k] + b"\0" for k in keys)
    originals, translations = [], []
    offset = data_at
    for k in keys:
        originals.append((len(k), offset))
        offset += len(k) + 1
    for k in keys:
        translations.append((len(catalogue[k]), offset))
        offset += len(catalogue[k]) + 1
    header = struct.pack("<7I", 0x950412DE, 0, count, originals_at, translations_at, 0, data_at)
    table = b"".join(struct.pack("<2I", n, o) for n, o in originals + translations)
    return header + table + ids + strs


def compile_file(po: Path, mo: Path) -> None:
    entries = parse_po(po.read_text(encoding="utf-8"), str(po))
    mo.write_bytes(mo_bytes(entries))


def main(argv: list[str]) -> int:
    if len(argv) == 2:
        compile_file(Path(argv[0]), Path(argv[1]))
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for po in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        compile_file(po, po.with_suffix(".mo"))
        print(f"compiled {po.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
