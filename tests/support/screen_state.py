"""Conditions a test waits for on the private X display instead of sleeping: a client took the
keyboard (a menu that drives by keys is up), a window has been painted, the screen changed."""

from __future__ import annotations

from typing import Any

from tests.support.desktop import Desktop
from tests.support.procs import HarnessError, wait_until

#: FocusIn/FocusOut ``mode`` values (X protocol): the focus moved because of a grab / its release.
NOTIFY_GRAB, NOTIFY_UNGRAB = 1, 2


class KeyboardGrab:
    """Sees another client take and release the keyboard grab, without touching it.

    A popup menu (Tk's ``tk_popup`` and a GTK menu alike) grabs the keyboard once it is ready for
    keys; keys sent before that go to whatever had the focus and are lost.  A grab moves the focus,
    so the X server sends FocusOut/FocusIn events of mode NotifyGrab to the window that had it (or
    to the root when the focus is PointerRoot): this watcher listens for those on its own
    connection, so probing cannot steal the grab from the menu.  ``arm()`` before the click that
    opens the menu, ``wait_taken()`` after.
    """

    def __init__(self, desktop: Desktop) -> None:
        from Xlib.display import Display

        assert desktop.display is not None
        self._dpy: Any = Display(desktop.display)
        self.held = False

    def arm(self) -> None:
        """Listen on the root and on the window that has the focus now; forget earlier grabs."""
        from Xlib import X
        from Xlib.error import XError

        root = self._dpy.screen().root
        watched = [root]
        focus = self._dpy.get_input_focus().focus
        if hasattr(focus, "change_attributes") and focus.id != root.id:
            watched.append(focus)
        for win in watched:
            try:
                win.change_attributes(event_mask=X.FocusChangeMask)
            except XError:
                continue  # the focus window went away meanwhile
        if not hasattr(focus, "change_attributes"):
            # Focus None (the window that had it closed with revert-to None): a grab then moves
            # no focus and sends no event; PointerRoot, the server's own start state, does.
            self._dpy.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
        self._dpy.sync()
        self._drain()
        self.held = False

    def _drain(self) -> bool:
        while self._dpy.pending_events():
            event = self._dpy.next_event()
            mode = getattr(event, "mode", None)
            if mode == NOTIFY_GRAB:
                self.held = True
            elif mode == NOTIFY_UNGRAB:
                self.held = False
        return self.held

    def wait_taken(self, what: str = "the menu to take the keyboard", timeout: float = 8) -> None:
        wait_until(what, self._drain, timeout, interval=0.01)

    def close(self) -> None:
        self._dpy.close()


def painted(desktop: Desktop, wid: int) -> bool:
    """Whether the window shows more than one colour (its text and frame are drawn)."""
    from PIL import ImageGrab

    x, y, w, h = desktop.window_geometry(wid)
    if x + w <= 0 or y + h <= 0 or w < 2 or h < 2:
        return True  # off the screen (GTK's grab window): nothing to draw
    shot = ImageGrab.grab(bbox=(max(x, 0), max(y, 0), x + w, y + h), xdisplay=desktop.display)
    extrema = shot.convert("L").getextrema()
    return bool(extrema[0] != extrema[1])


def wait_painted(desktop: Desktop, windows: set[int] | int, timeout: float = 8) -> None:
    """Wait until each of *windows* is drawn (a window maps blank and paints a moment later)."""
    ids = {windows} if isinstance(windows, int) else set(windows)
    blank: list[str] = []

    def probe() -> bool:
        blank[:] = [f"{w} at {desktop.window_geometry(w)}" for w in sorted(ids) if not painted(desktop, w)]
        return not blank

    try:
        wait_until("the window to be painted", probe, timeout, interval=0.02)
    except HarnessError as exc:
        raise HarnessError(f"{exc}; still blank: {', '.join(blank)}") from None


def window_image(desktop: Desktop, wid: int) -> Any:
    from PIL import ImageGrab

    x, y, w, h = desktop.window_geometry(wid)
    return ImageGrab.grab(bbox=(x, y, x + w, y + h), xdisplay=desktop.display).convert("RGB")


def wait_changed(desktop: Desktop, wid: int, before: Any, what: str, timeout: float = 8) -> Any:
    """Wait until the window looks different from *before* (``window_image``); the new image."""
    from PIL import ImageChops

    def probe() -> Any:
        now = window_image(desktop, wid)
        return now if now.size != before.size or ImageChops.difference(now, before).getbbox() else None

    return wait_until(what, probe, timeout, interval=0.02)


def clipboard_text(desktop: Desktop, timeout: float = 2.0) -> str | None:
    """The CLIPBOARD's text as a pasting client gets it (UTF8_STRING), or None while nobody owns it.

    In this process, on its own X connection: a Python + Tk child per look cost seconds on a
    loaded machine, and three slow looks used up the whole wait."""
    import select
    import time

    from Xlib import X
    from Xlib.display import Display

    assert desktop.display is not None
    dpy: Any = Display(desktop.display)
    try:
        clipboard, utf8 = dpy.intern_atom("CLIPBOARD"), dpy.intern_atom("UTF8_STRING")
        if dpy.get_selection_owner(clipboard) == X.NONE:
            return None
        win = dpy.screen().root.create_window(0, 0, 1, 1, 0, X.CopyFromParent)
        target = dpy.intern_atom("TRAYAPP_TEST_PASTE")
        win.convert_selection(clipboard, utf8, target, X.CurrentTime)
        dpy.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not dpy.pending_events():
                select.select([dpy.fileno()], [], [], max(0.0, deadline - time.monotonic()))
                continue
            event = dpy.next_event()
            if event.type == X.SelectionNotify:
                if event.property == X.NONE:
                    return None
                prop = win.get_full_property(target, X.AnyPropertyType)
                value = b"" if prop is None else bytes(prop.value)
                return value.decode("utf-8", "replace")
        return None
    finally:
        dpy.close()
