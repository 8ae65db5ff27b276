"""A real panel that shows StatusNotifierItems: Xfce's, on the private desktop.

``xfce4-panel`` (4.16 and later) with one "Status Tray" plugin is a StatusNotifierWatcher and host: it
draws the item's pixmap, opens its menu on a click and reads it over dbusmenu with libdbusmenu-gtk3 —
what an Xfce user sees.  It needs ``xfconfd`` (its settings) on the session bus; the private bus
starts nothing by itself, so both are started here and stopped with the desktop.  Start the
:class:`~tests.support.desktop.Desktop` without trayer (``tray=False``): both would be the X tray.
"""

from __future__ import annotations

import glob
import shutil
from typing import Any

from tests.support.desktop import Desktop
from tests.support.procs import wait_until

#: One panel along the top of the screen holding the Status Tray plugin.
PANEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=6;x=0;y=0"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
"""


def xfconfd() -> str | None:
    found = glob.glob("/usr/lib/*/xfce4/xfconf/xfconfd") + glob.glob("/usr/libexec/xfce4/xfconf/xfconfd")
    return found[0] if found else None


def available() -> bool:
    return shutil.which("xfce4-panel") is not None and xfconfd() is not None


def start(desktop: Desktop, timeout: float = 30) -> None:
    """Start xfconfd and the panel; return once the panel's StatusNotifierWatcher is on the bus."""
    folder = desktop.home / ".config" / "xfce4" / "xfconf" / "xfce-perchannel-xml"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "xfce4-panel.xml").write_text(PANEL_XML)
    daemon = xfconfd()
    assert daemon is not None
    desktop.spawn([daemon], name="xfconfd")
    desktop.wait_for_bus_name("org.xfce.Xfconf", timeout=timeout)
    desktop.spawn(["xfce4-panel", "--disable-wm-check"], name="panel")
    desktop.wait_for_bus_name("org.kde.StatusNotifierWatcher", timeout=timeout)


def icon_box(shot: Any) -> tuple[int, int, int, int] | None:
    """Where the panel drew an item: the bounding box of what differs from the panel's background in
    its strip along the top (read from *shot*, a screenshot as a PIL image)."""
    from PIL import Image, ImageChops

    strip = shot.convert("RGB").crop((0, 0, shot.width, 32))
    background = strip.getpixel((strip.width - 2, strip.height // 2))
    diff = ImageChops.difference(strip, Image.new("RGB", strip.size, background)).convert("L")
    box: tuple[int, int, int, int] | None = diff.point(lambda v: 255 if v > 24 else 0).getbbox()
    return box


def wait_for_icon(desktop: Desktop, tmp: Any, timeout: float = 20) -> tuple[int, int]:
    """The centre of the item the panel shows (waits for it to be drawn)."""
    from PIL import Image

    def probe() -> tuple[int, int] | None:
        with Image.open(desktop.screenshot(tmp / "panel.png")) as shot:
            box = icon_box(shot)
        if box is None or box[2] - box[0] < 8:
            return None
        return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2

    return wait_until("the panel to draw the item", probe, timeout, interval=0.1)
