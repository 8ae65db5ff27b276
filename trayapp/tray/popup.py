"""The tray menu as a Tk popup (the parent's side), for pystray backends without menus.

The child is ``python -m trayapp.tk.popup_menu``; this side imports no GUI toolkit.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence

from trayapp import protocol
from trayapp.tray import warm
from trayapp.tray.menu_model import MenuNode

#: Seconds between a menu closing and the next warm one starting: the window the choice opens
#: (the MFA dialog, say) gets the CPU first.  One wait per use, not a timer that repeats.
REFILL_DELAY = 0.5


def show_popup(items: Sequence[MenuNode], timeout: float | None = None) -> str | None:
    """Show *items* at the pointer in a child process — the warm one the tray keeps ready when
    there is one (:mod:`trayapp.tray.warm`); the chosen action id, or None.  The choice is
    returned as soon as it is made; the child is reaped, and the next one started, behind it."""
    proc = warm.POPUP.take()
    choice: str | None = None
    try:
        if not protocol.send(proc.stdin, {"items": [i.to_json() for i in items]}):
            return None
        while True:
            message = protocol.receive(proc.stdout)
            if message is None:
                break
            if isinstance(message.get("choice"), str):
                choice = message["choice"]
                break  # the child exits by itself after a choice
        return choice
    finally:
        threading.Thread(target=_end, args=(proc, timeout), name="trayapp-popup-end", daemon=True).start()


def _end(proc: subprocess.Popen[str], timeout: float | None) -> None:
    protocol.finish(proc, timeout or 5)
    time.sleep(REFILL_DELAY)
    warm.POPUP.refill()
