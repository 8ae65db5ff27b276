"""Make clicks reach pystray's ``xorg`` backend (pystray 0.19.5).

That backend creates its icon window with ``ExposureMask |
StructureNotifyMask`` only, so the X server never delivers ``ButtonPress`` to
it and the default action can't run (upstream issue #151).  The least
invasive fix: after the ``Icon`` is built, add ``ButtonPressMask`` to the
event mask of that one window, and let the right button act like the left
(the backend itself only reacts to button 1).  Nothing else of pystray is
touched; on every other backend this does nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from trayapp.compat import pystray as compat_pystray

log = logging.getLogger(__name__)


def is_xorg(icon: Any) -> bool:
    from trayapp.tray import backend

    return backend.name(icon) == "xorg"


def enable_clicks(icon: Any, buttons: tuple[int, ...] = (1, 3)) -> bool:
    """Select button presses on *icon*'s window; True when that was needed and done.

    Call before ``icon.run()``: the backend's event loop is not running yet, so
    using its display connection from this thread is safe.
    """
    if not is_xorg(icon):
        return False
    parts = compat_pystray.xorg_parts(icon)
    if parts is None:
        log.warning("pystray's xorg backend changed; tray clicks may not arrive")
        return False
    window, display, handlers = parts
    from Xlib import X

    mask = window.get_attributes().your_event_mask | X.ButtonPressMask
    window.change_attributes(event_mask=mask)
    display.flush()

    def on_button_press(event: Any) -> None:
        if event.detail in buttons:
            icon()

    handlers[X.ButtonPress] = on_button_press
    return True


def keep_docked(icon: Any, checks: tuple[float, ...] = (0.4, 0.6, 1.0, 2.0, 4.0)) -> threading.Thread | None:
    """Ask the tray again when it ignored the icon's dock request.

    Seen with trayer: now and then the first ``SYSTEM_TRAY_REQUEST_DOCK`` is
    lost and the icon never appears.  A watcher looks (on its own X
    connection) whether the icon's window was reparented into the tray, and
    if not, runs the backend's own ``_show`` again (:mod:`trayapp.compat.pystray`), which re-sends
    the request.
    """
    if not is_xorg(icon) or not compat_pystray.can_dock_again(icon):
        return None

    def watch() -> None:
        from Xlib.display import Display

        try:
            display = Display()
        except Exception:
            return
        try:
            window = display.create_resource_object("window", compat_pystray.xorg_window_id(icon))
            root = display.screen().root.id
            for delay in checks:
                time.sleep(delay)
                if not icon.visible:
                    return
                if window.query_tree().parent.id != root:
                    return  # docked
                log.info("the system tray did not take the icon; asking again")
                compat_pystray.dock_again(icon)
        except Exception:  # the icon was destroyed meanwhile: nothing to watch
            log.debug("dock watcher stopped", exc_info=True)
        finally:
            display.close()

    thread = threading.Thread(target=watch, name="trayapp-dock-watch", daemon=True)
    thread.start()
    return thread
