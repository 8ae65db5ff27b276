"""Desktop notifications: one small interface, several backends.

A notification that can't be shown is logged, never raised: notifications are
an optional feature and must never break the applet.  No text here ever holds
a secret: only profile names, the session profile name and a local time.

The tray picks one with :func:`choose_notifier` (passing its icon, used off Linux, and an
``on_action`` that hands a renewal to its worker), sends the warning and expiry notices the
schedule's events call for, and closes it on quit.

``on_action(profile, key)`` runs on the notifier's listener thread (or, for a click read
before ``send`` had its notification's id, on the sender's thread): it must only hand the work
over (the key is ``"renew"``).  ``notifier.supports_actions``
tells whether a click can renew (to word a menu hint, say).

Backends
    ``DbusNotifier``     freedesktop ``org.freedesktop.Notifications`` over the session
                         bus with jeepney, through the tray's D-Bus client
                         (:mod:`trayapp.tray.dbus_service`; Linux, BSD); actions where the
                         server has them.
    ``PystrayNotifier``  pystray's ``Icon.notify`` (macOS, Windows); no actions.
    ``LogNotifier``      the fallback: a line in the log file.

A notice that can't be shown (no session bus, no notification server on it, a server that fails)
becomes a line in the log file (:mod:`trayapp.core.logfile`), and standard error gets one sentence
saying so — once, not per notice (again only after notices were shown meanwhile).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from trayapp.core import logfile
from trayapp.core.sessions import SessionInfo, clock_time
from trayapp.i18n import _
from trayapp.tray.dbus_service import Bus

log = logging.getLogger(__name__)

Urgency = Literal["low", "normal", "critical"]
ActionHandler = Callable[[str, str], None]

APP_NAME = "trayapp"
ASSETS = Path(__file__).resolve().parents[2] / "assets"

_BUS_NAME = "org.freedesktop.Notifications"
_PATH = "/org/freedesktop/Notifications"
_IFACE = "org.freedesktop.Notifications"
_URGENCY_BYTE = {"low": 0, "normal": 1, "critical": 2}
_CALL_TIMEOUT = 3.0  # seconds; a hung server must not hold the tray's worker
_REMEMBERED = 64  # notification ids kept for ActionInvoked
#: The bus's answers when nobody owns org.freedesktop.Notifications.
_NO_SERVER = frozenset({"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"})


@dataclass(frozen=True)
class Notification:
    title: str
    body: str
    #: The role profile it is about (actions are reported with it), or None.
    profile: str | None = None
    #: (key, label) pairs, e.g. ``(("renew", "Renew"),)``.
    actions: tuple[tuple[str, str], ...] = ()
    urgency: Urgency = "normal"
    #: An icon state ("expiring", "expired", ...) whose PNG in assets/ is shown, if present.
    icon: str | None = None


def renew_action() -> tuple[tuple[str, str], ...]:
    """The one action of a warning: renew, labelled in the user's language."""
    return (("renew", _("Renew")),)


def expiring_notice(session: SessionInfo, now: datetime) -> Notification:
    """``prod expires in 10 min`` — minutes rounded up, so a timer a few ms late still says 10."""
    minutes = max(1, math.ceil(session.left(now) / timedelta(minutes=1)))
    return Notification(
        title=_("{profile} expires in {minutes} min").format(profile=session.profile, minutes=minutes),
        body=_("Session {session} ends at {until}. Renew to keep working.").format(
            session=session.session_profile, until=clock_time(session.expires_at, now)
        ),
        profile=session.profile,
        actions=renew_action(),
        urgency="normal",
        icon="expiring",
    )


def expired_notice(session: SessionInfo) -> Notification:
    return Notification(
        title=_("{profile} expired").format(profile=session.profile),
        body=_("Session {session} has expired. Renew to get a new one.").format(session=session.session_profile),
        profile=session.profile,
        actions=renew_action(),
        urgency="critical",
        icon="expired",
    )


def icon_path(state: str | None) -> str:
    """Absolute path of ``assets/icon-STATE-64.png`` if it exists, else ``""`` (no icon)."""
    if not state:
        return ""
    path = ASSETS / f"icon-{state}-64.png"
    if path.is_file():
        return str(path)
    import platformdirs

    from trayapp.icons import STATES, render

    if state not in STATES:
        return ""
    cached = Path(platformdirs.user_cache_dir(APP_NAME)) / f"icon-{state}-64.png"
    try:
        if not cached.is_file():
            cached.parent.mkdir(parents=True, exist_ok=True)
            render(state, 64).save(cached)
    except (OSError, ValueError):
        return ""
    return str(cached)


class Notifier(Protocol):
    on_action: ActionHandler | None

    @property
    def supports_actions(self) -> bool:
        """Whether a notification's actions (Renew) can be clicked."""

    def send(self, n: Notification) -> None:
        """Show *n*; never raises."""

    def close(self) -> None:
        """Release the backend's resources; never raises."""


#: The title of the app's own notices (a preference left at its default, an old key).
APP_TITLE = "trayapp"


class ToLog:
    """Where notices go when the desktop can't show them: the log file, one line each; the first
    one (since the last notice the desktop showed) says so on standard error in one sentence."""

    def __init__(self) -> None:
        self._told = False

    def send(self, n: Notification, *, no_server: bool = True) -> None:
        if not self._told:
            self._told = True
            from trayapp.protocol import report

            file = logfile.current()
            path = file.open() if file is not None else None
            where = str(path) if path is not None else _("standard error")
            if no_server:
                text = _("no notification server: notices go to {path}.").format(path=where)
            else:
                text = _("the notification server did not show a notice: notices go to {path}.").format(path=where)
            report("trayapp: " + text, box=False)
        # A notice titled with the app's own name is its body alone: on standard error (no log
        # file) the line already begins with "trayapp: ".
        said = n.body if n.title == APP_TITLE else f"{n.title}: {n.body}"
        log.warning("notice: %s", said, extra=logfile.FILE_ONLY)

    def shown(self) -> None:
        """The desktop showed a notice: a later failure is told again."""
        self._told = False


class LogNotifier:
    """The fallback: each notification becomes a line of the log file."""

    supports_actions = False

    def __init__(self, on_action: ActionHandler | None = None) -> None:
        self.on_action = on_action
        self._log = ToLog()

    def send(self, n: Notification) -> None:
        self._log.send(n)

    def close(self) -> None:
        pass


#: Windows balloon/toast fields (``NOTIFYICONDATAW``): ``szInfoTitle[64]`` and ``szInfo[256]``
#: UTF-16 units, each with its terminating NUL.  A longer string makes pystray's win32 backend
#: fail, and the notification is lost.
WINDOWS_TITLE_MAX = 63
WINDOWS_BODY_MAX = 255


def fit_utf16(text: str, units: int) -> str:
    """*text* cut to at most *units* UTF-16 code units, ending with ``…`` when cut."""
    if len(text.encode("utf-16-le")) // 2 <= units:
        return text
    out: list[str] = []
    used = 1  # the ellipsis
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > units:
            break
        out.append(char)
        used += size
    return "".join(out).rstrip() + "…"


def windows_fit(title: str, body: str) -> tuple[str, str]:
    """Title and body within Windows' limits; a cut title is given whole at the body's start."""
    short = fit_utf16(title, WINDOWS_TITLE_MAX)
    if short != title:
        body = f"{title}\n{body}"
    return short, fit_utf16(body, WINDOWS_BODY_MAX)


def markup_escape(text: str) -> str:
    """*text* as plain text in a body a server reads as markup (the freedesktop notification
    spec's ``body-markup``: ``&amp;``, ``&lt;``, ``&gt;``), so a profile named ``<b>prod</b>`` or
    holding an ``<a href>`` shows as written, never as bold text or a link.  The summary is never
    markup, so it is left alone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PystrayNotifier:
    """pystray's ``Icon.notify`` (macOS, Windows; gtk/appindicator too). No actions.

    Neither pystray's win32 balloon nor its darwin notification reports a click or has
    buttons, so Renew is offered only in the menu there.
    """

    supports_actions = False

    def __init__(self, icon: Any, on_action: ActionHandler | None = None, platform: str | None = None) -> None:
        self._icon = icon
        self.on_action = on_action
        self._platform = sys.platform if platform is None else platform
        self._log = ToLog()

    def send(self, n: Notification) -> None:
        title, body = n.title, n.body
        if self._platform == "win32":
            title, body = windows_fit(title, body)
        try:
            self._icon.notify(body, title)
        except Exception as exc:  # NotImplementedError on xorg, backend errors elsewhere
            log.info("the tray backend did not show a notice (%s)", _why(exc))
            self._log.send(n, no_server=False)
            return
        self._log.shown()

    def close(self) -> None:
        pass


class DbusNotifier:
    """freedesktop notifications on the session bus, through :class:`~trayapp.tray.dbus_service.Bus`.

    One connection, opened on first use and again after the bus went away.  One
    thread ("trayapp-notify") reads it: it hands method replies to the callers
    and turns ``ActionInvoked`` into ``on_action(profile, key)`` for the
    notifications sent here (``NotificationClosed`` forgets them).  It blocks
    in a read: no wake-ups while nothing happens.
    """

    def __init__(
        self,
        bus_address: str | None = None,
        *,
        on_action: ActionHandler | None = None,
        app_name: str = APP_NAME,
        timeout: float = _CALL_TIMEOUT,
    ) -> None:
        self.on_action = on_action
        self._address = bus_address
        self._app_name = app_name
        self._timeout = timeout
        self._lock = threading.Lock()
        self._bus: Bus | None = None
        self._capabilities: frozenset[str] | None = None
        self._profiles: OrderedDict[int, str] = OrderedDict()  # notification id → profile
        #: Actions read before the sender learnt its notification's id (a click as it shows, on a
        #: busy machine: the reader hands Notify's reply over, then reads the click at once).
        self._early: OrderedDict[int, str] = OrderedDict()
        self._log = ToLog()

    # --- public ---------------------------------------------------------------

    def connect(self) -> None:
        """Open the bus connection now (raises OSError and jeepney's errors)."""
        self._connected()

    @property
    def supports_actions(self) -> bool:
        return "actions" in self._get_capabilities()

    def send(self, n: Notification) -> None:
        try:
            nid = self._notify(n)
        except Exception as exc:  # any failure of an optional feature is only logged
            log.info("the notification server did not take a notice (%s)", _why(exc))
            self._log.send(n, no_server=getattr(exc, "name", None) in _NO_SERVER)
            return
        self._log.shown()
        if n.profile is not None and n.actions:
            with self._lock:
                self._profiles[nid] = n.profile
                while len(self._profiles) > _REMEMBERED:
                    self._profiles.popitem(last=False)
                early = self._early.pop(nid, None)
            if early is not None and self.on_action is not None:
                self.on_action(n.profile, early)

    def close(self) -> None:
        with self._lock:
            bus, self._bus = self._bus, None
        if bus is not None:
            bus.close()

    # --- the bus ----------------------------------------------------------------

    def _notify(self, n: Notification) -> int:
        caps = self._get_capabilities()
        actions: list[str] = []
        if "actions" in caps:
            for key, label in n.actions:
                actions += [key, label]
        hints = {"urgency": ("y", _URGENCY_BYTE[n.urgency])}
        text = markup_escape(n.body) if "body-markup" in caps else n.body
        body = (self._app_name, 0, icon_path(n.icon), n.title, text, actions, hints, -1)
        return int(self._call("Notify", "susssasa{sv}i", body)[0])

    def _get_capabilities(self) -> frozenset[str]:
        if self._capabilities is not None:
            return self._capabilities
        try:
            caps = frozenset(self._call("GetCapabilities")[0])
        except Exception as exc:
            log.info("The notification server's capabilities are unknown (%s).", _why(exc))
            return frozenset()  # not kept: a server may come later
        self._capabilities = caps
        return caps

    def _call(self, method: str, signature: str | None = None, body: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        from jeepney import DBusAddress, new_method_call

        address = DBusAddress(_PATH, bus_name=_BUS_NAME, interface=_IFACE)
        return self._connected().call(new_method_call(address, method, signature, body), self._timeout)

    def _connected(self) -> Bus:
        from jeepney import MatchRule

        with self._lock:
            if self._bus is not None and self._bus.alive:
                return self._bus
            self._bus = None
            self._capabilities = None
        # Subscribed without the lock: a signal heard meanwhile takes it on the reading thread, which
        # must stay free to read the subscriptions' replies.
        bus = Bus(self._address or os.environ.get("DBUS_SESSION_BUS_ADDRESS"), self._timeout)
        bus.serve_in_thread("trayapp-notify")
        try:
            for member, handler in (("ActionInvoked", self._invoked), ("NotificationClosed", self._closed)):
                bus.on_signal(MatchRule(type="signal", interface=_IFACE, path=_PATH, member=member), handler)
        except BaseException:
            bus.close()
            raise
        with self._lock:
            if self._bus is None or not self._bus.alive:
                self._bus = bus
                return bus
            kept = self._bus  # another thread connected meanwhile
        bus.close()
        return kept

    # --- on the reader's thread -------------------------------------------------------

    def _invoked(self, body: tuple[Any, ...]) -> None:
        nid, key = body
        with self._lock:
            profile = self._profiles.get(int(nid))
            if profile is None:  # not ours, or ours before send() has its id: kept a while
                self._early[int(nid)] = str(key)
                while len(self._early) > _REMEMBERED:
                    self._early.popitem(last=False)
        handler = self.on_action
        if profile is not None and handler is not None:
            handler(profile, str(key))

    def _closed(self, body: tuple[Any, ...]) -> None:
        with self._lock:
            self._profiles.pop(int(body[0]), None)


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def choose_notifier(
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    icon: Any = None,
    on_action: ActionHandler | None = None,
) -> Notifier:
    """The best notifier here: D-Bus when a session bus is reachable, pystray's on
    macOS and Windows when given the icon, else the log."""
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat in ("darwin", "win32"):
        return PystrayNotifier(icon, on_action, plat) if icon is not None else LogNotifier(on_action)
    address = env.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        notifier = DbusNotifier(address, on_action=on_action)
        try:
            notifier.connect()
        except Exception as exc:
            log.info("No session bus for notifications (%s); they go to the log.", _why(exc))
        else:
            return notifier
    return LogNotifier(on_action)
