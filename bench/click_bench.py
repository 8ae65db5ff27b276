"""Click → window: how long a person waits for the MFA dialog and (xorg) for the popup menu.

The "click" is the X input event itself, sent with the XTEST extension (no xdotool process in the
measured time): Return on the menu's "Assume role" entry for the dialog, button 1 on the docked icon
for the menu.  The window counts as there when a new viewable child of the root window appears
(python-xlib), as a person would see it.  Also the helper children the tray keeps (warm, withdrawn
Tk programs): their RSS and wake-ups while idle.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from bench.common import proc_status, summary
from bench.desktop_bench import DIALOG_TITLE, TrayRun, _poll, _toplevels
from tests.support.desktop import Desktop

SETTLE_S = 2.0  # after a dialog or menu closes, the tray starts its next warm child (popup: 0.5 s later)


def _fake(desktop: Desktop, kind: int, detail: int) -> None:
    from Xlib.ext import xtest

    xtest.fake_input(desktop.xdisplay, kind, detail)
    desktop.xdisplay.sync()


def _key(desktop: Desktop, keysym_name: str) -> None:
    from Xlib import XK, X

    code = desktop.xdisplay.keysym_to_keycode(XK.string_to_keysym(keysym_name))
    _fake(desktop, X.KeyPress, code)
    _fake(desktop, X.KeyRelease, code)


def _click_at(desktop: Desktop, x: int, y: int) -> float:
    """Move the pointer to x, y and click button 1; the time of the press."""
    from Xlib import X

    desktop.xdisplay.screen().root.warp_pointer(x, y)
    desktop.xdisplay.sync()
    t = time.perf_counter()
    _fake(desktop, X.ButtonPress, 1)
    _fake(desktop, X.ButtonRelease, 1)
    return t


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
    return out


def _open_menu_timed(run: TrayRun) -> tuple[float | None, set[int]]:
    """Click the icon; seconds from the press to the menu's window, and the new windows."""
    assert run.icon is not None
    _, x, y, w, h = run.icon
    before = _toplevels(run.desktop)
    t = _click_at(run.desktop, x + w // 2, y + h // 2)
    new = _poll(lambda: _toplevels(run.desktop) - before, 3.0, 0.0005)
    return (time.perf_counter() - t if new else None), (new or set())


def _dialog_timed(run: TrayRun) -> float | None:
    """Menu → first role → Assume role; seconds from the Return press to the dialog's window."""
    desktop = run.desktop
    if run.open_menu(timeout=3.0) is None:
        return None
    time.sleep(0.3)
    _key(desktop, "Down")
    time.sleep(0.2)
    _key(desktop, "Right")
    time.sleep(0.4)
    before = _toplevels(desktop)
    t = time.perf_counter()
    _key(desktop, "Return")
    opened = _poll(lambda: (_toplevels(desktop) - before) - run.menu_windows, 5.0, 0.0005)
    took = time.perf_counter() - t if opened else None
    # Cancel the dialog (Escape) and wait for it to go.
    with contextlib.suppress(Exception):
        desktop.key(DIALOG_TITLE, "Escape", timeout=5)
    _poll(lambda: not (set(opened or ()) & _toplevels(desktop)), 5.0)
    return took


def _idle_child(pid: int, seconds: float) -> dict[str, Any]:
    st0 = proc_status(pid)
    time.sleep(seconds)
    st1 = proc_status(pid)
    switches = st1["voluntary"] - st0["voluntary"] + st1["nonvoluntary"] - st0["nonvoluntary"]
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        program = f.read().split(b"\0")[2].decode(errors="replace") if f else "?"
    return {
        "program": program,
        "rss_mb": round(st1["rss_kb"] / 1024, 1),
        "wakeups": switches,
        "wakeups_per_min": round(switches * 60 / seconds, 1),
    }


def click_to_window(desktop: Desktop, env: dict[str, str], backend: str, clicks: int) -> dict[str, Any]:
    """One tray: the first dialog 1 s after the icon docks, then *clicks* - 1 more; on xorg the
    same for the popup menu; then the idle cost of the children it keeps."""
    run = TrayRun(desktop, env, backend, f"tray-{backend}-clicks")
    out: dict[str, Any] = {"backend": backend}
    try:
        run.wait_icon()
        time.sleep(SETTLE_S)
        dialog: list[float] = []
        for _ in range(clicks):
            took = _dialog_timed(run)
            if took is not None:
                dialog.append(took)
            time.sleep(SETTLE_S)
        out["dialog_first_ms"] = round(dialog[0] * 1000, 1) if dialog else None
        out["dialog_later"] = summary(dialog[1:])
        out["dialog_all_ms"] = [round(v * 1000, 1) for v in dialog]
        out["dialog_seen"] = f"{len(dialog)}/{clicks}"
        if backend == "xorg":
            menu: list[float] = []
            for _ in range(clicks):
                took, windows = _open_menu_timed(run)
                if took is not None:
                    menu.append(took)
                time.sleep(0.3)  # the menu takes the keyboard (focus_force) just after it maps
                _key(desktop, "Escape")
                _poll(lambda: not (windows & _toplevels(desktop)), 3.0)  # noqa: B023 (called at once)
                time.sleep(SETTLE_S)
            out["menu_first_ms"] = round(menu[0] * 1000, 1) if menu else None
            out["menu_later"] = summary(menu[1:])
            out["menu_all_ms"] = [round(v * 1000, 1) for v in menu]
            out["menu_seen"] = f"{len(menu)}/{clicks}"
        out["tray_rss_mb"] = round(proc_status(run.pid)["rss_kb"] / 1024, 1)
        out["children_idle"] = [_idle_child(pid, 3.0) for pid in _children(run.pid)]
    finally:
        run.stop()
    return out


__all__ = ["click_to_window"]


def rows(backend: str, c: dict[str, Any]) -> list[dict[str, Any]]:
    """bench/run.py's table lines for one backend's :func:`click_to_window` result."""
    from bench.run import budget, info

    err = str(c.get("error", ""))[:200]
    later = c.get("dialog_later", {})
    out = [
        budget(f"click_dialog_first_{backend}", f"1 Click → MFA dialog mapped, first click ({backend})",
               c.get("dialog_first_ms"), 100, "ms",
               err or f"{c.get('dialog_seen')} clicks opened it; the tray shows it before the first assume asks"),
        budget(f"click_dialog_{backend}", f"1 Click → MFA dialog mapped, later clicks ({backend}), median",
               later.get("median_ms"), 100, "ms", err or f"all: {c.get('dialog_all_ms')}"),
    ]  # fmt: skip
    if backend == "xorg":
        out.append(
            budget(f"click_menu_{backend}", f"1 Click → popup menu mapped, after the first ({backend}), median",
                   _median_or_none(c.get("menu_later", {})), 100, "ms",
                   err or f"{c.get('menu_seen')} opened; first {c.get('menu_first_ms')}; all: {c.get('menu_all_ms')}")
        )  # fmt: skip
    for child in c.get("children_idle", []):
        out.append(
            info(f"warm_{child['program']}_{backend}", f"  warm {child['program']} ({backend}): RSS, wake-ups in 3 s",
                 child["rss_mb"], "MB", f"{child['wakeups']} wake-ups")
        )  # fmt: skip
    return out


def _median_or_none(s: dict[str, Any]) -> float | None:
    value = s.get("median_ms")
    return float(value) if value is not None else None
