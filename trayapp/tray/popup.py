"""The tray menu as a Tk popup (the parent's side), for pystray backends without menus.

The child is ``python -m trayapp.tk.popup_menu``; this side imports no GUI toolkit.
"""

from __future__ import annotations

from collections.abc import Sequence

from trayapp import protocol
from trayapp.tray import warm
from trayapp.tray.menu_model import MenuNode


def show_popup(items: Sequence[MenuNode], timeout: float | None = None) -> str | None:
    """Show *items* at the pointer in a child process — the warm one the tray keeps ready when
    there is one (:mod:`trayapp.tray.warm`), then the next one is started; the chosen action id,
    or None."""
    proc = warm.POPUP.take()
    try:
        if not protocol.send(proc.stdin, {"items": [i.to_json() for i in items]}):
            return None
        choice: str | None = None
        while True:
            message = protocol.receive(proc.stdout)
            if message is None:
                break
            if isinstance(message.get("choice"), str):
                choice = message["choice"]
        return choice
    finally:
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        try:
            proc.wait(timeout=timeout or 5)
        except Exception:
            proc.kill()
            proc.wait()
        warm.POPUP.refill()
