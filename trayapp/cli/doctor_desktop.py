"""``trayapp doctor``'s look at the desktop: the tray backend and its host, the session bus, the
notification server, the keyring, Tk, a running tray and start at login.

Each check returns :class:`Finding` values and may take its time: :mod:`trayapp.cli.doctor` runs
every check on a thread of its own with a deadline, so a bus, an X server or a keyring that never
answers costs a line, not a hang.  Nothing here imports pystray or tkinter: Tk is tried in a child
(``python -m trayapp.tk.probe``, isolated as trayapp's windows are, :mod:`trayapp.core.launch`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from trayapp.i18n import _

#: Seconds one D-Bus call may take before its check says the bus did not answer.
BUS_TIMEOUT = 2.0
#: The notification server is a program of its own, often busy drawing: it gets longer to answer.
NOTIFY_TIMEOUT = 5.0
#: Seconds the Tk child may take (an interpreter start and a window on a loaded machine).
TK_TIMEOUT = 10.0

OK, NOTE, WARN, FAIL = "ok", "note", "warn", "fail"
NOTIFICATIONS = "org.freedesktop.Notifications"


@dataclass(frozen=True)
class Finding:
    """One line of the report: *status* ``ok``, ``note`` (told, nothing to do), ``warn`` (works, less
    well) or ``fail`` (blocks use); *fix*: what to do, for anything but ``ok``."""

    check: str
    status: str
    text: str
    fix: str = ""


def desktop_session() -> bool:
    """Linux and the BSDs: a tray on the session bus or XEmbed (macOS and Windows have their own)."""
    return sys.platform not in ("darwin", "win32") and not sys.platform.startswith("cygwin")


# --- the tray's backend and what holds its icon ---------------------------------------------------


def tray(environ: Mapping[str, str]) -> list[Finding]:
    """The backend the tray would choose here, the session bus, and the host that shows the icon."""
    from trayapp.core.prompts import has_display
    from trayapp.tray import backend

    name = _("tray backend")
    if not desktop_session():
        return [Finding(name, OK, _("{platform}'s own tray").format(platform=sys.platform))]
    if not has_display(environ):
        why = _("no display: neither DISPLAY nor WAYLAND_DISPLAY is set")
        fix = _("run trayapp inside your desktop session; the command line works without one")
        return [Finding(name, FAIL, why, fix)]
    env = dict(environ)
    requested = env.get("PYSTRAY_BACKEND", "")
    problem = backend.choose_backend(env)
    bus = _session_bus(environ)
    if problem is not None:  # the sentence names the fix
        return [bus, Finding(name, FAIL, problem.rstrip(".。"))]
    chosen = env.get("PYSTRAY_BACKEND", "")
    watcher = bus.status == OK and backend.watcher_present(environ, timeout=BUS_TIMEOUT)
    if requested:
        why = _("{backend} (set by PYSTRAY_BACKEND)").format(backend=chosen)
    elif chosen == backend.SNI:
        why = _("sni: trayapp's StatusNotifierItem (a panel's StatusNotifierWatcher is on the session bus)")
    else:
        why = _("xorg: pystray's XEmbed icon (no StatusNotifierWatcher on the session bus)")
    return [bus, Finding(name, OK, why), _tray_host(environ, chosen, watcher)]


def _session_bus(environ: Mapping[str, str]) -> Finding:
    from trayapp.tray import backend

    name = _("session bus")
    address = backend.session_bus_address(environ)
    if address is not None and backend.session_bus_reachable(environ, timeout=BUS_TIMEOUT) and _answers(address):
        return Finding(name, OK, address.split(",guid=")[0])
    return Finding(
        name,
        WARN,
        _("no D-Bus session bus can be reached: no StatusNotifierItem, notifications or keyring"),
        _("start trayapp inside your desktop session (or as: dbus-run-session trayapp)"),
    )


def _answers(address: str) -> bool:
    """Whether the bus at *address* lets us in (a socket that accepts and never speaks does not)."""
    from jeepney.io.blocking import open_dbus_connection

    try:
        open_dbus_connection(bus=address, auth_timeout=BUS_TIMEOUT).close()
    except Exception:  # refused, timed out, an address jeepney can't use
        return False
    return True


def _tray_host(environ: Mapping[str, str], chosen: str, watcher: bool) -> Finding:
    from trayapp.tray import backend

    name = _("tray host")
    if watcher:
        return Finding(name, OK, _("a StatusNotifierWatcher (a panel) is on the session bus"))
    display = environ.get("DISPLAY", "")
    xembed = backend.xembed_tray_present(environ) if chosen != backend.SNI else None
    if xembed:
        return Finding(
            name, OK, _("an XEmbed system tray owns _NET_SYSTEM_TRAY_S0 on {display}").format(display=display)
        )
    fix = _(
        "start a desktop panel that shows tray icons (GNOME needs the AppIndicator extension), or a tray "
        "such as trayer or stalonetray; trayapp waits for one"
    )
    if xembed is None and chosen != backend.SNI:
        return Finding(
            name, WARN, _("the display {display} could not be asked for a tray").format(display=display), fix
        )
    return Finding(name, FAIL, _("nothing is there to show the icon: no StatusNotifierWatcher, no XEmbed tray"), fix)


# --- notifications ------------------------------------------------------------------------------


def notifications(environ: Mapping[str, str]) -> list[Finding]:
    """The notification server's name and what it can do (``GetServerInformation``,
    ``GetCapabilities`` over jeepney)."""
    name = _("notifications")
    if not desktop_session():
        return [Finding(name, OK, _("the system's notifications"))]
    from trayapp.tray import backend

    fix = _("start your desktop's notification daemon (or one such as dunst, mako or xfce4-notifyd)")
    address = backend.session_bus_address(environ)
    if address is None or not backend.session_bus_reachable(environ, timeout=BUS_TIMEOUT) or not _answers(address):
        return [Finding(name, WARN, _("no session bus: notices go to trayapp's log only"), fix)]
    from jeepney import DBusAddress, MessageType, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    server = DBusAddress("/org/freedesktop/Notifications", bus_name=NOTIFICATIONS, interface=NOTIFICATIONS)
    try:
        # The connection's own set-up is given the same time as the calls: on a busy desktop the
        # bus's authentication alone took longer than BUS_TIMEOUT (a loaded CI run said "could not
        # be checked" for a server that was there).
        with open_dbus_connection(bus=address, auth_timeout=NOTIFY_TIMEOUT) as conn:
            info = conn.send_and_get_reply(new_method_call(server, "GetServerInformation"), timeout=NOTIFY_TIMEOUT)
            if info.header.message_type == MessageType.error:
                text = _("no notification server on the session bus: notices go to the log")
                return [Finding(name, WARN, text, fix)]
            caps = conn.send_and_get_reply(new_method_call(server, "GetCapabilities"), timeout=NOTIFY_TIMEOUT)
    except TimeoutError:
        text = _("the notification server did not answer within {seconds} s").format(seconds=int(NOTIFY_TIMEOUT))
        again = _("run trayapp doctor again; restart the notification daemon if it stays")
        return [Finding(name, WARN, text, again)]
    server_name, vendor, version = (str(v) for v in info.body[:3])
    capabilities = [str(c) for c in caps.body[0]] if caps.header.message_type != MessageType.error else []
    text = _("{server} {version} ({vendor}); can: {capabilities}").format(
        server=server_name, version=version, vendor=vendor, capabilities=", ".join(capabilities) or _("(nothing)")
    )
    if "actions" not in capabilities:
        return [Finding(name, NOTE, text, _("this server shows no buttons: Renew is in the tray's menu"))]
    return [Finding(name, OK, text)]


# --- keyring -------------------------------------------------------------------------------------


def keyring(environ: Mapping[str, str]) -> list[Finding]:
    """The keyring backend and whether it answers (the preferences are read as the tray reads them)."""
    from trayapp.core.preferences import PreferenceStore

    name = _("keyring")
    prefs = PreferenceStore().load()
    if prefs.notice:
        fix = _("start or unlock your desktop's keyring (GNOME Keyring, KWallet); until then defaults are used")
        return [Finding(name, WARN, prefs.notice.rstrip(".。"), fix)]
    import keyring as keyring_module

    backend = keyring_module.get_keyring()
    return [Finding(name, OK, str(getattr(backend, "name", type(backend).__name__)))]


# --- Tk ------------------------------------------------------------------------------------------


def tk(environ: Mapping[str, str]) -> list[Finding]:
    """Tk as trayapp's windows get it: ``python -m trayapp.tk.probe`` in an isolated child."""
    from trayapp import protocol
    from trayapp.core import launch, tk_check

    name = "Tk"
    try:
        done = subprocess.run(
            launch.module_argv("trayapp.tk.probe"),
            capture_output=True,
            text=True,
            timeout=TK_TIMEOUT,
            env=protocol.child_env(environ),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [
            Finding(name, WARN, _("the Tk check did not answer within {seconds} s").format(seconds=int(TK_TIMEOUT)))
        ]
    if done.returncode == tk_check.EXIT_NO_TK:
        missing = _("missing from this Python ({python}): no MFA dialog, preferences or clipboard").format(
            python=sys.executable
        )
        return [Finding(name, FAIL, missing, tk_check.fix())]
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [Finding(name, FAIL, _("the Tk check failed (exit status {status})").format(status=done.returncode))]
    version = str(result.get("tk", "?"))
    if result.get("window") is True:
        return [Finding(name, OK, _("Tk {version} opens windows").format(version=version))]
    if result.get("window") is None:
        text = _("Tk {version} loads; no display to open a window on (the command line asks on the terminal)")
        return [Finding(name, NOTE, text.format(version=version))]
    text = _("Tk {version} loads but can't open a window: {error}").format(version=version, error=result.get("error"))
    return [Finding(name, FAIL, text, _("check DISPLAY and that the X server lets you in (xhost, XAUTHORITY)"))]


# --- the running tray, start at login -------------------------------------------------------------


def channel(environ: Mapping[str, str]) -> list[Finding]:
    """Whether a tray runs for these AWS files (its socket answers: :mod:`trayapp.core.channel`)."""
    from trayapp.core import channel as tray_channel

    name = _("running tray")
    if not tray_channel.supported():
        return []
    connection = tray_channel.connect(environ)
    if connection is None:
        return [Finding(name, NOTE, _("no tray is running for these AWS files yet"), _("start it with: trayapp"))]
    connection.close()
    return [Finding(name, OK, _("a tray is running for these AWS files"))]


def autostart(environ: Mapping[str, str]) -> list[Finding]:
    from trayapp.tray import autostart as login

    name = _("start at login")
    start = login.Autostart()
    if start.status():
        return [Finding(name, OK, _("on ({location})").format(location=start.location))]
    return [Finding(name, NOTE, _("off"), _("turn it on with: trayapp autostart on"))]
