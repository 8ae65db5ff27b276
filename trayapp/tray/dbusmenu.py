"""The tray menu over ``com.canonical.dbusmenu``, as KDE, GNOME's AppIndicator extension, Xfce and
waybar read a StatusNotifierItem's menu.

The menu is the plain :class:`~trayapp.tray.menu_model.MenuNode` tree every backend shows.  A panel
asks for it a level at a time: ``AboutToShow(id)`` when a submenu opens, then ``GetLayout(id, 1,
[])``.  A role's submenu (:class:`~trayapp.tray.menu_model.LazyChildren`) is built only then, so a
change to a config of 10,000 roles costs one line a role, not eight.

Ids: an item that runs an action keeps its id for as long as the tray runs (a click on a menu
opened just before a relabelling still does what it said); other items (submenus, separators,
headers) are numbered by their place (parent, index), so a role's submenu keeps its id while its
label counts the minutes down.  The root is 0.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from trayapp.tray.dbus_service import DBusError, Interface, Method
from trayapp.tray.dbus_wire import layout_reply_body
from trayapp.tray.menu_model import LazyChildren, MenuNode

log = logging.getLogger(__name__)

IFACE = "com.canonical.dbusmenu"
PATH = "/MenuBar"
#: Ids of items without an action start here; action ids count up from 1.
FIRST_PLAIN_ID = 1 << 24

Variant = tuple[str, Any]
Layout = tuple[int, dict[str, Variant], Iterable[Variant]]

XML = f"""<interface name="{IFACE}">
<method name="GetLayout"><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="as" direction="in"/>
<arg type="u" direction="out"/><arg type="(ia{{sv}}av)" direction="out"/></method>
<method name="GetGroupProperties"><arg type="ai" direction="in"/><arg type="as" direction="in"/>
<arg type="a(ia{{sv}})" direction="out"/></method>
<method name="GetProperty"><arg type="i" direction="in"/><arg type="s" direction="in"/>
<arg type="v" direction="out"/></method>
<method name="Event"><arg type="i" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="in"/>
<arg type="u" direction="in"/></method>
<method name="EventGroup"><arg type="a(isvu)" direction="in"/><arg type="ai" direction="out"/></method>
<method name="AboutToShow"><arg type="i" direction="in"/><arg type="b" direction="out"/></method>
<method name="AboutToShowGroup"><arg type="ai" direction="in"/><arg type="ai" direction="out"/>
<arg type="ai" direction="out"/></method>
<signal name="ItemsPropertiesUpdated"><arg type="a(ia{{sv}})"/><arg type="a(ias)"/></signal>
<signal name="LayoutUpdated"><arg type="u"/><arg type="i"/></signal>
<signal name="ItemActivationRequested"><arg type="i"/><arg type="u"/></signal>
<property name="Version" type="u" access="read"/><property name="TextDirection" type="s" access="read"/>
<property name="Status" type="s" access="read"/><property name="IconThemePath" type="as" access="read"/>
</interface>"""


def mnemonic_label(text: str) -> str:
    """dbusmenu reads ``_x`` as a mnemonic: a literal underscore is written twice."""
    return text.replace("_", "__")


def item_properties(node: MenuNode) -> dict[str, Variant]:
    """What a panel reads of one item (defaults left out, as the spec allows)."""
    if node.separator:
        return {"type": ("s", "separator")}
    props: dict[str, Variant] = {"label": ("s", mnemonic_label(node.label))}
    if not node.enabled:
        props["enabled"] = ("b", False)
    if node.checked is not None:
        props["toggle-type"] = ("s", "checkmark")
        props["toggle-state"] = ("i", 1 if node.checked else 0)
    if node.children is not None:
        props["children-display"] = ("s", "submenu")
    return props


def _pick(props: dict[str, Variant], names: Sequence[str]) -> dict[str, Variant]:
    return props if not names else {k: v for k, v in props.items() if k in names}


class DbusMenu(Interface):
    """The menu object.  *perform(action_id)* runs a clicked item's action (on the bus's thread:
    it must only hand work over); *emit(member, signature, body)* sends this object's signals."""

    name = IFACE
    xml = XML

    def __init__(self, perform: Callable[[str], None], emit: Callable[[str, str, tuple[Any, ...]], None]) -> None:
        self._perform = perform
        self._emit = emit
        self._lock = threading.Lock()
        self._root: tuple[MenuNode, ...] = ()
        self.revision = 1
        self._action_ids: dict[str, int] = {}  # kept for the life of the tray
        self._parent_of: dict[int, int] = {}  # action item's id → its submenu's id
        self._nodes: dict[int, MenuNode] = {0: MenuNode(children=())}  # this revision's
        self._plain: dict[tuple[int, int], int] = {}  # (parent id, index) → id
        self._next_plain = FIRST_PLAIN_ID

    # --- changes from the tray ---------------------------------------------------------

    def set_menu(self, items: Sequence[MenuNode]) -> None:
        """Show *items* from now on: a new revision, announced with ``LayoutUpdated``."""
        with self._lock:
            self._root = tuple(items)
            self._nodes = {0: MenuNode(children=self._root)}
            for index, node in enumerate(self._root):  # a panel's ids of the last revision stay valid
                self._child_id(0, index, node)
            self.revision += 1
            revision = self.revision
        self._emit("LayoutUpdated", "ui", (revision, 0))

    # --- what a panel calls ---------------------------------------------------------------

    def methods(self) -> Mapping[str, Method]:
        return {
            "GetLayout": self._get_layout,
            "GetGroupProperties": self._get_group_properties,
            "GetProperty": self._get_property,
            "Event": self._event,
            "EventGroup": self._event_group,
            "AboutToShow": self._about_to_show,
            "AboutToShowGroup": self._about_to_show_group,
        }

    def properties(self) -> dict[str, tuple[str, Any]]:
        return {
            "Version": ("u", 3),
            "TextDirection": ("s", "ltr"),
            "Status": ("s", "normal"),
            "IconThemePath": ("as", []),
        }

    def _get_layout(self, args: tuple[Any, ...]) -> tuple[str, Any]:
        parent, depth, names = int(args[0]), int(args[1]), list(args[2])
        with self._lock:
            node = self._node(parent)
            layout = self._layout(parent, node, depth, names, expand=True)
            return "u(ia{sv}av)", layout_reply_body(self.revision, layout)

    def _get_group_properties(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        ids, names = list(args[0]), list(args[1])
        with self._lock:
            found = [(i, self._nodes[i]) for i in ids if i in self._nodes]
            return "a(ia{sv})", ([(i, _pick(self._props(i, node), names)) for i, node in found],)

    def _get_property(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        ident, prop = int(args[0]), str(args[1])
        with self._lock:
            props = self._props(ident, self._node(ident))
        if prop not in props:
            raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", f"item {ident} has no property {prop}")
        return "v", (props[prop],)

    def _event(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        ident, kind = int(args[0]), str(args[1])
        if kind == "clicked":
            self._click(ident)
        return "", ()

    def _event_group(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        unknown = []
        for ident, kind, _data, _time in args[0]:
            with self._lock:
                known = ident in self._nodes or ident in self._parent_of
            if not known:
                unknown.append(ident)
            elif kind == "clicked":
                self._click(ident)
        return "ai", (unknown,)

    def _about_to_show(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        return "b", (self._build(int(args[0])),)

    def _about_to_show_group(self, args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        updated, unknown = [], []
        for ident in args[0]:
            try:
                if self._build(ident):
                    updated.append(ident)
            except DBusError:
                unknown.append(ident)
        return "aiai", (updated, unknown)

    # --- the tree ---------------------------------------------------------------------------

    def _build(self, ident: int) -> bool:
        """Build submenu *ident* if it waits to be (True: the panel must read it again).  The
        ``LayoutUpdated`` is needed too: libdbusmenu (Xfce's panel, waybar) reads the menu again on
        it, not on the reply."""
        with self._lock:
            children = self._node(ident).children
            if not isinstance(children, LazyChildren) or children.built:
                return False
            len(children)  # builds it
            self.revision += 1
            revision = self.revision
        self._emit("LayoutUpdated", "ui", (revision, ident))
        return True

    def _click(self, ident: int) -> None:
        with self._lock:
            node = self._nodes.get(ident) or self._find_again(ident)
        if node is None or node.id is None or not node.enabled:
            return
        action = node.id
        log.info("menu item %s clicked over dbusmenu", action)
        self._perform(action)

    def _find_again(self, ident: int) -> MenuNode | None:
        """An action item read from an earlier revision: where is it now (and is it enabled)?
        Its parent keeps its id, so only that submenu is read (built, if it waits to be)."""
        parent = self._parent_of.get(ident)
        node = self._nodes.get(parent) if parent is not None else None
        if node is None or node.children is None:
            return None
        for index, child in enumerate(node.children):
            self._child_id(parent, index, child)  # type: ignore[arg-type]
        return self._nodes.get(ident)

    def _node(self, ident: int) -> MenuNode:
        node = self._nodes.get(ident)
        if node is None:
            raise DBusError("org.freedesktop.DBus.Error.InvalidArgs", f"no menu item {ident} (the menu changed)")
        return node

    def _props(self, ident: int, node: MenuNode) -> dict[str, Variant]:
        if ident == 0:
            return {"children-display": ("s", "submenu")}
        return item_properties(node)

    def _child_id(self, parent: int, index: int, node: MenuNode) -> int:
        if node.id is not None:
            ident = self._action_ids.get(node.id)
            if ident is None:
                ident = self._action_ids[node.id] = len(self._action_ids) + 1
            self._parent_of[ident] = parent
        else:
            ident = self._plain.get((parent, index), 0)
            if not ident:
                ident = self._plain[(parent, index)] = self._next_plain
                self._next_plain += 1
        self._nodes[ident] = node
        return ident

    def _layout(self, ident: int, node: MenuNode, depth: int, names: list[str], *, expand: bool) -> Layout:
        """*ident*'s layout down to *depth* levels (-1: all).  A submenu still to be built is built
        when asked for itself (*expand*), not when a level above it is read.  The children come as
        a generator, read once while the reply is written (under the lock): each item's little
        objects die at once, and the garbage collector has fewer to walk."""
        items = node.children
        children: Iterable[Variant] = ()
        if depth != 0 and items is not None and (expand or not isinstance(items, LazyChildren) or items.built):
            children = self._children(ident, items, depth - 1, names)
        return ident, _pick(self._props(ident, node), names), children

    def _children(self, ident: int, items: Sequence[MenuNode], depth: int, names: list[str]) -> Iterator[Variant]:
        for index, child in enumerate(items):
            child_id = self._child_id(ident, index, child)
            yield "(ia{sv}av)", self._layout(child_id, child, depth, names, expand=False)
