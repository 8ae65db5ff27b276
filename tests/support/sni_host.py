"""A StatusNotifierWatcher and a host that read a StatusNotifierItem as panels do (jeepney).

:class:`Watcher` owns ``org.kde.StatusNotifierWatcher`` on the private session bus (in a thread of
the test process, on a connection of its own) and records the items that register; :meth:`stop`
then :meth:`start` again is a panel restarting (the name loses its owner and gets a new one).

:class:`Host` is a panel's other half: it reads the item's properties and walks its menu over
``com.canonical.dbusmenu`` the way KDE, GNOME's AppIndicator extension and waybar do —
``AboutToShow(id)`` on a submenu before ``GetLayout(id, 1, [])`` —, clicks with
``Event(id, "clicked", …)`` and hears ``LayoutUpdated``.  Written independently of trayapp's own
D-Bus code, so a shared misreading of the specs would not pass unseen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    MatchRule,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection as open_blocking

from tests.support.procs import wait_until

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"
PROPS = "org.freedesktop.DBus.Properties"


class Watcher:
    """``org.kde.StatusNotifierWatcher`` on the bus at *address*, while started."""

    def __init__(self, address: str) -> None:
        self.address = address
        #: Every registration seen, as (bus name, object path), across restarts.
        self.registrations: list[tuple[str, str]] = []
        self._conn: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Watcher:
        from jeepney.io.threading import open_dbus_connection

        conn = open_dbus_connection(bus=self.address)
        serial = next(conn.outgoing_serial)
        conn.send(message_bus.RequestName(WATCHER, 4), serial=serial)  # DO_NOT_QUEUE
        while True:
            reply = conn.receive(timeout=10)
            if reply.header.fields.get(HeaderFields.reply_serial) == serial:
                break
        if reply.body[0] != 1:
            raise RuntimeError(f"the test could not own {WATCHER} (RequestName said {reply.body[0]})")
        self._conn = conn
        self._thread = threading.Thread(target=self._serve, args=(conn,), name="sni-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Leave the bus, as a panel that quits (the name loses its owner)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.registrations)

    def wait_for_item(self, count: int = 1, timeout: float = 15) -> tuple[str, str]:
        """The *count*-th registration (waits for it)."""

        def registered() -> tuple[str, str] | None:
            items = self.items()
            return items[count - 1] if len(items) >= count else None

        return wait_until(f"registration #{count} with the watcher", registered, timeout, interval=0.02)

    def _serve(self, conn: Any) -> None:
        from jeepney.io.threading import ReceiveStopped

        try:
            while True:
                msg = conn.receive()
                if msg.header.message_type == MessageType.method_call:
                    conn.send(self._handle(conn, msg))
        except (ReceiveStopped, OSError, ValueError):
            return

    def _handle(self, conn: Any, msg: Any) -> Any:
        fields = msg.header.fields
        member, iface = fields.get(HeaderFields.member), fields.get(HeaderFields.interface)
        if member == "RegisterStatusNotifierItem":
            (service,) = msg.body
            sender = fields.get(HeaderFields.sender)
            name, path = (sender, service) if service.startswith("/") else (service, "/StatusNotifierItem")
            with self._lock:
                self.registrations.append((name, path))
            emitter = DBusAddress(WATCHER_PATH, interface=WATCHER)
            conn.send(new_signal(emitter, "StatusNotifierItemRegistered", "s", (f"{name}{path}",)))
            return new_method_return(msg)
        if member == "RegisterStatusNotifierHost":
            return new_method_return(msg)
        if iface == PROPS and member in ("Get", "GetAll"):
            with self._lock:
                items = [f"{n}{p}" for n, p in self.registrations]
            props = {"RegisteredStatusNotifierItems": ("as", items), "IsStatusNotifierHostRegistered": ("b", True),
                     "ProtocolVersion": ("i", 0)}  # fmt: skip
            if member == "GetAll":
                return new_method_return(msg, "a{sv}", (props,))
            return new_method_return(msg, "v", (props[msg.body[1]],))
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (str(member),))


@dataclass
class Item:
    """One menu item as a panel holds it."""

    id: int
    props: dict[str, Any]
    children: list[Item] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The text shown: ``__`` is a literal underscore (dbusmenu's mnemonic rule)."""
        return str(self.props.get("label", "")).replace("__", "\0").replace("_", "").replace("\0", "_")

    @property
    def raw_label(self) -> str:
        return str(self.props.get("label", ""))

    @property
    def is_submenu(self) -> bool:
        return self.props.get("children-display") == "submenu"

    @property
    def enabled(self) -> bool:
        return bool(self.props.get("enabled", True))

    @property
    def separator(self) -> bool:
        return self.props.get("type") == "separator"


def _plain(props: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    return {name: value for name, (_sig, value) in props.items()}


class Host:
    """Reads the item *name* at *path* over the bus at *address* (a connection of its own)."""

    def __init__(self, address: str, name: str, path: str) -> None:
        self.conn = open_blocking(bus=address)
        self.name = name
        self.item = DBusAddress(path, bus_name=name, interface=ITEM_IFACE)
        menu_path = self.properties()["Menu"]
        self.menu = DBusAddress(menu_path, bus_name=name, interface=MENU_IFACE)
        (owner,) = self.conn.send_and_get_reply(message_bus.GetNameOwner(name), timeout=10).body
        # The unique name: jeepney's filters compare it with the signal's sender as given.
        rule = MatchRule(type="signal", sender=owner, interface=MENU_IFACE, member="LayoutUpdated")
        self.conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=10)
        self._updates = self.conn.filter(rule, bufsize=1000).queue

    def close(self) -> None:
        self.conn.close()

    def _call(self, address: DBusAddress, method: str, signature: str | None = None, body: tuple[Any, ...] = (),
              iface: str | None = None) -> tuple[Any, ...]:  # fmt: skip
        target = DBusAddress(address.object_path, bus_name=address.bus_name, interface=iface or address.interface)
        reply = self.conn.send_and_get_reply(new_method_call(target, method, signature, body), timeout=10)
        if reply.header.message_type == MessageType.error:
            raise RuntimeError(f"{method}: {reply.header.fields.get(HeaderFields.error_name)} {reply.body}")
        return tuple(reply.body)

    def properties(self) -> dict[str, Any]:
        (props,) = self._call(self.item, "GetAll", "s", (ITEM_IFACE,), iface=PROPS)
        return _plain(props)

    def menu_properties(self) -> dict[str, Any]:
        (props,) = self._call(self.menu, "GetAll", "s", (MENU_IFACE,), iface=PROPS)
        return _plain(props)

    def layout(self, parent: int = 0, depth: int = 1) -> tuple[int, Item]:
        """(revision, *parent* with its children) after ``AboutToShow(parent)``, as a panel opening it."""
        self._call(self.menu, "AboutToShow", "i", (parent,))
        revision, tree = self._call(self.menu, "GetLayout", "iias", (parent, depth, []))
        return revision, self._item(tree)

    def _item(self, tree: tuple[int, dict[str, Any], list[Any]]) -> Item:
        ident, props, children = tree
        return Item(ident, _plain(props), [self._item(value) for _sig, value in children])

    def find(self, *labels: str) -> Item:
        """Open the submenus along *labels* (each a label's start) and return the last item."""
        node = self.layout(0)[1]
        for depth, prefix in enumerate(labels):
            matches = [c for c in node.children if c.label.startswith(prefix)]
            if not matches:
                raise AssertionError(f"no item starting {prefix!r} in {[c.label for c in node.children]}")
            node = matches[0]
            if depth < len(labels) - 1:
                node = self.layout(node.id)[1]
        return node

    def click(self, item: Item) -> None:
        self._call(self.menu, "Event", "isvu", (item.id, "clicked", ("s", ""), 0))

    def activate(self) -> None:
        self._call(self.item, "Activate", "ii", (0, 0))

    def layout_updates(self, timeout: float = 0.0) -> int:
        """How many ``LayoutUpdated`` signals arrived (reads what is waiting, up to *timeout*)."""
        count = 0
        while True:
            try:
                self.conn.recv_until_filtered(self._updates, timeout=timeout)
            except TimeoutError:
                return count + self._drain()
            count += 1
            timeout = 0.0

    def _drain(self) -> int:
        count = 0
        while self._updates:
            self._updates.popleft()
            count += 1
        return count
