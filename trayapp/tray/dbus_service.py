"""One session-bus connection that serves objects, calls methods and hears signals (jeepney).

The StatusNotifierItem and its dbusmenu (:mod:`trayapp.tray.sni`, :mod:`trayapp.tray.dbusmenu`) are
objects other processes call: a panel reads their properties and calls their methods.  jeepney is
pure Python (keyring brings it already), so the tray speaks D-Bus without GTK or GLib.

One thread reads the connection (:meth:`Bus.serve`: the tray's main thread for the item, a thread
of its own for the notifications' connection, :meth:`Bus.serve_in_thread`): it answers method calls
on the exported objects, hands replies to callers waiting in :meth:`Bus.call` (any other thread) and
runs signal handlers.  Handlers run on that thread and must not wait for a reply.

A property read is worked out and answered before any signal another thread sends meanwhile goes
out: a panel that reads ``Status`` "Passive" while the tray turns the item Active must get that
reply *before* ``NewStatus`` "Active".  The other way round — the reply overtaken by the signal on a
busy machine — Xfce's panel takes the stale reply last and keeps the item hidden for good.

(jeepney's own ``DBusRouter`` would do the calls, but its reader dies with a traceback when the bus
goes away, and it needs a second thread to consume signals.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from trayapp.tray.dbus_wire import Marshalled, MarshalledMessage

log = logging.getLogger(__name__)

PROPS = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"

#: A method: the call's body in, (signature, body) of the reply out — the body a tuple, or the bytes
#: of a :class:`~trayapp.tray.dbus_wire.Marshalled` one; raise :class:`DBusError` to refuse.
Method = Callable[[tuple[Any, ...]], tuple[str, Any]]


class DBusError(Exception):
    """An error reply: a D-Bus error *name* and a sentence."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}" if text else name)
        self.name = name
        self.text = text


class Interface:
    """One interface of an exported object: its methods, its properties and its introspection XML."""

    name = ""
    #: The ``<interface>`` element (methods, properties, signals) for Introspect.
    xml = ""

    def methods(self) -> Mapping[str, Method]:
        return {}

    def properties(self) -> dict[str, tuple[str, Any]]:
        """Every property as ``name: (signature, value)``.  Signals wait while it runs (see the module's
        note): it must be quick and take no lock that a thread sending a signal may hold."""
        return {}


class Bus:
    """A jeepney connection to the session bus (*address*; None: ``DBUS_SESSION_BUS_ADDRESS``)."""

    def __init__(self, address: str | None = None, timeout: float = 5.0) -> None:
        from jeepney.io.threading import open_dbus_connection

        self._conn = open_dbus_connection(bus=address or "SESSION")
        self.unique_name: str = self._conn.unique_name
        self.timeout = timeout
        self._objects: dict[str, dict[str, Interface]] = {}
        self._pending: dict[int, Future[Any]] = {}
        self._signal_handlers: list[tuple[Callable[[Any], bool], Callable[[tuple[Any, ...]], None]]] = []
        self._lock = threading.Lock()
        # Held while a property reply is worked out and sent, and while a signal is sent (see above).
        self._in_order = threading.RLock()
        self._reader: threading.Thread | None = None
        self._own_reader = False
        self.alive = True

    # --- what other processes see ---------------------------------------------------

    def export(self, path: str, *interfaces: Interface) -> None:
        with self._lock:
            self._objects.setdefault(path, {}).update({i.name: i for i in interfaces})

    def emit(
        self, path: str, interface: str, member: str, signature: str | None = None, body: tuple[Any, ...] = ()
    ) -> None:
        """Send a signal (from any thread); a closed connection drops it."""
        from jeepney import DBusAddress, new_signal

        if not self.alive:
            return
        try:
            with self._in_order:
                self._conn.send(new_signal(DBusAddress(path, interface=interface), member, signature, body))
        except (OSError, ValueError) as exc:
            log.info("a D-Bus signal could not be sent (%s)", exc)

    # --- what this process asks -------------------------------------------------------

    def call(self, msg: Any, timeout: float | None = None) -> tuple[Any, ...]:
        """Send a method call and wait for its reply (never from the reading thread)."""
        from jeepney import HeaderFields, MessageType

        if threading.current_thread() is self._reader:
            raise RuntimeError("a D-Bus call from the thread that reads its reply would wait for itself")
        future: Future[Any] = Future()
        serial = next(self._conn.outgoing_serial)
        with self._lock:
            if not self.alive:
                raise ConnectionError("the session bus connection is closed")
            self._pending[serial] = future
        try:
            self._conn.send(msg, serial=serial)
            reply = future.result(self.timeout if timeout is None else timeout)
        finally:
            with self._lock:
                self._pending.pop(serial, None)
        if reply.header.message_type == MessageType.error:
            text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
            raise DBusError(str(reply.header.fields.get(HeaderFields.error_name, "error")), text)
        return tuple(reply.body)

    def on_signal(self, rule: Any, handler: Callable[[tuple[Any, ...]], None]) -> None:
        """Run *handler(body)* for each signal *rule* (a jeepney ``MatchRule``) matches; asks the bus
        to route them here (a blocking call: not from the reading thread)."""
        from jeepney.bus_messages import message_bus

        with self._lock:
            self._signal_handlers.append((rule.matches, handler))
        self.call(message_bus.AddMatch(rule))

    # --- the reading thread -------------------------------------------------------------

    def serve_in_thread(self, name: str) -> None:
        """Read on a daemon thread *name* of its own, joined by :meth:`close` (for a connection that
        only calls and hears signals)."""
        thread = threading.Thread(target=self.serve, name=name, daemon=True)
        self._reader, self._own_reader = thread, True
        thread.start()

    def serve(self) -> None:
        """Read and dispatch until :meth:`close` (or the bus goes away)."""
        from jeepney import HeaderFields, MessageType
        from jeepney.io.threading import ReceiveStopped

        self._reader = threading.current_thread()
        try:
            while self.alive:
                msg = self._conn.receive()
                kind = msg.header.message_type
                if kind == MessageType.method_call:
                    self._answer(msg)
                elif kind in (MessageType.method_return, MessageType.error):
                    with self._lock:
                        future = self._pending.get(msg.header.fields.get(HeaderFields.reply_serial, 0))
                    if future is not None and not future.done():
                        future.set_result(msg)
                elif kind == MessageType.signal:
                    self._signalled(msg)
        except ReceiveStopped:
            pass
        except (OSError, ValueError) as exc:  # the bus went away, or the socket was closed
            log.info("the session bus connection ended (%s)", exc)
        finally:
            with self._lock:
                self.alive = False
                pending = list(self._pending.values())
            for future in pending:
                if not future.done():
                    future.set_exception(ConnectionError("the session bus connection ended"))
            self._conn.close()

    def close(self) -> None:
        """End :meth:`serve` and the connection (from any thread; from a method handler, once its
        reply is sent: Quit clicked in the menu still answers the click)."""
        with self._lock:
            self.alive = False
        reader = self._reader
        if threading.current_thread() is not reader:
            self._conn.close()  # interrupts the reader
            if self._own_reader and reader is not None:
                reader.join(timeout=2)

    def _signalled(self, msg: Any) -> None:
        with self._lock:
            handlers = [handler for matches, handler in self._signal_handlers if matches(msg)]
        for handler in handlers:
            try:
                handler(tuple(msg.body))
            except Exception:
                log.exception("a D-Bus signal could not be handled")

    def _answer(self, msg: Any) -> None:
        from jeepney import HeaderFields

        if msg.header.fields.get(HeaderFields.interface) == PROPS:  # cheap, and takes no other lock
            with self._in_order:
                self._reply(msg)
        else:
            self._reply(msg)

    def _reply(self, msg: Any) -> None:
        from jeepney import HeaderFields, new_error, new_method_return

        fields = msg.header.fields
        path = fields.get(HeaderFields.path, "")
        iface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member, "")
        try:
            signature, body = self._dispatch(path, iface, member, tuple(msg.body))
            if isinstance(body, Marshalled):  # written to the wire format already (a big menu)
                reply = MarshalledMessage(new_method_return(msg, signature).header, body)
            else:
                reply = new_method_return(msg, signature or None, body)
        except DBusError as exc:
            reply = new_error(msg, exc.name, "s", (exc.text,))
        except Exception as exc:
            log.exception("a D-Bus call to %s %s.%s failed", path, iface, member)
            reply = new_error(msg, "org.freedesktop.DBus.Error.Failed", "s", (type(exc).__name__,))
        if msg.header.flags & 1:  # NO_REPLY_EXPECTED
            return
        try:
            self._conn.send(reply)
        except (OSError, ValueError) as exc:
            log.info("a D-Bus reply could not be sent (%s)", exc)

    def _dispatch(
        self, path: str, iface: str | None, member: str, args: tuple[Any, ...]
    ) -> tuple[str, tuple[Any, ...]]:
        with self._lock:
            interfaces = dict(self._objects.get(path, {}))
            children = sorted({p[len(path) :].strip("/").split("/")[0] for p in self._objects if _below(p, path)})
        if iface == INTROSPECTABLE and member == "Introspect":
            return "s", (_introspection(interfaces, children),)
        if iface == PEER:
            if member == "Ping":
                return "", ()
            if member == "GetMachineId":
                return "s", (_machine_id(),)
        if not interfaces:
            raise DBusError("org.freedesktop.DBus.Error.UnknownObject", f"no object at {path}")
        if iface == PROPS:
            return _properties(interfaces, member, args)
        candidates = [interfaces[iface]] if iface in interfaces else ([] if iface else list(interfaces.values()))
        for interface in candidates:
            method = interface.methods().get(member)
            if method is not None:
                return method(args)
        raise DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"no method {iface}.{member} at {path}")


def _below(child: str, parent: str) -> bool:
    prefix = parent.rstrip("/") + "/"
    return child != parent and child.startswith(prefix)


def _properties(interfaces: Mapping[str, Interface], member: str, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    interface = interfaces.get(str(args[0])) if args else None
    if interface is None:
        raise DBusError("org.freedesktop.DBus.Error.UnknownInterface", f"no interface {args[0] if args else ''}")
    values = interface.properties()
    if member == "GetAll":
        return "a{sv}", (values,)
    if member == "Get" and len(args) > 1:
        if args[1] not in values:
            raise DBusError("org.freedesktop.DBus.Error.UnknownProperty", f"no property {args[1]}")
        return "v", (values[args[1]],)
    if member == "Set":
        raise DBusError("org.freedesktop.DBus.Error.PropertyReadOnly", "the properties are read-only")
    raise DBusError("org.freedesktop.DBus.Error.UnknownMethod", f"no method {PROPS}.{member}")


_STANDARD_XML = (
    f'<interface name="{INTROSPECTABLE}"><method name="Introspect"><arg type="s" direction="out"/></method></interface>'
    f'<interface name="{PROPS}"><method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/>'
    '<arg type="v" direction="out"/></method><method name="GetAll"><arg type="s" direction="in"/>'
    '<arg type="a{sv}" direction="out"/></method></interface>'
)


def _introspection(interfaces: Mapping[str, Interface], children: list[str]) -> str:
    parts = ['<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN" '
             '"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">', "<node>"]  # fmt: skip
    if interfaces:
        parts.append(_STANDARD_XML)
        parts.extend(i.xml for i in interfaces.values())
    parts.extend(f'<node name="{child}"/>' for child in children if child)
    parts.append("</node>")
    return "".join(parts)


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path, encoding="ascii") as fh:
                return fh.read().strip()
        except OSError:
            continue
    return "0" * 32
