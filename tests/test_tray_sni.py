"""The tray as a StatusNotifierItem, read and driven over D-Bus as panels do.

A watcher and host (tests/support/sni_host.py) on the private session bus stand in for KDE's panel,
GNOME's AppIndicator extension or waybar: with the watcher on the bus the tray picks its own SNI
backend by default; the host reads the item, opens "prod" (``AboutToShow`` then ``GetLayout``),
clicks "Assume role", the Tk dialog takes the code typed with xdotool, ``[prod-session]`` is
written (moto's STS), and the label changes after ``LayoutUpdated``.  No GTK is loaded in the tray.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import xfce_panel
from tests.support.desktop import Desktop
from tests.support.dialog import find_window, press, save_screenshot, type_into
from tests.support.fixtures import require_tools
from tests.support.procs import HarnessError
from tests.support.screen_state import KeyboardGrab, wait_painted
from tests.support.sni_host import Host, Watcher
from tests.support.sts import MotoServer, run_aws
from tests.support.tray_desktop import (
    CREDENTIALS,
    aws_env,
    exit_status,
    start_tray,
    visible_windows,
    wait_for,
    wait_for_new_windows,
    wait_until_closed,
    write_aws_files,
)

GTK_LIBRARIES = ("libgtk-3", "_gi.cpython", "libgobject-2", "libayatana-appindicator")


def loaded_gtk(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines() if any(lib in line for lib in GTK_LIBRARIES)})


def root_labels(host: Host) -> list[str]:
    return [item.label for item in host.layout(0)[1].children if not item.separator]


@pytest.mark.desktop
def test_a_panel_reads_the_item_opens_a_role_and_assumes_it(desktop: Desktop, moto_sts: MotoServer) -> None:
    assert desktop.bus_address is not None
    watcher = Watcher(desktop.bus_address).start()
    try:
        credentials = write_aws_files(desktop.home)
        tray = start_tray(desktop, aws_env(desktop, moto_sts.url))  # no PYSTRAY_BACKEND: the default
        name, path = watcher.wait_for_item()
        host = Host(desktop.bus_address, name, path)

        props = wait_for("the item to turn Active", lambda: (p := host.properties())["Status"] == "Active" and p,
                         15, desktop)  # fmt: skip
        assert props["Id"] == "trayapp" and props["Category"] == "ApplicationStatus"
        assert props["Title"].startswith("trayapp") and props["ToolTip"][2] == props["Title"]
        assert props["ItemIsMenu"] is True and props["Menu"] == "/MenuBar"
        sizes = {(w, h) for w, h, _data in props["IconPixmap"]}
        assert {(16, 16), (22, 22), (24, 24), (32, 32), (48, 48)} <= sizes
        for w, h, data in props["IconPixmap"]:
            assert len(data) == w * h * 4
            centre = ((h // 2) * w + w // 2) * 4
            assert data[0] < 64 and data[centre] == 255  # ARGB: a transparent corner, an opaque middle
        assert host.menu_properties()["Version"] >= 3

        # The menu as a panel opens it: the roles first (read once the files are), "prod" built on opening.
        labels = wait_for("the roles in the menu", lambda: (r := root_labels(host)) and "prod — needs MFA" in r and r,
                          15, desktop)  # fmt: skip
        assert labels[-1] == "Quit" and "dev" in labels
        prod = host.find("prod — needs MFA")
        assert prod.is_submenu
        opened = host.layout(prod.id)[1]
        assert next(c.label for c in opened.children if not c.separator) == "Assume role"
        copy = next(c for c in opened.children if "AWS_PROFILE" in c.label)
        assert "AWS__PROFILE=prod-session" in copy.raw_label  # dbusmenu's mnemonic rule: _ written twice
        console = next(c for c in opened.children if c.label == "Open AWS console")
        assert not console.enabled  # no session yet
        host.layout_updates()  # forget the updates so far

        host.click(opened.children[0])
        find_window(desktop, timeout=15)
        type_into(desktop, "123456")
        press(desktop, "Return")
        wait_for("[prod-session] in the credentials file", lambda: "[prod-session]" in credentials.read_text(), 15,
                 desktop)  # fmt: skip
        assert CREDENTIALS in credentials.read_text()
        aws = run_aws(["sts", "get-caller-identity", "--output", "json"],
                      aws_env(desktop, moto_sts.url, AWS_PROFILE="prod-session"))  # fmt: skip
        assert aws.returncode == 0, aws.stderr
        assert ":assumed-role/Admin/" in json.loads(aws.stdout)["Arn"]

        # The panel hears LayoutUpdated and reads the new label.
        wait_for("LayoutUpdated after the assume", lambda: host.layout_updates(timeout=0.2), 15, desktop)
        wait_for("prod's label to show the time left",
                 lambda: any(lb.startswith("prod — ") and "needs MFA" not in lb for lb in root_labels(host)), 15,
                 desktop)  # fmt: skip
        renew = host.layout(host.find("prod — ").id)[1].children
        assert renew[0].label == "Renew session" and renew[1].enabled

        assert loaded_gtk(tray.pid) == [], "the SNI tray loaded GTK"

        # The panel restarts: the item registers with the new watcher.
        watcher.stop()
        watcher.start()
        assert watcher.wait_for_item(count=2) == (name, path)

        host.click(host.find("Quit"))
        assert exit_status(tray, desktop) == 0, desktop.log("tray")
        host.close()
    finally:
        watcher.stop()


@pytest.mark.desktop
def test_a_panel_that_starts_after_the_tray_gets_the_item(desktop: Desktop, moto_sts: MotoServer) -> None:
    """``PYSTRAY_BACKEND=sni`` with no panel yet: the item waits on the bus and registers when one comes;
    ``Activate`` opens the menu as the Tk popup."""
    assert desktop.bus_address is not None
    write_aws_files(desktop.home)
    tray = start_tray(desktop, aws_env(desktop, moto_sts.url, PYSTRAY_BACKEND="sni"))
    wait_for("the tray to wait for a panel", lambda: "registers when a panel starts" in desktop.log("tray"), 15,
             desktop)  # fmt: skip
    watcher = Watcher(desktop.bus_address).start()
    try:
        name, path = watcher.wait_for_item()
        host = Host(desktop.bus_address, name, path)
        wait_for("the roles in the menu", lambda: "dev" in root_labels(host), 15, desktop)
        # A panel that calls Activate on a left click (waybar's default) gets the same menu as a popup.
        before = visible_windows(desktop)
        host.activate()
        popup = wait_for_new_windows(desktop, before, timeout=15)
        desktop.xdotool("key", "Escape")
        wait_until_closed(desktop, popup, timeout=10)
        host.click(host.find("Quit"))
        assert exit_status(tray, desktop) == 0, desktop.log("tray")
        host.close()
    finally:
        watcher.stop()


@pytest.mark.desktop
def test_xfce_panel_shows_the_item_and_its_menu_assumes_the_role(moto_sts: MotoServer, tmp_path: Path) -> None:
    """A real panel: Xfce's Status Tray draws the item, opens its menu on a click (libdbusmenu-gtk3 reads it),
    the keyboard opens "prod" (built then) and picks "Assume role"; the code goes into the Tk dialog."""
    require_tools()
    if not xfce_panel.available():
        pytest.skip("needs xfce4-panel (apt-get install xfce4-panel)")
    with Desktop(notifications=True, tray=False) as desktop:
        xfce_panel.start(desktop)
        credentials = write_aws_files(desktop.home)
        tray = start_tray(desktop, aws_env(desktop, moto_sts.url))
        wait_for("the item to register", lambda: "registered with the StatusNotifierWatcher" in desktop.log("tray"),
                 20, desktop)  # fmt: skip
        x, y = xfce_panel.wait_for_icon(desktop, tmp_path)

        def open_menu() -> tuple[set[int], set[int]]:
            """The panel's menu, once it holds the keyboard (keys sent before are lost)."""
            before = visible_windows(desktop)
            grab = KeyboardGrab(desktop)
            try:
                grab.arm()
                desktop.click(x, y)
                menu = wait_for_new_windows(desktop, before, timeout=10)
                grab.wait_taken()
            finally:
                grab.close()
            return before, menu

        def open_role_menu() -> set[int]:
            before, menu = open_menu()
            desktop.xdotool("key", "Down")  # the first role
            desktop.xdotool("key", "Right")  # its submenu: AboutToShow, then GetLayout
            submenu = wait_for_new_windows(desktop, before | menu, timeout=10)
            wait_painted(desktop, menu | submenu)
            return menu | submenu

        for attempt in range(3):  # the first menu may still be "Reading ~/.aws/config…"
            menus = open_role_menu()
            save_screenshot(desktop, "menu-sni.png", tmp_path, menus_box(desktop, menus))
            desktop.xdotool("key", "Return")  # "Assume role", the submenu's first item
            try:
                find_window(desktop, timeout=8)
                break
            except (AssertionError, HarnessError):
                if attempt == 2:
                    raise
                desktop.xdotool("key", "Escape")
                desktop.xdotool("key", "Escape")
                wait_until_closed(desktop, menus)
        type_into(desktop, "123456")
        press(desktop, "Return")
        wait_for("[prod-session] in the credentials file", lambda: "[prod-session]" in credentials.read_text(), 15,
                 desktop)  # fmt: skip
        assert loaded_gtk(tray.pid) == [], "the SNI tray loaded GTK"

        open_menu()
        desktop.xdotool("key", "Up")  # from no selection: the last item, Quit
        desktop.xdotool("key", "Return")
        assert exit_status(tray, desktop) == 0, desktop.log("tray")


def menus_box(desktop: Desktop, menus: set[int]) -> tuple[int, int, int, int]:
    """The panel's corner and the open menus, for the README picture."""
    geometries = [desktop.window_geometry(wid) for wid in menus]
    return 0, 0, max(x + w for x, _y, w, _h in geometries), max(y + h for _x, y, _w, h in geometries)


@pytest.mark.desktop
def test_with_no_tray_host_a_panel_that_comes_gets_the_item(moto_sts: MotoServer) -> None:
    """X with neither a system tray nor a StatusNotifierWatcher: the tray says so once and waits; the
    panel that then starts is an SNI one (KDE, GNOME's extension), so the tray becomes its item."""
    require_tools()
    with Desktop(notifications=True, tray=False) as desktop:
        assert desktop.bus_address is not None
        write_aws_files(desktop.home)
        tray = start_tray(desktop, aws_env(desktop, moto_sts.url))
        wait_for("the sentence", lambda: "no system tray is running" in desktop.log("tray"), 20, desktop)
        watcher = Watcher(desktop.bus_address).start()
        try:
            name, path = watcher.wait_for_item(timeout=30)  # the wait looks for a watcher every 5 s
            host = Host(desktop.bus_address, name, path)
            wait_for("the roles in the menu", lambda: "dev" in root_labels(host), 15, desktop)
            host.click(host.find("Quit"))
            assert exit_status(tray, desktop) == 0, desktop.log("tray")
            host.close()
        finally:
            watcher.stop()
        assert desktop.log("tray").count("no system tray is running on display") == 1
