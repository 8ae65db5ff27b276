"""Collect trayapp's messages into ``trayapp/locale/trayapp.pot`` (standard library only).

    python packaging/i18n/extract.py            # write the template
    python packaging/i18n/extract.py --merge    # ... and bring every LANG/LC_MESSAGES/trayapp.po in line:
                                                #     new messages added untranslated, gone ones dropped
    python packaging/i18n/extract.py --check    # exit 1 when the template is not current (CI)

Messages are the string literals given to ``_()``, ``N_()`` and ``ngettext()``,
and the class-level ``template = "..."`` of the error classes (translated by
``TrayappError.__init__`` when the message is built).  Locations name the file
only, so moving code around does not change the template.

After editing a ``.po``: ``python packaging/i18n/compile_mo.py`` (commit both).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compile_mo import DOMAIN, LOCALE, ROOT, Entry, parse_po

PACKAGE = ROOT / "trayapp"
POT = LOCALE / f"{DOMAIN}.pot"
BRACE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")

POT_HEADER = """\
# Messages of trayapp, made by packaging/i18n/extract.py: do not edit by hand.
msgid ""
msgstr ""
"Project-Id-Version: trayapp\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"""


@dataclass
class Message:
    msgid: str
    plural: str | None = None
    files: list[str] = field(default_factory=list)


def _string(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def messages_of(source: str, name: str) -> list[tuple[str, str | None]]:
    """(msgid, plural) of one module, in the order they appear."""
    found: list[tuple[int, int, str, str | None]] = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            first = _string(node.args[0])
            if node.func.id in ("_", "N_") and first is not None:
                found.append((node.lineno, node.col_offset, first, None))
            elif node.func.id == "ngettext" and len(node.args) >= 2:
                second = _string(node.args[1])
                if first is not None and second is not None:
                    found.append((node.lineno, node.col_offset, first, second))
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                target = value = None
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    target, value = stmt.targets[0], stmt.value
                elif isinstance(stmt, ast.AnnAssign):
                    target, value = stmt.target, stmt.value
                if isinstance(target, ast.Name) and target.id == "template" and value is not None:
                    text = _string(value)
                    if text is not None:
                        found.append((stmt.lineno, stmt.col_offset, text, None))
    return [(msgid, plural) for _, _, msgid, plural in sorted(found)]


def collect(package: Path = PACKAGE) -> list[Message]:
    messages: dict[str, Message] = {}
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package.parent).as_posix()
        for msgid, plural in messages_of(path.read_text(encoding="utf-8"), name):
            if not msgid:
                continue
            message = messages.setdefault(msgid, Message(msgid, plural))
            if name not in message.files:
                message.files.append(name)
    return list(messages.values())


def quote(text: str) -> str:
    """A PO string; multi-line text split after each newline."""

    def one(part: str) -> str:
        escaped = part.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'

    if "\n" not in text.rstrip("\n"):
        return one(text)
    parts = text.splitlines(keepends=True)
    return '""\n' + "\n".join(one(p) for p in parts)


def flags_of(msgid: str) -> list[str]:
    return ["python-brace-format"] if BRACE.search(msgid) else []


def render_entry(msgid: str, plural: str | None, msgstr: list[str], comments: list[str], flags: list[str]) -> str:
    lines = list(comments)
    if flags:
        lines.append("#, " + ", ".join(flags))
    lines.append("msgid " + quote(msgid))
    if plural is None:
        lines.append("msgstr " + quote(msgstr[0] if msgstr else ""))
    else:
        lines.append("msgid_plural " + quote(plural))
        for index, text in enumerate(msgstr or ["", ""]):
            lines.append(f"msgstr[{index}] " + quote(text))
    return "\n".join(lines) + "\n"


def pot_text(messages: list[Message]) -> str:
    blocks = [POT_HEADER]
    for m in messages:
        comments = ["#: " + " ".join(m.files)]
        blocks.append(render_entry(m.msgid, m.plural, [], comments, flags_of(m.msgid)))
    return "\n".join(blocks)


def merged_po(po_text: str, messages: list[Message]) -> str:
    """*po_text* with the template's messages, in its order: translations kept, new ones empty."""
    entries = parse_po(po_text)
    header = next((e for e in entries if not e.msgid), None)
    known: dict[str, Entry] = {e.msgid: e for e in entries if e.msgid}
    blocks = []
    if header is not None:
        header_comments = [c for c in header.comments if not c.startswith("#:")]
        blocks.append(render_entry("", None, header.msgstr, header_comments, sorted(header.flags)))
    for m in messages:
        old = known.get(m.msgid)
        comments = [c for c in old.comments if c.startswith("# ")] if old else []
        comments.append("#: " + " ".join(m.files))
        flags = flags_of(m.msgid) + sorted((old.flags if old else set()) - {"python-brace-format"})
        blocks.append(render_entry(m.msgid, m.plural, old.msgstr if old else [], comments, flags))
    return "\n".join(blocks)


def main(argv: list[str]) -> int:
    messages = collect()
    text = pot_text(messages)
    if "--check" in argv:
        if not POT.is_file() or POT.read_text(encoding="utf-8") != text:
            print(f"{POT.relative_to(ROOT)} is not current: run python packaging/i18n/extract.py --merge")
            return 1
        return 0
    POT.parent.mkdir(parents=True, exist_ok=True)
    POT.write_text(text, encoding="utf-8")
    print(f"wrote {POT.relative_to(ROOT)}: {len(messages)} messages")
    if "--merge" in argv:
        for po in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            po.write_text(merged_po(po.read_text(encoding="utf-8"), messages), encoding="utf-8")
            missing = sum(1 for e in parse_po(po.read_text(encoding="utf-8")) if e.msgid and not e.translated)
            print(f"merged {po.relative_to(ROOT)}: {missing} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
