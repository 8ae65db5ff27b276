"""The one place that knows the tray's backends: trayapp's own StatusNotifierItem (``sni``,
:mod:`trayapp.tray.sni`) and pystray's (xorg, gtk, appindicator, darwin, win32, dummy).

Which one runs: ``PYSTRAY_BACKEND`` when set (``sni`` included); else, on Linux and the BSDs, ``sni``
whenever a panel's ``org.kde.StatusNotifierWatcher`` is on the session bus, and pystray's ``xorg``
(XEmbed) when not (see :func:`choose_backend`).

Everything the tray does differently per backend is asked here, by capability, never by comparing
module names elsewhere: which backend can start (a D-Bus one needs a session bus), whether its title is
Latin-1 and its icon needs an opaque background (xorg), how a left click opens the menu (gtk, win32),
how a change reaches the thread that owns the toolkit (AppKit's main thread on macOS), whether its loop
takes Ctrl-C back (GLib).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from trayapp.compat import pystray as compat_pystray
from trayapp.i18n import _

log = logging.getLogger(__name__)

APP_NAME = "trayapp"


def name(icon: Any) -> str:
    """The backend of *icon* (an ``Icon`` or its class): ``xorg``, ``gtk``, ``appindicator``, ``darwin``…"""
    cls = icon if isinstance(icon, type) else type(icon)
    own = getattr(cls, "BACKEND", None)  # trayapp's own (sni)
    return own if isinstance(own, str) else compat_pystray.backend_name(icon)


def latin1_title(icon: Any) -> bool:
    """xorg stores the title as a Latin-1 WM_NAME."""
    return name(icon) == "xorg"


def opaque_icon(icon: Any) -> bool:
    """xorg paints transparent pixels black."""
    return name(icon) == "xorg"


def runs_glib(icon: Any) -> bool:
    """gtk and appindicator run GLib's loop, which resets SIGINT to "kill at once" as it starts."""
    return name(icon) in DBUS_BACKENDS


def open_menu(icon: Any) -> bool:
    """Open the native menu from a left click where the backend only does it on the right button;
    False when the backend has no native menu (the caller shows the Tk popup)."""
    if not icon.HAS_MENU or name(icon) == SNI:  # a host that calls Activate shows no menu itself
        return False
    if name(icon) == "gtk":
        _gtk_popup(icon)
    elif name(icon) == "win32":
        _win32_popup(icon)
    return True


#: pystray's win32 backend opens its menu on this ``WM_NOTIFY`` code (a right button release).
WM_RBUTTONUP = compat_pystray.WM_RBUTTONUP


def call_now(fn: Callable[[], None]) -> None:
    fn()


def main_thread_caller(icon: Any) -> Callable[[Callable[[], None]], None]:
    """How to run a change to *icon* on the thread that owns its toolkit, chosen once per backend.

    On macOS (pystray's darwin backend) that is PyObjC's ``AppHelper.callAfter`` (the main
    thread's run loop, asynchronously); elsewhere pystray makes its calls thread-safe itself.
    """
    if name(icon) == "darwin":
        from PyObjCTools import AppHelper  # type: ignore[import-not-found,unused-ignore]

        call_after: Callable[[Callable[[], None]], None] = AppHelper.callAfter
        return call_after
    if name(icon) == "xorg":
        return lambda fn: _poking_while(icon, fn)
    return call_now


#: Seconds a change to an xorg icon may wait for the loop before the connection is nudged.
XORG_NUDGE = 1.0


def _poking_while(icon: Any, fn: Callable[[], None]) -> None:
    """Run *fn* (a change pystray hands to its xorg loop and waits for), nudging the X connection
    while it waits.  python-xlib's threaded mode can lose a wakeup: the loop, in a round trip of its
    own (an Expose redraw asks the window's geometry), then waits for another thread's exchange to
    finish — and the only other thread is this one, waiting for the loop.  Seen under load: the tray
    stuck before its services started.  Any completed flush wakes the loop; none is made while
    nothing waits, so an idle tray still makes no wake-ups."""
    done = threading.Event()

    def nudge() -> None:
        while not done.wait(XORG_NUDGE):
            with contextlib.suppress(Exception):
                compat_pystray.flush_display(icon)

    threading.Thread(target=nudge, name="trayapp-xorg-nudge", daemon=True).start()
    try:
        fn()
    finally:
        done.set()


class MainThreadNotify:
    """The icon as the notifier sees it: ``notify`` runs on the main thread (AppKit)."""

    def __init__(self, icon: Any, on_main: Callable[[Callable[[], None]], None]) -> None:
        self._icon = icon
        self._on_main = on_main

    def notify(self, message: str, title: str | None = None) -> None:
        self._on_main(lambda: self._icon.notify(message, title))

    def remove_notification(self) -> None:
        self._on_main(self._icon.remove_notification)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._icon, name)


def release_setup_thread(icon: Any) -> None:
    """pystray's setup thread is not a daemon and waits for the loop to be ready: when the
    loop failed to start it would keep the process alive for ever.  Let it go (our setup
    returns at once when the tray is stopping)."""
    with contextlib.suppress(Exception):
        compat_pystray.release_setup_thread(icon)


def name_the_gtk_program() -> None:
    """GTK names windows after argv[0]; under ``python -c`` that would be "-c"."""
    gi = sys.modules.get("gi.repository.GLib")
    if gi is not None:
        gi.set_prgname(APP_NAME)


def _gtk_popup(icon: Any) -> None:
    """Open the native menu on a left click too (GTK shows it on the right button only)."""
    compat_pystray.gtk_open_menu(icon)


def _win32_popup(icon: Any) -> None:
    """Open the native menu on a left click too.  pystray's win32 backend shows it only for a
    right button release (``_on_notify`` → ``TrackPopupMenuEx``) and has no public call for it;
    this runs in its message loop (the default action is called from ``_on_notify``), so the
    same path is taken, as if the right button had been released."""
    if not compat_pystray.win32_open_menu(icon):
        log.warning("pystray's win32 backend changed; a left click can't open the menu")


#: pystray backends that talk to the desktop over the D-Bus session bus.
DBUS_BACKENDS = ("appindicator", "gtk")
#: trayapp's own StatusNotifierItem backend (:mod:`trayapp.tray.sni`): D-Bus too, no GTK.
SNI = "sni"
WATCHER = "org.kde.StatusNotifierWatcher"


#: Set when :func:`choose_backend` picked xorg only because no StatusNotifierWatcher was on the bus:
#: while the tray waits for a host, a panel's watcher then counts as one, and the tray becomes ``sni``.
_xorg_for_want_of_a_watcher = False


def is_sni(environ: Mapping[str, str]) -> bool:
    """Whether the tray runs trayapp's StatusNotifierItem (decided by :func:`choose_backend`)."""
    return environ.get("PYSTRAY_BACKEND") == SNI


def choose_backend(environ: MutableMapping[str, str]) -> str | None:
    """Set ``PYSTRAY_BACKEND`` to a backend that can start here; None when one can, else the
    sentence to show.  Unset: ``sni`` when a StatusNotifierWatcher (a panel that shows such items)
    is on the session bus, or when there is no X display (Wayland: the item waits for a panel);
    else ``xorg``.  pystray's own default (appindicator or gtk, whenever PyGObject is installed)
    is no longer used: it loads GTK (≈ 90 MB) and fails without a session bus — leaving its setup
    thread waiting for ever."""
    if sys.platform in ("darwin", "win32") or sys.platform.startswith("cygwin"):
        return None
    requested = environ.get("PYSTRAY_BACKEND", "")
    if requested not in ("", SNI, *DBUS_BACKENDS):
        return None
    if session_bus_reachable(environ):
        if not requested and (watcher_present(environ) or not environ.get("DISPLAY")):
            log.info("using the StatusNotifierItem tray backend")
            environ["PYSTRAY_BACKEND"] = SNI
        elif not requested:
            global _xorg_for_want_of_a_watcher
            log.info("no StatusNotifierWatcher on the session bus: using pystray's xorg backend")
            environ["PYSTRAY_BACKEND"] = "xorg"
            _xorg_for_want_of_a_watcher = True
        return None
    if requested:
        return _(
            "the {backend} tray backend needs a D-Bus session bus and none can be reached; "
            "start trayapp inside your desktop session (or as: dbus-run-session trayapp), "
            "or use PYSTRAY_BACKEND=xorg."
        ).format(backend=requested)
    if not environ.get("DISPLAY"):
        return _(
            "the tray needs a D-Bus session bus on Wayland and none can be reached; "
            "start trayapp inside your desktop session (or as: dbus-run-session trayapp)."
        )
    log.info("no D-Bus session bus: using pystray's xorg backend")
    environ["PYSTRAY_BACKEND"] = "xorg"
    return None


def keep_pygobject_out(environ: Mapping[str, str]) -> None:
    """The SNI and xorg trays need no PyGObject; keep it from being loaded behind their back.  keyring tries
    every backend it has, and its ``libsecret`` one imports ``gi`` (≈ 12 MB resident) when PyGObject
    is installed; its ``SecretService`` backend (jeepney, preferred by keyring anyway) reaches the
    same secrets.  A ``None`` in ``sys.modules`` makes ``import gi`` raise ImportError."""
    if environ.get("PYSTRAY_BACKEND") in (SNI, "xorg"):
        sys.modules.setdefault("gi", None)  # type: ignore[arg-type]


def watcher_present(environ: Mapping[str, str], timeout: float = 1.0) -> bool:
    """Whether ``org.kde.StatusNotifierWatcher`` has an owner on the session bus of *environ*."""
    address = session_bus_address(environ)
    if address is None:
        return False
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus=address) as conn:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner(WATCHER), timeout=timeout)
    except Exception as exc:  # no jeepney, an address it can't use, a bus that doesn't answer
        log.info("the session bus could not be asked for a StatusNotifierWatcher (%s)", exc)
        return False
    return bool(reply.body and reply.body[0])


def session_bus_address(environ: Mapping[str, str]) -> str | None:
    """The session bus a D-Bus client of our own connects to: ``DBUS_SESSION_BUS_ADDRESS``, else
    ``$XDG_RUNTIME_DIR/bus`` when it exists (systemd's user bus), else None."""
    address = environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return "unix:path=" + os.path.join(runtime, "bus")
    return None


def session_bus_reachable(environ: Mapping[str, str], timeout: float = 1.0) -> bool:
    """Whether GLib would find a session bus: ``DBUS_SESSION_BUS_ADDRESS`` (a unix socket that
    accepts a connection; other transports are trusted), else ``$XDG_RUNTIME_DIR/bus``, else
    ``dbus-launch`` on PATH with a display (GLib starts a bus with it)."""
    address = environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not address:
        runtime = environ.get("XDG_RUNTIME_DIR")
        if runtime and os.path.exists(os.path.join(runtime, "bus")):
            address = "unix:path=" + os.path.join(runtime, "bus")
        else:
            import shutil

            return bool(environ.get("DISPLAY")) and shutil.which("dbus-launch", path=environ.get("PATH")) is not None
    for entry in address.split(";"):
        transport, _sep, params = entry.partition(":")
        if transport != "unix":
            return True
        keys = dict(part.partition("=")[::2] for part in params.split(",") if "=" in part)
        if "path" in keys:
            target = _unescape_dbus(keys["path"])
        elif "abstract" in keys:
            target = "\0" + _unescape_dbus(keys["abstract"])
        else:
            return True  # a listening-only form (dir=, tmpdir=): leave it to GLib
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(target)
            return True
    return False


def _unescape_dbus(value: str) -> str:
    """D-Bus addresses escape bytes as %XX."""
    from urllib.parse import unquote

    return unquote(value)


# --- a system tray to hold the icon (X11) ---------------------------------------------------------

#: While no tray host exists, how often a StatusNotifierWatcher is looked for (an XEmbed tray
#: announces itself with a MANAGER message, which wakes the wait at once).
TRAY_HOST_RECHECK = 5.0


def tray_host_problem(environ: Mapping[str, str], connection: Any = None) -> str | None:
    """On X11, the sentence to show when nothing can hold the icon: no XEmbed system tray owns
    ``_NET_SYSTEM_TRAY_S<screen>`` and (for the appindicator backend) no StatusNotifierWatcher is
    on the session bus.  Without it pystray's xorg backend printed tracebacks ("Failed to dock
    icon") and the gtk one ran with no icon at all.  None when there is a host, or it can't be told
    (then pystray tries as before).  *connection*: an open python-xlib display to ask."""
    if sys.platform in ("darwin", "win32") or not environ.get("DISPLAY"):
        return None
    requested = environ.get("PYSTRAY_BACKEND", "")
    if requested not in ("", "xorg", *DBUS_BACKENDS):
        return None
    if connection is None:
        connection = _x_connection(environ)
        if connection is None:
            return None  # no python-xlib, a display that refuses us: pystray will say
    try:
        atom = connection.intern_atom(f"_NET_SYSTEM_TRAY_S{connection.get_default_screen()}")
        if connection.get_selection_owner(atom) not in (0, None):
            return None
    except Exception:
        return None
    if (requested in ("", "appindicator") or (requested == "xorg" and _xorg_for_want_of_a_watcher)) and (
        watcher_present(environ)
    ):
        return None
    return _(
        "no system tray is running on display {display} to hold the icon; trayapp waits for one "
        "(a desktop panel, or a tray such as trayer or stalonetray) and shows its icon there."
    ).format(display=environ["DISPLAY"])


def xembed_tray_present(environ: Mapping[str, str]) -> bool | None:
    """Whether an XEmbed system tray owns ``_NET_SYSTEM_TRAY_S<screen>`` on ``DISPLAY`` (what pystray's
    xorg backend docks in); None when it can't be told (no display, no python-xlib, refused)."""
    connection = _x_connection(environ) if environ.get("DISPLAY") else None
    if connection is None:
        return None
    try:
        atom = connection.intern_atom(f"_NET_SYSTEM_TRAY_S{connection.get_default_screen()}")
        return connection.get_selection_owner(atom) not in (0, None)
    except Exception:
        return None
    finally:
        with contextlib.suppress(Exception):
            connection.close()


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        self.signum = signum


def await_tray_host(environ: MutableMapping[str, str], say: Callable[[str], None]) -> int | None:
    """On X11 with no system tray, :func:`tray_host_problem`'s sentence to *say* once, then wait
    until a tray appears; the number of the signal (SIGINT, SIGTERM) that ended the wait instead,
    if one did.  An XEmbed tray's MANAGER message on the root window wakes the wait at once; a
    StatusNotifierWatcher is looked for every :data:`TRAY_HOST_RECHECK` seconds (only while there
    is no tray at all).  One X connection throughout: Xvfb resets when its last client leaves.  When
    xorg was chosen only for want of a watcher and one is what came, the tray becomes ``sni``."""
    if sys.platform in ("darwin", "win32") or not environ.get("DISPLAY"):
        return None
    connection = _x_connection(environ)
    if connection is None:
        return None
    try:
        problem = tray_host_problem(environ, connection)
        if problem is None:
            return None
        say(problem)
        signum = _wait(environ, connection)
        if signum is None and _xorg_for_want_of_a_watcher and watcher_present(environ):
            log.info("a StatusNotifierWatcher appeared: using the StatusNotifierItem tray backend")
            environ["PYSTRAY_BACKEND"] = SNI
        return signum
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def _wait(environ: Mapping[str, str], connection: Any) -> int | None:
    import select
    import signal

    from Xlib import X

    def stop(signum: int, _frame: Any) -> None:
        raise _Stopped(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        connection.screen().root.change_attributes(event_mask=X.StructureNotifyMask)
        connection.flush()
        while tray_host_problem(environ, connection) is not None:
            select.select([connection.fileno()], [], [], TRAY_HOST_RECHECK)
            while connection.pending_events():
                connection.next_event()
    except _Stopped as stopped:
        return stopped.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return None


def _x_connection(environ: Mapping[str, str]) -> Any:
    try:
        from Xlib import display as xdisplay

        return xdisplay.Display(environ["DISPLAY"])
    except Exception:
        return None
