"""Capture the Japanese screenshots for README from the real Tk windows under Xvfb.

    .venv/bin/python -m docs.screenshots.make_ja

writes, next to this file:

* ``dialog-ja.png`` — the MFA dialog (``python -m trayapp.tk.dialog``) with LANGUAGE=ja,
  after a reused code: the error and the countdown to the next code.
* ``menu-ja.png``   — the tray menu as the Tk popup (``python -m trayapp.tk.popup_menu``,
  the menu of pystray's xorg backend), with the first role's submenu open.

Needs Xvfb and xdotool (packaging/test-packages.txt) and Debian's ``fonts-noto-cjk``
for the Japanese glyphs (without it Tk draws empty boxes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from tests.support.desktop import Desktop  # noqa: E402
from trayapp import i18n, protocol  # noqa: E402
from trayapp.core.errors import ReusedCode  # noqa: E402
from trayapp.core.profiles import RoleProfile  # noqa: E402
from trayapp.core.results import RoleEntry  # noqa: E402
from trayapp.core.sessions import SessionInfo  # noqa: E402
from trayapp.tray import menu_model  # noqa: E402

HERE = Path(__file__).resolve().parent
JA = {"LANGUAGE": "ja", "LANG": "ja_JP.UTF-8"}
MARGIN = 12
BACKDROP = (0x3B, 0x41, 0x4A)


def _crop(screen: Path, box: tuple[int, int, int, int], out: Path) -> Path:
    """The (x, y, w, h) region of *screen* on a plain backdrop with a margin, as *out*."""
    x, y, w, h = box
    with Image.open(screen) as full:
        part = full.convert("RGB").crop((x, y, x + w, y + h))
    canvas = Image.new("RGB", (w + 2 * MARGIN, h + 2 * MARGIN), BACKDROP)
    canvas.paste(part, (MARGIN, MARGIN))
    canvas.save(out, optimize=True)
    return out


def _receive_posted(proc: subprocess.Popen[str], timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = protocol.receive(proc.stdout)
        if message is None:
            raise RuntimeError("the popup menu ended before it was shown")
        if isinstance(message.get("posted"), dict):
            posted: dict[str, Any] = message["posted"]
            return posted
    raise RuntimeError("the popup menu was not shown in time")


def dialog_shot(d: Desktop, out: Path) -> Path:
    env = {**d.env, **JA}
    proc = protocol.spawn("dialog", env=env)
    try:
        i18n.load(["ja"])
        error = str(ReusedCode(seconds=17))
        i18n.load()
        protocol.send(
            proc.stdin,
            {
                "profile": "prod",
                "role_arn": "arn:aws:iam::123456789012:role/Admin",
                "mfa_serial": "arn:aws:iam::123456789012:mfa/alice",
                "error": error,
                "countdown": 17,
            },
        )
        wid = d.wait_for_window("trayapp — MFA コード", timeout=15)
        time.sleep(0.8)  # focus, the first countdown tick
        return _crop(d.screenshot(d.tmp_dir / "dialog-full.png"), d.window_geometry(wid), out)
    finally:
        protocol.send(proc.stdin, {"done": True})
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def menu_items() -> tuple[menu_model.MenuNode, ...]:
    now = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    base = "arn:aws:iam::123456789012:role/"
    roles = [
        RoleEntry(RoleProfile("prod", base + "Admin", "base", mfa_serial="arn:aws:iam::1:mfa/alice"),
                  SessionInfo("prod", base + "Admin", now + timedelta(minutes=42))),
        RoleEntry(RoleProfile("staging", base + "Deploy", "base", mfa_serial="arn:aws:iam::1:mfa/alice"),
                  SessionInfo("staging", base + "Deploy", now - timedelta(minutes=5))),
        RoleEntry(RoleProfile("dev", base + "Dev", "base", mfa_serial="arn:aws:iam::1:mfa/alice"), None),
    ]  # fmt: skip
    i18n.load(["ja"])
    try:
        return menu_model.build_menu(roles, {}, now, timedelta(minutes=10))
    finally:
        i18n.load()


def menu_shot(d: Desktop, out: Path) -> Path:
    d.xdotool("mousemove", "40", "40")
    proc = protocol.spawn("popup_menu", env={**d.env, **JA})
    try:
        protocol.send(proc.stdin, {"items": [item.to_json() for item in menu_items()]})
        top = _receive_posted(proc)
        first = top["entries"][0]
        d.xdotool("mousemove", str(top["x"] + top["width"] // 2), str(top["y"] + first["y"] + first["height"] // 2))
        sub = _receive_posted(proc)
        time.sleep(0.5)
        left, upper = min(top["x"], sub["x"]), min(top["y"], sub["y"])
        right = max(top["x"] + top["width"], sub["x"] + sub["width"])
        lower = max(top["y"] + top["height"], sub["y"] + sub["height"])
        box = (left, upper, right - left, lower - upper)
        return _crop(d.screenshot(d.tmp_dir / "menu-full.png"), box, out)
    finally:
        d.xdotool("key", "Escape")
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    os.environ.pop("LANGUAGE", None)
    with Desktop(notifications=False, tray=False) as d:
        print(dialog_shot(d, HERE / "dialog-ja.png"))
        print(menu_shot(d, HERE / "menu-ja.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
