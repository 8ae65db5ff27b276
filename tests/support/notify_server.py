"""A tiny ``org.freedesktop.Notifications`` server for tests, written with jeepney.

Run it on a private test bus::

    DBUS_SESSION_BUS_ADDRESS=unix:path=... python -m tests.support.notify_server OUTFILE

It owns ``org.freedesktop.Notifications`` on that bus and serves the object
``/org/freedesktop/Notifications``:

``org.freedesktop.Notifications``
    ``Notify(susssasa{sv}i) -> u``: returns increasing ids (1, 2, ...; a non-zero
    ``replaces_id`` is returned as is) and appends one JSON line per call to
    OUTFILE with the keys ``app_name, replaces_id, app_icon, summary, body,
    actions, hints, expire_timeout, id``.  ``actions`` is the flat D-Bus list
    ``[key, label, key, label, ...]``.  Hints are made JSON-serialisable: the
    variant signature is dropped, D-Bus structs become lists, byte arrays become
    ``{"bytes": LENGTH}`` (image data is not stored).
    ``GetCapabilities() -> as``: ``["actions", "body"]``, or the comma-separated list in the
    environment variable ``NOTIFY_SERVER_CAPABILITIES`` (e.g. ``actions,body,body-markup``).
    ``GetServerInformation() -> ssss``: ``("trayapp-test", "trayapp", "1.0", "1.2")``.
    ``CloseNotification(u)``: appends ``{"id": ID}`` to ``OUTFILE.closed`` and emits
    ``NotificationClosed(id, 3)``.

``org.trayapp.Test`` (test control; this is how a test "clicks" a notification)
    ``Invoke(us)``: emits the signal ``ActionInvoked(id, action_key)``.
    ``Close(uu)``: emits the signal ``NotificationClosed(id, reason)``
    (1 expired, 2 dismissed by the user, 3 closed by CloseNotification, 4 other).

Signals are broadcast (no destination), from the path and interface above, as a
real notification daemon sends them.  Call the control methods with
``Desktop.invoke_action()`` / ``Desktop.close_notification()``, with jeepney, or
with ``dbus-send --session --print-reply --dest=org.freedesktop.Notifications
/org/freedesktop/Notifications org.trayapp.Test.Invoke uint32:1 string:renew``.

The process ends on SIGTERM/SIGINT or when the bus goes away.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
IFACE = "org.freedesktop.Notifications"
TEST_IFACE = "org.trayapp.Test"
CAPABILITIES = [c for c in os.environ.get("NOTIFY_SERVER_CAPABILITIES", "actions,body").split(",") if c]
SERVER_INFO = ("trayapp-test", "trayapp", "1.0", "1.2")

INTROSPECTION_XML = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="{IFACE}">
    <method name="Notify">
      <arg direction="in" type="s"/><arg direction="in" type="u"/>
      <arg direction="in" type="s"/><arg direction="in" type="s"/>
      <arg direction="in" type="s"/><arg direction="in" type="as"/>
      <arg direction="in" type="a{{sv}}"/><arg direction="in" type="i"/>
      <arg direction="out" type="u"/>
    </method>
    <method name="CloseNotification"><arg direction="in" type="u"/></method>
    <method name="GetCapabilities"><arg direction="out" type="as"/></method>
    <method name="GetServerInformation">
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
    </method>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
  </interface>
  <interface name="{TEST_IFACE}">
    <method name="Invoke"><arg direction="in" type="u"/><arg direction="in" type="s"/></method>
    <method name="Close"><arg direction="in" type="u"/><arg direction="in" type="u"/></method>
  </interface>
</node>
"""


def jsonable(value: Any) -> Any:
    """Turn a value parsed by jeepney into something ``json.dumps`` accepts."""
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": len(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def hints_to_json(hints: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """``a{sv}`` as parsed by jeepney (``{key: (signature, value)}``) → plain JSON."""
    return {key: jsonable(variant[1]) for key, variant in hints.items()}


class NotificationServer:
    def __init__(self, conn: DBusConnection, outfile: Path) -> None:
        self.conn = conn
        self.outfile = outfile
        self.closed_file = Path(str(outfile) + ".closed")
        self.next_id = 1
        self.emitter = DBusAddress(OBJECT_PATH, interface=IFACE)

    # -- helpers -------------------------------------------------------------
    def _append(self, path: Path, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()

    def _signal(self, name: str, signature: str, body: tuple[Any, ...]) -> None:
        self.conn.send(new_signal(self.emitter, name, signature, body))

    # -- method handlers -----------------------------------------------------
    def notify(self, msg: Message) -> Message:
        app_name, replaces_id, app_icon, summary, body, actions, hints, expire = msg.body
        if replaces_id:
            nid = int(replaces_id)
        else:
            nid = self.next_id
            self.next_id += 1
        self._append(
            self.outfile,
            {
                "app_name": app_name,
                "replaces_id": replaces_id,
                "app_icon": app_icon,
                "summary": summary,
                "body": body,
                "actions": list(actions),
                "hints": hints_to_json(hints),
                "expire_timeout": expire,
                "id": nid,
            },
        )
        return new_method_return(msg, "u", (nid,))

    def handle(self, msg: Message) -> Message | None:
        fields = msg.header.fields
        iface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        path = fields.get(HeaderFields.path)

        if iface == "org.freedesktop.DBus.Introspectable" and member == "Introspect":
            xml = INTROSPECTION_XML if path == OBJECT_PATH else "<node/>"
            return new_method_return(msg, "s", (xml,))
        if iface == "org.freedesktop.DBus.Peer":
            if member == "Ping":
                return new_method_return(msg)
            if member == "GetMachineId":
                return new_method_return(msg, "s", ("0" * 32,))
        if iface == "org.freedesktop.DBus.Properties" and member == "GetAll":
            return new_method_return(msg, "a{sv}", ({},))
        if path != OBJECT_PATH:
            return new_error(msg, "org.freedesktop.DBus.Error.UnknownObject", "s", (str(path),))

        if iface in (IFACE, None):
            if member == "Notify":
                return self.notify(msg)
            if member == "GetCapabilities":
                return new_method_return(msg, "as", (CAPABILITIES,))
            if member == "GetServerInformation":
                return new_method_return(msg, "ssss", SERVER_INFO)
            if member == "CloseNotification":
                (nid,) = msg.body
                self._append(self.closed_file, {"id": nid})
                self._signal("NotificationClosed", "uu", (nid, 3))
                return new_method_return(msg)
        if iface in (TEST_IFACE, None):
            if member == "Invoke":
                nid, key = msg.body
                self._signal("ActionInvoked", "us", (nid, key))
                return new_method_return(msg)
            if member == "Close":
                nid, reason = msg.body
                self._signal("NotificationClosed", "uu", (nid, reason))
                return new_method_return(msg)
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"{iface}.{member}",))

    def serve_forever(self) -> None:
        while True:
            try:
                msg = self.conn.receive()
            except (ConnectionError, OSError):
                return  # the bus went away: the test is over
            if msg.header.message_type != MessageType.method_call:
                continue
            try:
                reply = self.handle(msg)
            except Exception as exc:  # report it to the caller, keep serving
                reply = new_error(msg, "org.freedesktop.DBus.Error.Failed", "s", (repr(exc),))
            if reply is not None:
                self.conn.send(reply)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.support.notify_server OUTFILE", file=sys.stderr)
        return 2
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        print("notify_server: DBUS_SESSION_BUS_ADDRESS is not set", file=sys.stderr)
        return 2
    outfile = Path(args[0])
    outfile.touch()
    Path(str(outfile) + ".closed").touch()

    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    conn = open_dbus_connection(bus=os.environ["DBUS_SESSION_BUS_ADDRESS"])
    # DO_NOT_QUEUE (4): fail at once if someone else already owns the name.
    reply = conn.send_and_get_reply(message_bus.RequestName(BUS_NAME, 4), timeout=5)
    if reply.body[0] != 1:  # 1 = DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
        print(f"notify_server: could not own {BUS_NAME}: {reply.body!r}", file=sys.stderr)
        return 1
    try:
        NotificationServer(conn, outfile).serve_forever()
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
