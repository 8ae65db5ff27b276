"""The SNI backend's pieces in this process: the dbusmenu object as a panel calls it, the item's
pixmaps, the role submenus built when opened, and which backend the tray picks.

The same objects on a real bus, read by a host written apart from them, are in test_tray_sni.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trayapp.core.profiles import RoleProfile
from trayapp.core.results import RoleEntry
from trayapp.icons import render
from trayapp.tray import backend, menu_model
from trayapp.tray.dbus_service import DBusError
from trayapp.tray.dbus_wire import Marshalled, layout_reply_body
from trayapp.tray.dbusmenu import DbusMenu, mnemonic_label
from trayapp.tray.menu_model import LazyChildren, MenuNode, build_menu
from trayapp.tray.sni import Icon, pixmaps

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def role(name: str, mfa: bool = True) -> RoleEntry:
    serial = "arn:aws:iam::123456789012:mfa/alice" if mfa else None
    return RoleEntry(RoleProfile(name, f"arn:aws:iam::123456789012:role/{name}", "base", mfa_serial=serial), None)


def unmarshal(signature: str, body: bytes) -> tuple[Any, ...]:
    """What a panel's D-Bus library reads from a reply body written by trayapp.tray.dbus_wire."""
    from jeepney.low_level import Endianness, parse_signature

    value, end = parse_signature(list(f"({signature})")).parse_data(body, 0, Endianness.little)
    assert end == len(body)
    return tuple(value)


class Panel:
    """Calls the menu as a panel does and records what it emits."""

    def __init__(self) -> None:
        self.performed: list[str] = []
        self.signals: list[tuple[str, tuple[Any, ...]]] = []
        self.menu = DbusMenu(self.performed.append, lambda member, _sig, body: self.signals.append((member, body)))

    def call(self, method: str, *args: Any) -> tuple[Any, ...]:
        signature, body = self.menu.methods()[method](args)
        return unmarshal(signature, body) if isinstance(body, Marshalled) else body

    def open(self, ident: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """AboutToShow then GetLayout(id, 1, []): the children as (id, {property: value})."""
        self.call("AboutToShow", ident)
        _revision, (_id, _props, children) = self.call("GetLayout", ident, 1, [])
        return [(cid, {k: v for k, (_s, v) in props.items()}) for _sig, (cid, props, _c) in children]

    def child(self, ident: int, label: str) -> int:
        return next(cid for cid, props in self.open(ident) if props.get("label", "").startswith(label))


def test_the_menu_reads_level_by_level_with_separators_disabled_items_and_escaped_underscores() -> None:
    panel = Panel()
    panel.menu.set_menu(
        build_menu([role("prod_eu"), role("dev", mfa=False)], {"legacy": "broken"}, NOW, timedelta(minutes=10))
    )
    top = panel.open()
    labels = [props.get("label") for _id, props in top]
    assert labels[:2] == ["prod__eu — needs MFA", "dev"]  # dbusmenu reads _x as a mnemonic
    assert {"type": "separator"} in [props for _id, props in top]
    legacy = next(props for _id, props in top if str(props.get("label", "")).startswith("legacy"))
    assert legacy["enabled"] is False
    assert top[0][1]["children-display"] == "submenu"
    items = panel.open(top[0][0])
    assert [p.get("label") for _i, p in items][:2] == ["Assume role", "Open AWS console"]
    assert items[1][1]["enabled"] is False  # no session to open the console with
    assert any("AWS__PROFILE=prod__eu-session" in str(p.get("label")) for _i, p in items)


def test_a_role_submenu_is_built_when_opened_not_when_the_menu_changes() -> None:
    panel = Panel()
    menu = build_menu([role(f"r{i:04}") for i in range(50)], {}, NOW, timedelta(minutes=10))
    lazies = [node.children for node in menu if isinstance(node.children, LazyChildren)]
    assert len(lazies) == 50
    panel.menu.set_menu(menu)
    _rev, (_id, _props, top) = panel.call("GetLayout", 0, -1, [])  # the whole tree, as libdbusmenu asks
    assert not any(c.built for c in lazies)  # the roles' lines only
    first = top[0][1][0]
    assert panel.call("AboutToShow", first) == (True,)  # built now: the panel must read it again
    assert lazies[0].built and not lazies[1].built
    assert panel.signals[-1][0] == "LayoutUpdated" and panel.signals[-1][1][1] == first
    assert panel.call("AboutToShow", first) == (False,)
    updated, unknown = panel.call("AboutToShowGroup", [first, top[1][1][0], 999_999])
    assert updated == [top[1][1][0]] and unknown == [999_999]


def test_equal_role_menus_compare_without_building() -> None:
    one = build_menu([role("prod")], {}, NOW, timedelta(minutes=10))
    two = build_menu([role("prod")], {}, NOW, timedelta(minutes=10))
    assert one == two
    assert not any(isinstance(n.children, LazyChildren) and n.children.built for n in one + two)
    other_shell = menu_model.role_menu(role("prod"), NOW, timedelta(minutes=10), shell_kind="fish")
    assert other_shell != menu_model.role_menu(role("prod"), NOW, timedelta(minutes=10), shell_kind="posix")


def test_a_click_runs_the_action_even_after_a_relabel_and_never_on_a_disabled_item() -> None:
    panel = Panel()
    panel.menu.set_menu(build_menu([role("prod")], {}, NOW, timedelta(minutes=10)))
    prod = panel.child(0, "prod")
    assume = panel.child(prod, "Assume role")
    console = panel.child(prod, "Open AWS console")
    revision = panel.menu.revision
    panel.menu.set_menu(build_menu([role("prod")], {}, NOW + timedelta(minutes=1), timedelta(minutes=10)))
    assert panel.menu.revision == revision + 1 and panel.signals[-1] == ("LayoutUpdated", (revision + 1, 0))
    assert panel.child(0, "prod") == prod  # the submenu keeps its id: a panel that has it open goes on
    panel.call("Event", assume, "clicked", ("s", ""), 0)  # an id read before the new revision
    panel.call("Event", console, "clicked", ("s", ""), 0)
    panel.call("Event", panel.child(prod, "Open AWS console"), "clicked", ("s", ""), 0)
    panel.call("Event", panel.child(0, "Quit"), "hovered", ("s", ""), 0)
    assert panel.performed == ["assume:prod"]
    panel.call("Event", panel.child(0, "Quit"), "clicked", ("s", ""), 0)
    assert panel.performed == ["assume:prod", "quit"]


def test_properties_a_panel_reads() -> None:
    panel = Panel()
    panel.menu.set_menu((MenuNode("Start at login", "autostart", checked=True), MenuNode("Quit", "quit")))
    assert panel.menu.properties()["Version"] == ("u", 3)
    assert panel.menu.properties()["TextDirection"] == ("s", "ltr")
    login = panel.child(0, "Start at login")
    assert panel.call("GetProperty", login, "toggle-state") == (("i", 1),)
    ((ident, props),) = panel.call("GetGroupProperties", [login], ["label"])[0]
    assert ident == login and props == {"label": ("s", "Start at login")}
    with pytest.raises(DBusError, match="no menu item"):
        panel.call("GetLayout", 424242, 1, [])
    assert mnemonic_label("a_b__c") == "a__b____c"


def test_the_icon_is_drawn_at_each_size_as_argb_in_network_order() -> None:
    maps = pixmaps(render("expired", 64))
    assert [(w, h) for w, h, _d in maps] == [(s, s) for s in (16, 22, 24, 32, 48, 64)]
    w, h, data = maps[4]
    assert len(data) == w * h * 4
    centre = ((h // 2) * w + w // 2) * 4
    a, r, g, b = data[centre : centre + 4]
    assert (a, r, g, b) == (255, *render("expired", 48).getpixel((w // 2, h // 2))[:3])
    assert data[0] == 0  # a transparent corner: alpha comes first


def test_the_icon_speaks_pystrays_interface_and_tells_the_panel_of_changes() -> None:
    icon = Icon("trayapp", icon=render("none", 64), title="trayapp — no session", menu=lambda: ())
    sent: list[str] = []
    icon._emit = lambda _path, _iface, member, *_a: sent.append(member)  # type: ignore[method-assign]
    assert backend.name(icon) == "sni" and backend.name(Icon) == "sni"
    assert icon.status == "Passive"
    icon.visible = True
    icon.icon = render("valid", 64)
    icon.title = "trayapp — 1 valid"
    assert icon.status == "Active" and sent == ["NewStatus", "NewIcon", "NewTitle", "NewToolTip"]
    assert not backend.open_menu(icon)  # a host that calls Activate gets the Tk popup


@pytest.mark.parametrize(
    ("env", "watcher", "chosen"),
    [
        ({"DISPLAY": ":0"}, True, "sni"),
        ({"DISPLAY": ":0"}, False, "xorg"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, False, "sni"),  # the item waits for a panel
        ({"DISPLAY": ":0", "PYSTRAY_BACKEND": "gtk"}, True, "gtk"),
        ({"DISPLAY": ":0", "PYSTRAY_BACKEND": "sni"}, False, "sni"),
    ],
)
def test_the_backend_is_sni_when_a_panel_shows_such_items(
    env: dict[str, str], watcher: bool, chosen: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend.sys, "platform", "linux")
    monkeypatch.setattr(backend, "session_bus_reachable", lambda _env: True)
    monkeypatch.setattr(backend, "watcher_present", lambda _env: watcher)
    environ = dict(env)
    assert backend.choose_backend(environ) is None
    assert environ["PYSTRAY_BACKEND"] == chosen


def test_sni_asked_for_without_a_session_bus_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend.sys, "platform", "linux")
    monkeypatch.setattr(backend, "session_bus_reachable", lambda _env: False)
    problem = backend.choose_backend({"DISPLAY": ":0", "PYSTRAY_BACKEND": "sni"})
    assert problem is not None and problem.startswith("the sni tray backend needs a D-Bus session bus")


def test_the_layout_is_written_byte_for_byte_as_jeepney_writes_it() -> None:
    from jeepney.low_level import Endianness, parse_signature

    leaf = (7, {"label": ("s", "Quit é"), "enabled": ("b", False), "toggle-state": ("i", -1)}, [])
    empty = (8, {}, [])
    deep = (3, {"children-display": ("s", "submenu"), "shortcut": ("as", ["Ctrl", "Q"])},
            [("(ia{sv}av)", leaf), ("(ia{sv}av)", empty)])  # fmt: skip
    layout = (0, {"children-display": ("s", "submenu")}, [("(ia{sv}av)", deep), ("(ia{sv}av)", empty)])
    expected = parse_signature(list("(u(ia{sv}av))")).serialise((42, layout), 0, Endianness.little)
    assert bytes(layout_reply_body(42, layout)) == expected
