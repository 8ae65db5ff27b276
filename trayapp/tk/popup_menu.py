"""The tray menu as a Tk popup, for pystray backends without menus (``xorg``).

Run as ``python -m trayapp.tk.popup_menu``.  The parent writes one JSON line,
``{"items": [MenuNode.to_json(), ...]}``; the child pops the menu up at the
pointer, and when the user picks an item prints ``{"choice": ID}`` and exits.
Escape or a click elsewhere closes the menu and prints no choice.  Each menu
that appears is announced as ``{"posted": {...geometry...}}`` (tests use it
to click items; the tray ignores it).

The menu takes the pointer and the keyboard as it posts.  While a mouse button is
still down on another window (a slow click, on the tray icon or anywhere), that
window's client holds the pointer; the menu stays up and takes them as soon as the
button comes up, and closes without a choice if it could not within
:data:`GRAB_PATIENCE` seconds.

A role's submenu opens beside its parent at any screen edge (left of it when there is no
room on the right, above its entry when there is none below): never on top of the entry
under the pointer, where a double click would choose from it (:func:`beside`).

The parent's side is :func:`trayapp.tray.popup.show_popup`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from trayapp import protocol
from trayapp.i18n import _

if TYPE_CHECKING:
    import tkinter as tk

#: Seconds from the click the menu waits for another client to let go of the pointer.
GRAB_PATIENCE = 5.0
#: Milliseconds between two looks at whether a button is still down.
GRAB_RETRY_MS = 100
#: X's masks of buttons 1-5 in a pointer state.
_BUTTONS_DOWN = 0x1F00


# --- the child --------------------------------------------------------------------


class _Popup:
    def __init__(self, root: tk.Tk, items: list[dict[str, Any]]) -> None:
        import tkinter as tk
        from tkinter import font as tkfont

        self.root = root
        self.done = False
        base = tkfont.nametofont("TkMenuFont")
        base.configure(size=10)
        self.bold = tkfont.Font(family=base.actual("family"), size=10, weight="bold")
        self.options: dict[str, Any] = {
            "tearoff": 0,
            "background": "#ffffff",
            "foreground": "#1f2328",
            "activebackground": "#1f6feb",
            "activeforeground": "#ffffff",
            "disabledforeground": "#8c959f",
            "relief": "solid",
            "borderwidth": 1,
            # Room around each entry (Tk 8.6 draws it as a bevel of the active colour).
            "activeborderwidth": 3,
            "font": base,
        }
        self._count = 0
        self._vars: list[Any] = []
        self._at = (0, 0)
        self._grab_deadline = 0.0
        self._xdisplay: Any = None  # python-xlib's, opened if the first grab fails (False: can't)
        self.menu = tk.Menu(root, name="trayapp_menu", **self.options)
        self._fill(self.menu, items)
        self.menu.bind("<Map>", lambda e: self._announce(self.menu), add="+")
        self.menu.bind("<Unmap>", lambda e: root.after(100, self.finish), add="+")
        self.menu.bind("<Leave>", self._leave)

    def _leave(self, event: Any) -> str | None:
        """A Leave with the pointer still inside the menu is the grab's, not the pointer's (seen
        between a click's press and release on a busy machine): Tk's own handler would forget the
        entry under the pointer and take the release for a drag off the menu, closing it with no
        choice.  Only a real leave reaches Tk.  The same for a role's submenu (a press there grabs
        again for the whole menu)."""
        menu = event.widget
        inside = 0 <= event.x < menu.winfo_width() and 0 <= event.y < menu.winfo_height()
        return "break" if inside else None

    def _fill(self, menu: tk.Menu, items: list[dict[str, Any]]) -> None:
        import tkinter as tk

        for item in items:
            if item.get("separator"):
                menu.add_separator()
                continue
            label = f" {item.get('label', '')}  "
            state: Literal["normal", "disabled"] = "normal" if item.get("enabled", True) else "disabled"
            children = item.get("children")
            if isinstance(children, list):
                self._count += 1
                sub = tk.Menu(menu, name=f"trayapp_submenu{self._count}", **self.options)
                self._fill(sub, children)
                sub.bind("<Map>", self._announcer(sub), add="+")
                sub.bind("<Leave>", self._leave)
                self._open_beside(menu, sub)
                menu.add_cascade(label=label, menu=sub, state=state)
            elif isinstance(item.get("checked"), bool):
                ident = item.get("id")
                var = tk.BooleanVar(master=menu, value=item["checked"])
                self._vars.append(var)  # Tk forgets a variable Python no longer holds
                menu.add_checkbutton(label=label, state=state, variable=var, command=self._chooser(ident))
            else:
                ident = item.get("id")
                menu.add_command(label=label, state=state, command=self._chooser(ident))

    def _open_beside(self, parent: tk.Menu, sub: tk.Menu) -> None:
        """Post *sub* beside *parent* whatever the screen edge.

        Tk posts a cascade with ``SUBMENU post X Y`` at the parent's right edge, then shifts a menu
        that does not fit on the screen back onto it: at the right edge the submenu covered its
        parent, with one of its entries under the pointer (a double click chose it).  The submenu's
        widget command is wrapped so that its ``post`` takes the place :func:`beside` gives.
        """
        real = f"::trayapp_real{sub}".replace(".", "_")
        place = self.root.register(lambda: " ".join(map(str, self._beside(parent, sub))))
        self.root.tk.call("rename", str(sub), real)
        self.root.tk.eval(
            f"proc {sub} args {{\n"
            '    if {[lindex $args 0] eq "post" && [llength $args] == 3} {\n'
            f"        set args [list post {{*}}[{place}]]\n"
            "    }\n"
            f"    uplevel 1 [list {real} {{*}}$args]\n"
            "}"
        )

    def _beside(self, parent: tk.Menu, sub: tk.Menu) -> tuple[int, int]:
        entry = _cascade_index(parent, str(sub))
        top = parent.yposition(entry)
        last = parent.index("end")
        bottom = parent.yposition(entry + 1) if last is not None and entry < last else parent.winfo_height()
        if sub.winfo_reqwidth() <= 1:  # never laid out yet
            sub.update_idletasks()
        return beside(
            parent=(parent.winfo_rootx(), parent.winfo_rooty(), parent.winfo_width(), parent.winfo_height()),
            entry=(top, bottom),
            size=(sub.winfo_reqwidth(), sub.winfo_reqheight()),
            screen=(sub.winfo_screenwidth(), sub.winfo_screenheight()),
        )

    def _announcer(self, menu: tk.Menu) -> Callable[[Any], None]:
        return lambda _event: self._announce(menu)

    def _chooser(self, ident: object) -> Callable[[], None]:
        return lambda: self.choose(ident) if isinstance(ident, str) else None

    def _announce(self, menu: tk.Menu) -> None:
        menu.update_idletasks()
        last = menu.index("end")
        entries = []
        for index in range(0 if last is None else last + 1):
            kind = menu.type(index)
            top = menu.yposition(index)
            bottom = menu.yposition(index + 1) if index < (last or 0) else menu.winfo_height()
            label = "" if kind == "separator" else str(menu.entrycget(index, "label")).strip()
            entries.append({"label": label, "type": kind, "y": top, "height": bottom - top})
        protocol.print_message(
            {
                "posted": {
                    "x": menu.winfo_rootx(),
                    "y": menu.winfo_rooty(),
                    "width": menu.winfo_width(),
                    "height": menu.winfo_height(),
                    "entries": entries,
                }
            }
        )

    def choose(self, ident: str) -> None:
        if not self.done:
            protocol.print_message({"choice": ident})
        self.finish()

    def finish(self) -> None:
        if not self.done:
            self.done = True
            self.root.after(0, self.root.destroy)
            if self._xdisplay not in (None, False):
                self._xdisplay.close()

    def popup(self) -> None:
        self._at = self.root.winfo_pointerxy()
        self._grab_deadline = time.monotonic() + GRAB_PATIENCE
        self._post()

    def _post(self) -> None:
        """Post the menu and grab the pointer and the keyboard (Tk tries for about a second)."""
        import tkinter as tk

        try:
            # Again while it is up (a grab failed): Tk moves it where it is, and neither unmaps it
            # (which would close it) nor announces it again.
            self.menu.tk_popup(*self._at)
        except tk.TclError as exc:
            if not str(exc).startswith("grab failed"):
                raise
            # Another client has the pointer, most likely a button still down on its window:
            # the menu is up but deaf to clicks elsewhere and to keys.  Try again once it lets go.
            self._retry_or_give_up()
            return
        # Tk's `focus` does not take the X focus from another client (the last
        # focused window may be gone, e.g. the MFA dialog): force it, so the
        # keyboard drives the menu.
        self.menu.focus_force()

    def _retry_or_give_up(self) -> None:
        if time.monotonic() < self._grab_deadline:
            self.root.after(GRAB_RETRY_MS, self._post_when_free)
        else:  # a menu that neither a click elsewhere nor Escape could close: close it, choose nothing
            self.menu.unpost()
            self.finish()

    def _post_when_free(self) -> None:
        if self.done:
            return
        if self._buttons_down():
            self._retry_or_give_up()
        else:
            self._post()

    def _buttons_down(self) -> bool:
        """Whether a mouse button is down: a look, without grabbing anything.  False without
        python-xlib or its connection (then each try is Tk's own second of retries)."""
        if self._xdisplay is None:
            try:
                from Xlib.display import Display

                self._xdisplay = Display(self.root.winfo_screen())
            except Exception:  # no python-xlib, or it can't reach the display
                self._xdisplay = False
        if self._xdisplay is False:
            return False
        try:
            pointer = self._xdisplay.screen().root.query_pointer()
        except Exception:  # its connection broke
            return False
        return bool(pointer.mask & _BUTTONS_DOWN)


def _cascade_index(parent: tk.Menu, sub: str) -> int:
    last = parent.index("end")
    for index in range(0 if last is None else last + 1):
        if parent.type(index) == "cascade" and str(parent.entrycget(index, "menu")) == sub:
            return index
    return 0


def beside(
    *, parent: tuple[int, int, int, int], entry: tuple[int, int], size: tuple[int, int], screen: tuple[int, int]
) -> tuple[int, int]:
    """Where a submenu of *size* (width, height) opens: right of its *parent* menu (x, y, width,
    height on the screen), or left of it when there is no room on the right of the *screen*
    (width, height); level with its *entry* (top, bottom, in the parent), or ending at the entry's
    bottom when there is no room below.  Never on top of the parent while one side has room."""
    px, py, pw, _ph = parent
    width, height = size
    screen_w, screen_h = screen
    x = px + pw
    if x + width > screen_w:
        left = px - width
        # No room on either side: the side with more of it, kept on the screen.
        x = left if left >= 0 or px > screen_w - (px + pw) else x
        x = max(0, min(x, screen_w - width))
    y = py + entry[0]
    if y + height > screen_h:
        y = max(0, py + entry[1] - height)
    return x, y


def main() -> int:
    import tkinter as tk

    # Tk first, then the menu: the tray starts this program ahead of a click (a warm spare,
    # see trayapp.tray.warm), and it waits here, blocked on its input, until the click comes.
    try:
        root = tk.Tk(className="trayapp-menu")
    except tk.TclError as exc:
        print("trayapp: " + _("the popup menu can't open a window: {error}").format(error=exc), file=sys.stderr)
        return 3
    root.withdraw()
    line = sys.stdin.readline()
    if not line:  # a spare that was not needed
        root.destroy()
        return 0
    try:
        request = json.loads(line)
        items = request["items"]
        if not isinstance(items, list):
            raise TypeError("items")
    except (json.JSONDecodeError, KeyError, TypeError):
        root.destroy()
        print("trayapp: " + _("the popup menu got no menu to show"), file=sys.stderr)
        return 2
    popup = _Popup(root, items)
    root.after(0, popup.popup)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
