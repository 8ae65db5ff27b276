"""A panel that reads the item just as the tray turns it Active must go on to show it.

Xfce's Status Tray takes ``Status`` from ``GetAll`` replies and from ``NewStatus`` signals in the order
they arrive.  On a busy machine the item's reply to ``GetAll`` — worked out while the item was still
"Passive" — could be sent after the ``NewStatus`` "Active" another thread sent meanwhile, and the panel
kept the item hidden for good (a loaded run: the panel never drew it in 60 s).  Here the reply is held
after ``Status`` was read, as such a machine holds it, and the order on the wire is what is checked.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PIL import Image

from tests.support.desktop import Desktop
from tests.support.procs import wait_until
from trayapp.tray.sni import ITEM_IFACE, ITEM_PATH, Icon


class HeldIcon(Icon):
    """An item whose next property read stops right after ``Status`` was read, until released."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hold_next = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()

    @property
    def status(self) -> str:
        status = super().status
        if self.hold_next.is_set():
            self.hold_next.clear()
            self.held.set()
            self.release.wait(30)
        return status


@pytest.mark.desktop
def test_a_status_read_as_the_item_turns_active_reaches_the_panel_before_new_status(bare_bus: Desktop) -> None:
    from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, new_method_call
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    assert bare_bus.bus_address is not None
    icon = HeldIcon("trayapp", Image.new("RGBA", (16, 16), "red"), "trayapp", address=bare_bus.bus_address)
    server = threading.Thread(target=icon.run, daemon=True)
    server.start()
    panel = open_dbus_connection(bus=bare_bus.bus_address)
    try:
        wait_until("the item on the bus", lambda: bare_bus.name_has_owner(icon.bus_name), 10)
        rule = MatchRule(type="signal", sender=icon.bus_name, interface=ITEM_IFACE, member="NewStatus")
        panel.send_and_get_reply(message_bus.AddMatch(rule))

        icon.hold_next.set()
        props = DBusAddress(ITEM_PATH, bus_name=icon.bus_name, interface="org.freedesktop.DBus.Properties")
        serial = 7000
        panel.send(new_method_call(props, "GetAll", "s", (ITEM_IFACE,)), serial=serial)
        assert icon.held.wait(10), "the item never read its Status for GetAll"

        shown = threading.Thread(target=setattr, args=(icon, "visible", True))  # the tray shows the icon
        shown.start()
        shown.join(timeout=2)  # the signal goes out now, or waits for the reply held above
        icon.release.set()
        shown.join(timeout=10)
        assert not shown.is_alive()

        heard: list[tuple[str, str]] = []
        while len(heard) < 2:
            msg = panel.receive(timeout=10)
            if msg.header.message_type == MessageType.method_return:
                if msg.header.fields.get(HeaderFields.reply_serial) == serial:
                    heard.append(("reply", msg.body[0]["Status"][1]))
            elif msg.header.fields.get(HeaderFields.member) == "NewStatus":
                heard.append(("NewStatus", msg.body[0]))
        # The panel keeps the last word it heard: "Active", so it shows the item.
        assert heard == [("reply", "Passive"), ("NewStatus", "Active")]
    finally:
        panel.close()
        icon.stop()
        server.join(timeout=5)
