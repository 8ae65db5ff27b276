"""pystray's private names, for the tray process only (pystray 0.19.5; ``pystray<0.20``).

pystray offers no public call for what these do: open the native menu from code, let a
click reach the xorg backend, dock again, wake the xorg loop, release the setup thread.
Each function here is the one place its private name is used; ``PRIVATE`` lists them.
"""

from __future__ import annotations

from typing import Any

from trayapp.compat import Private

#: pystray's win32 backend opens its menu on this ``WM_NOTIFY`` code (a right button release).
WM_RBUTTONUP = 0x0205

_MENU_FROM_CODE = "https://github.com/moses-palmer/pystray/issues/166 (opening the menu from code: declined upstream)"
_XORG_CLICKS = "https://github.com/moses-palmer/pystray/issues/151 (xorg icon gets no ButtonPress)"

PRIVATE: tuple[Private, ...] = (
    *(
        Private(
            f"pystray._{backend}",
            "",
            "module",
            "the backend is told by the module of the Icon class (pystray.Icon is one of these)",
            "no upstream issue found (pystray has no public name for the chosen backend)",
        )
        for backend in ("xorg", "gtk", "appindicator", "darwin", "win32", "dummy")
    ),
    Private(
        "pystray._base",
        "Icon._mark_ready",
        "self",
        "the setup thread is not a daemon and waits for the loop: released when the loop failed to start",
        "https://github.com/moses-palmer/pystray/issues/89 (a daemon setup thread: declined upstream)",
        (),
    ),
    Private(
        "pystray._gtk",
        "Icon._on_status_icon_popup_menu",
        "self",
        "a left click opens the native menu too (GTK opens it on the right button only)",
        _MENU_FROM_CODE,
        ("status_icon", "button", "activate_time"),
    ),
    Private("pystray._gtk", "Icon._status_icon", "self", "the argument of the popup handler above", _MENU_FROM_CODE),
    Private(
        "pystray._win32",
        "Icon._on_notify",
        "self",
        "a left click opens the native menu too, as if the right button had been released",
        "https://github.com/moses-palmer/pystray/issues/100 and #180 (the maintainer suggests calling "
        "_on_notify with WM_RBUTTONUP)",
        ("wparam", "lparam"),
    ),
    Private("pystray._xorg", "Icon._window", "self", "ButtonPressMask is added to the icon's window", _XORG_CLICKS),
    Private(
        "pystray._xorg",
        "Icon._display",
        "self",
        "the X connection: flushed after the mask change, and to wake the backend's loop when python-xlib "
        "lost a wakeup (tray.backend's nudge)",
        _XORG_CLICKS + "; the lost wakeup: no upstream issue found",
    ),
    Private(
        "pystray._xorg",
        "Icon._message_handlers",
        "self",
        "a ButtonPress handler runs the default action (the backend handles no button events)",
        _XORG_CLICKS,
    ),
    Private(
        "pystray._xorg",
        "Icon._show",
        "self",
        "sends the dock request again when the system tray ignored the first one (seen with trayer)",
        "no upstream issue found",
        (),
    ),
)


def backend_name(icon: Any) -> str:
    """The backend of *icon* (an ``Icon`` or its class): ``xorg``, ``gtk``, ``appindicator``…
    read from the private module that defines its class (``pystray._xorg``)."""
    cls = icon if isinstance(icon, type) else type(icon)
    return str(cls.__module__).rsplit("._", 1)[-1]


def release_setup_thread(icon: Any) -> None:
    """Let pystray's setup thread (not a daemon, waiting for the loop to be ready) go."""
    icon._mark_ready()


def flush_display(icon: Any) -> None:
    """Flush the xorg backend's X connection (wakes its loop: see ``tray.backend``)."""
    icon._display.flush()


def gtk_open_menu(icon: Any) -> bool:
    """Open the gtk backend's native menu as its right-button handler does; False when that
    backend's insides are not there."""
    handler = getattr(icon, "_on_status_icon_popup_menu", None)
    status_icon = getattr(icon, "_status_icon", None)
    if handler is None or status_icon is None:
        return False
    from gi.repository import Gtk  # type: ignore[import-untyped,unused-ignore]

    handler(status_icon, 1, Gtk.get_current_event_time())
    return True


def win32_open_menu(icon: Any) -> bool:
    """Open the win32 backend's native menu (call from its message loop); False when the
    backend's handler is not there."""
    handler = getattr(icon, "_on_notify", None)
    if handler is None:
        return False
    handler(0, WM_RBUTTONUP)
    return True


def xorg_parts(icon: Any) -> tuple[Any, Any, dict[Any, Any]] | None:
    """The xorg backend's icon window, X connection and event handlers, or None when its
    insides changed."""
    window, display = getattr(icon, "_window", None), getattr(icon, "_display", None)
    handlers = getattr(icon, "_message_handlers", None)
    if window is None or display is None or not isinstance(handlers, dict):
        return None
    return window, display, handlers


def can_dock_again(icon: Any) -> bool:
    return hasattr(icon, "_show") and getattr(icon, "_window", None) is not None


def xorg_window_id(icon: Any) -> int:
    return int(icon._window.id)


def dock_again(icon: Any) -> None:
    """The backend's own ``_show``, which sends ``SYSTEM_TRAY_REQUEST_DOCK`` again."""
    icon._show()
