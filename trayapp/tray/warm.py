"""Tk programs started before they are needed, so a click shows a window in a frame.

Starting ``python -m trayapp.tk.<program>`` costs 150–300 ms (Python, Tk, the layout); a person
clicking "Assume role" or the icon would wait for all of it.  A :class:`Spare` keeps one such child
ready: started once the icon shows, it builds its window withdrawn and then blocks reading its
standard input — no timer, no polling, no wake-up until the parent writes.  :meth:`Spare.take`
hands it over (or starts one at once if none is ready), and :meth:`Spare.refill` starts the next
one once the used one has ended, so two never compete for the CPU while a window opens.

Each child reads its standard input until the end: when the tray ends — even killed — the pipe
closes and the spare exits by itself.  :meth:`Spare.close` ends it sooner, on Quit.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable

from trayapp import protocol
from trayapp.core.errors import TrayappError

log = logging.getLogger(__name__)


class Spare:
    """One ready child of ``python -m trayapp.tk.<program>``."""

    def __init__(self, program: str, spawn: Callable[[str], subprocess.Popen[str]] | None = None) -> None:
        self.program = program
        self._spawn = spawn or (lambda name: protocol.spawn(name))
        self._ready: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._wanted = False  # refill() only after start(): a CLI process keeps no spare

    @property
    def ready(self) -> subprocess.Popen[str] | None:
        """The child waiting for its first message (None if there is none)."""
        proc = self._ready
        return proc if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start keeping a spare (the tray calls this once its icon shows)."""
        with self._lock:
            self._wanted, self._closed = True, False
        self.refill()

    def refill(self) -> None:
        """Start the next spare unless one is ready (or the tray is ending)."""
        with self._lock:
            if self._closed or not self._wanted or self.ready is not None:
                return
            self._discard_locked()
            try:
                self._ready = self._spawn(self.program)
            except (OSError, TrayappError) as exc:  # the window will be started on the click instead
                log.warning("the %s program could not be started ahead: %s", self.program, exc)
                self._ready = None

    def take(self) -> subprocess.Popen[str]:
        """The ready child, or a new one started now; the caller owns it from here."""
        with self._lock:
            proc, self._ready = self.ready, None
            if proc is None:
                self._discard_locked()
        return proc if proc is not None else self._spawn(self.program)

    def close(self) -> None:
        """No more spares; end the one that is waiting."""
        with self._lock:
            self._closed = True
            self._discard_locked()

    def _discard_locked(self) -> None:
        proc, self._ready = self._ready, None
        if proc is None:
            return
        protocol.finish(proc, 2)


#: The tray's spares: the MFA dialog, and the popup menu of backends without a menu (xorg).
DIALOG = Spare("dialog")
POPUP = Spare("popup_menu")


def start(icon: object, *, dialog: bool, popup: bool) -> str | None:
    """Keep the spares the tray will use: the dialog when *dialog* (the tray asks with
    :func:`trayapp.tray.dialog_prompt.desktop_prompt`), the popup menu when *popup* and the
    backend has no menu of its own.  Nothing on a backend without a screen (``dummy``).

    When this Python has no Tk, nothing is started: the sentence to tell (it says the icon has no
    menu when it would need the popup), else None."""
    from trayapp.core import tk_check
    from trayapp.core.prompts import has_display
    from trayapp.tray import backend

    if icon is None or backend.name(icon) == "dummy" or not has_display() or not (dialog or popup):
        return None
    needs_popup = popup and not getattr(icon, "HAS_MENU", True)
    if tk_check.problem() is not None:
        missing = tk_check.TkMissingNoMenu if needs_popup else tk_check.TkMissing
        return str(missing(fix=tk_check.fix()))
    if needs_popup:
        POPUP.start()  # the first click opens the menu: this one first
    if dialog:
        DIALOG.start()
    return None


def stop() -> None:
    """End the waiting spares; none is started after this (the tray is ending)."""
    POPUP.close()
    DIALOG.close()
