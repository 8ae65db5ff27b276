"""The tray icon as a StatusNotifierItem over D-Bus, in pure Python (jeepney): no GTK, no GLib.

KDE Plasma, GNOME (AppIndicator extension), Xfce, Cinnamon, LXQt and Wayland panels such as waybar
show items that register with ``org.kde.StatusNotifierWatcher``; their menu is read over
``com.canonical.dbusmenu`` (:mod:`trayapp.tray.dbusmenu`).  :class:`Icon` has the part of pystray's
``Icon`` the tray uses (``icon``, ``title``, ``visible``, ``update_menu``, ``run(setup)``, ``stop``),
so :mod:`trayapp.tray.app` drives it like the pystray backends; :mod:`trayapp.tray.backend` picks it.

The item owns ``org.kde.StatusNotifierItem-PID-1``, serves ``/StatusNotifierItem`` and the menu at
``/MenuBar``, and registers with the watcher — again whenever the watcher's name gets a new owner
(a panel that restarts, or that starts after the tray).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trayapp.tray import dbusmenu
from trayapp.tray.dbus_service import Bus, DBusError, Interface, Method
from trayapp.tray.menu_model import MenuNode

log = logging.getLogger(__name__)

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
#: The pixmap sizes offered: panels pick the nearest (16–24 on most, 32/48 on HiDPI and docks).
PIXMAP_SIZES = (16, 22, 24, 32, 48, 64)

Pixmap = tuple[int, int, bytes]

ITEM_XML = f"""<interface name="{ITEM_IFACE}">
<method name="Activate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="SecondaryActivate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="ContextMenu"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="Scroll"><arg type="i" direction="in"/><arg type="s" direction="in"/></method>
<signal name="NewTitle"/><signal name="NewIcon"/><signal name="NewAttentionIcon"/><signal name="NewOverlayIcon"/>
<signal name="NewToolTip"/><signal name="NewStatus"><arg type="s"/></signal>
<property name="Category" type="s" access="read"/><property name="Id" type="s" access="read"/>
<property name="Title" type="s" access="read"/><property name="Status" type="s" access="read"/>
<property name="WindowId" type="i" access="read"/><property name="IconName" type="s" access="read"/>
<property name="IconPixmap" type="a(iiay)" access="read"/><property name="OverlayIconName" type="s" access="read"/>
<property name="OverlayIconPixmap" type="a(iiay)" access="read"/>
<property name="AttentionIconName" type="s" access="read"/>
<property name="AttentionIconPixmap" type="a(iiay)" access="read"/>
<property name="AttentionMovieName" type="s" access="read"/><property name="IconThemePath" type="s" access="read"/>
<property name="ToolTip" type="(sa(iiay)ss)" access="read"/><property name="ItemIsMenu" type="b" access="read"/>
<property name="Menu" type="o" access="read"/>
</interface>"""


def argb_pixmap(image: Any) -> Pixmap:
    """A PIL image as the spec's pixmap: width, height, ARGB32 in network byte order."""
    from PIL import Image

    rgba = image.convert("RGBA")
    r, g, b, a = rgba.split()
    return rgba.width, rgba.height, Image.merge("RGBA", (a, r, g, b)).tobytes()


def pixmaps(image: Any, sizes: Sequence[int] = PIXMAP_SIZES) -> list[Pixmap]:
    """*image* at each size: drawn again by :mod:`trayapp.icons` when it is one of its icons."""
    from PIL import Image

    from trayapp import icons

    state = image.info.get(icons.STATE_KEY)
    out = []
    for size in sizes:
        if state is not None:
            scaled = icons.render(state, size)
        else:
            scaled = image.convert("RGBA").resize((size, size), Image.Resampling.LANCZOS)
        out.append(argb_pixmap(scaled))
    return out


class _Item(Interface):
    name = ITEM_IFACE
    xml = ITEM_XML

    def __init__(self, icon: Icon) -> None:
        self._icon = icon

    def methods(self) -> Mapping[str, Method]:
        return {
            "Activate": self._activate,
            "SecondaryActivate": self._nothing,
            "ContextMenu": self._activate,  # hosts that don't read Menu: the same menu, as a popup
            "Scroll": self._nothing,
            "ProvideXdgActivationToken": self._nothing,
        }

    def properties(self) -> dict[str, tuple[str, Any]]:
        icon = self._icon
        title = icon.title or icon.name
        return {
            "Category": ("s", "ApplicationStatus"),
            "Id": ("s", icon.name),
            "Title": ("s", title),
            "Status": ("s", icon.status),
            "WindowId": ("i", 0),
            "IconName": ("s", ""),
            "IconPixmap": ("a(iiay)", icon.pixmaps),
            "OverlayIconName": ("s", ""),
            "OverlayIconPixmap": ("a(iiay)", []),
            "AttentionIconName": ("s", ""),
            "AttentionIconPixmap": ("a(iiay)", []),
            "AttentionMovieName": ("s", ""),
            "IconThemePath": ("s", ""),
            "ToolTip": ("(sa(iiay)ss)", ("", [], title, "")),
            "ItemIsMenu": ("b", True),
            "Menu": ("o", dbusmenu.PATH),
        }

    def _activate(self, _args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        self._icon.activated()
        return "", ()

    def _nothing(self, _args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return "", ()


class Icon:
    """A StatusNotifierItem with the part of pystray's ``Icon`` interface the tray uses.

    *menu* returns the current menu (read again on :meth:`update_menu`); *perform(action_id)* runs
    a clicked item's action and *activate()* the icon's own click (a host that calls ``Activate``
    instead of showing the menu); both run on the bus's thread and must only hand work over."""

    BACKEND = "sni"
    HAS_MENU = True
    HAS_DEFAULT_ACTION = True
    HAS_NOTIFICATION = False

    def __init__(
        self,
        name: str,
        icon: Any = None,
        title: str | None = None,
        menu: Callable[[], Sequence[MenuNode]] = tuple,
        *,
        perform: Callable[[str], None] = lambda _action: None,
        activate: Callable[[], None] = lambda: None,
        address: str | None = None,
    ) -> None:
        self.name = name
        self._title = title
        self._menu_source = menu
        self._activate = activate
        self._address = address
        self._visible = False
        self.pixmaps: list[Pixmap] = pixmaps(icon) if icon is not None else []
        self._icon = icon
        self._bus: Bus | None = None
        self._stopped = threading.Event()
        self.bus_name = f"org.kde.StatusNotifierItem-{os.getpid()}-1"
        self.registered = threading.Event()  # set while the watcher knows the item
        self._item = _Item(self)
        self._menu = dbusmenu.DbusMenu(
            perform, lambda member, sig, body: self._emit(dbusmenu.PATH, dbusmenu.IFACE, member, sig, body)
        )

    # --- pystray's interface ---------------------------------------------------------------

    @property
    def icon(self) -> Any:
        return self._icon

    @icon.setter
    def icon(self, image: Any) -> None:
        self._icon = image
        self.pixmaps = pixmaps(image) if image is not None else []
        self._emit(ITEM_PATH, ITEM_IFACE, "NewIcon")

    @property
    def title(self) -> str | None:
        return self._title

    @title.setter
    def title(self, value: str | None) -> None:
        self._title = value
        self._emit(ITEM_PATH, ITEM_IFACE, "NewTitle")
        self._emit(ITEM_PATH, ITEM_IFACE, "NewToolTip")

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._visible = bool(value)
        self._emit(ITEM_PATH, ITEM_IFACE, "NewStatus", "s", (self.status,))

    @property
    def status(self) -> str:
        return "Active" if self._visible else "Passive"

    def update_menu(self) -> None:
        self._menu.set_menu(self._menu_source())

    def notify(self, message: str, title: str | None = None) -> None:
        raise NotImplementedError("the StatusNotifierItem backend sends no notifications itself")

    def remove_notification(self) -> None:
        raise NotImplementedError("the StatusNotifierItem backend sends no notifications itself")

    def run(self, setup: Callable[[Icon], None] | None = None) -> None:
        """Serve the item on this thread until :meth:`stop`; *setup(icon)* runs on a thread of its
        own once the item is on the bus (raises when there is no session bus)."""
        from trayapp.tray.backend import session_bus_address

        address = self._address or session_bus_address(os.environ)
        if address is None:
            raise ConnectionError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        bus = self._bus = Bus(address)
        self._menu.set_menu(self._menu_source())
        bus.export(ITEM_PATH, self._item)
        bus.export(dbusmenu.PATH, self._menu)
        starter = threading.Thread(target=self._start, args=(setup,), name="trayapp-sni-setup", daemon=True)
        starter.start()
        bus.serve()
        self._stopped.set()

    def stop(self) -> None:
        self._stopped.set()
        if self._bus is not None:
            self._bus.close()

    # --- the item on the bus ------------------------------------------------------------------

    def activated(self) -> None:
        self._activate()

    def _start(self, setup: Callable[[Icon], None] | None) -> None:
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus

        bus = self._bus
        assert bus is not None
        try:
            bus.call(message_bus.RequestName(self.bus_name, 4))  # DO_NOT_QUEUE
            rule = MatchRule(type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                             member="NameOwnerChanged", path="/org/freedesktop/DBus")  # fmt: skip
            rule.add_arg_condition(0, WATCHER)
            bus.on_signal(rule, self._watcher_changed)
            self._register()
        except (ConnectionError, DBusError, OSError, TimeoutError) as exc:
            if not self._stopped.is_set():
                log.warning("the tray item could not be put on the session bus (%s)", exc)
        if setup is not None and not self._stopped.is_set():
            setup(self)

    def _watcher_changed(self, body: tuple[Any, ...]) -> None:
        """NameOwnerChanged for the watcher (on the bus's thread: register from another)."""
        _name, _old, new = body
        self.registered.clear()
        if new:
            log.info("a StatusNotifierWatcher appeared on the session bus: registering the tray item")
            threading.Thread(target=self._register, name="trayapp-sni-register", daemon=True).start()
        else:
            log.info("the StatusNotifierWatcher left the session bus; the item waits for the next one")

    def _register(self) -> None:
        from jeepney import DBusAddress, new_method_call

        if self._bus is None or self._stopped.is_set():
            return
        watcher = DBusAddress(WATCHER_PATH, bus_name=WATCHER, interface=WATCHER)
        try:
            self._bus.call(new_method_call(watcher, "RegisterStatusNotifierItem", "s", (self.bus_name,)))
        except DBusError as exc:
            if exc.name == "org.freedesktop.DBus.Error.ServiceUnknown":
                log.info("no StatusNotifierWatcher on the session bus yet: the item registers when a panel starts")
            else:
                log.warning("the StatusNotifierWatcher refused the tray item (%s)", exc)
            return
        except (ConnectionError, OSError, TimeoutError) as exc:
            log.info("the tray item could not register (%s)", exc)
            return
        self.registered.set()
        log.info("tray item registered with the StatusNotifierWatcher as %s", self.bus_name)

    def _emit(
        self, path: str, iface: str, member: str, signature: str | None = None, body: tuple[Any, ...] = ()
    ) -> None:
        if self._bus is not None:
            self._bus.emit(path, iface, member, signature, body)
