"""The preferences window: a small Tk program run as ``python -m trayapp.tk.prefs_window``.

Protocol (one shot)
    stdin   ``{"prefs": {duration, warn-minutes, notifications, hidden, mfa-session},
              "profiles": ["dev", "prod", ...]}`` — the current preferences (as
            ``Preferences.as_dict()``) and the role profiles to offer for hiding.
    stdout  the edited preferences as one JSON object on Save; nothing on Cancel.
    exit    0 saved, 1 cancelled, 3 no display.

It looks like the MFA dialog (:mod:`trayapp.tk.style`).  The parent's side is
:mod:`trayapp.tray.prefs_dialog`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from trayapp.core.preferences import KEYS, Preferences, from_json, to_json
from trayapp.i18n import _

#: The English title (tests find the window by it); :func:`window_title` is the one shown.
TITLE = "trayapp — Preferences"

#: (label, seconds) offered as the default session duration.
DURATIONS: tuple[tuple[str, int], ...] = (
    ("15 min", 900),
    ("30 min", 1800),
    ("45 min", 2700),
    ("1 h", 3600),
    ("1 h 30 min", 5400),
    ("2 h", 7200),
    ("3 h", 10800),
    ("4 h", 14400),
    ("6 h", 21600),
    ("8 h", 28800),
    ("12 h", 43200),
)
EXIT_SAVED, EXIT_CANCELLED, EXIT_NO_DISPLAY = 0, 1, 3
#: Rows of the hidden-profiles list shown at once; a longer list scrolls.
LIST_ROWS = 6


def window_title() -> str:
    """``trayapp — Preferences`` with the part after the dash in the user's language."""
    return "trayapp — " + _("Preferences")


def duration_label(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if not hours:
        return _("{minutes} min").format(minutes=minutes)
    if not minutes:
        return _("{hours} h").format(hours=hours)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)


# --- the window (the child's side) -----------------------------------------------------


def main() -> int:
    import tkinter as tk

    try:
        request = json.loads(sys.stdin.read() or "{}")
        prefs = from_json(json.dumps(request.get("prefs", {})))
        profiles = [str(p) for p in request.get("profiles", [])]
    except (ValueError, AttributeError) as exc:
        problem = _("the preferences window got unreadable input ({error}).").format(error=exc)
        print(f"trayapp: {problem}", file=sys.stderr)
        return 2
    try:
        root = tk.Tk(className="trayapp-prefs")
    except tk.TclError as exc:
        print("trayapp: " + _("the preferences window can't open a window: {error}").format(error=exc), file=sys.stderr)
        return EXIT_NO_DISPLAY
    window = _Window(root, prefs, profiles)
    root.mainloop()
    if window.result is None:
        return EXIT_CANCELLED
    print(to_json(window.result), flush=True)
    return EXIT_SAVED


class _Window:
    def __init__(self, root: Any, prefs: Preferences, profiles: Sequence[str]) -> None:
        import tkinter as tk
        from tkinter import ttk

        from trayapp.tk import style

        self.root = root
        self.prefs = prefs
        self.result: Preferences | None = None

        root.title(window_title())
        root.resizable(False, False)
        root.attributes("-topmost", True)
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        self.fonts = style.apply(root)

        # Widgets are made in the order Tab walks them: the warning field (which has the focus),
        # the check boxes, the hidden profiles, then the key age and the buttons.
        outer = ttk.Frame(root, padding=(18, 16, 18, 14))
        outer.grid(sticky="nsew")
        outer.columnconfigure(0, weight=1)
        subtitle, self._icon = style.header(outer, root, _("Preferences"))
        subtitle.configure(text=_("Sessions, warnings and the profiles the menu shows"))

        card = ttk.Frame(outer, style="Card.TFrame", padding=(14, 10))
        card.grid(row=1, column=0, sticky="ew", pady=(12, 0))
        card.columnconfigure(1, weight=1)
        choices = {duration_label(seconds): seconds for _label, seconds in DURATIONS}
        if prefs.duration not in choices.values():
            choices[duration_label(prefs.duration)] = prefs.duration
        self.durations = dict(sorted(choices.items(), key=lambda kv: kv[1]))
        self.duration = tk.StringVar(value=duration_label(prefs.duration))
        ttk.Label(card, text=_("Default session length"), style="Card.TLabel").grid(row=0, column=0, sticky="w")
        self.duration_box = ttk.Combobox(
            card, textvariable=self.duration, values=list(self.durations), state="readonly", width=12
        )
        self.duration_box.grid(row=0, column=1, sticky="e", pady=3, padx=(16, 0))

        self.warn = tk.StringVar(value=str(prefs.warn_minutes))
        ttk.Label(card, text=_("Warn before expiry (minutes)"), style="Card.TLabel").grid(row=1, column=0, sticky="w")
        self.warn_box = ttk.Spinbox(card, from_=0, to=720, increment=1, textvariable=self.warn, width=6)
        self.warn_box.grid(row=1, column=1, sticky="e", pady=3, padx=(16, 0))

        self.notifications = tk.BooleanVar(value=prefs.notifications)
        ttk.Checkbutton(
            card, text=_("Show notifications"), variable=self.notifications, style="Card.TCheckbutton"
        ).grid(row=2, column=0, columnspan=2, sticky="w", pady=(6, 2))
        self.mfa_session = tk.BooleanVar(value=prefs.mfa_session)
        ttk.Checkbutton(
            card,
            text=_("Reuse one MFA code for several roles (MFA session)"),
            variable=self.mfa_session,
            style="Card.TCheckbutton",
        ).grid(row=3, column=0, columnspan=2, sticky="w", pady=2)

        ttk.Label(outer, text=_("Hidden profiles"), style="Section.TLabel").grid(
            row=2, column=0, sticky="w", pady=(14, 0)
        )
        ttk.Label(outer, text=_("Ticked profiles are left out of the menu."), style="Status.TLabel").grid(
            row=3, column=0, sticky="w", pady=(0, 4)
        )
        self.hidden = ProfileList(outer, sorted(set(profiles) | prefs.hidden), prefs.hidden, self._save_and_break)
        self.hidden.frame.grid(row=4, column=0, sticky="ew")

        keys = ttk.Frame(outer, style="Card.TFrame", padding=(14, 8))
        keys.grid(row=5, column=0, sticky="ew", pady=(12, 0))
        keys.columnconfigure(1, weight=1)
        self.key_age = tk.StringVar(value=str(prefs.key_max_age))
        ttk.Label(keys, text=_("Rotate keys older than (days)"), style="Card.TLabel").grid(row=0, column=0, sticky="w")
        self.key_age_box = ttk.Spinbox(keys, from_=1, to=3650, increment=1, textvariable=self.key_age, width=6)
        self.key_age_box.grid(row=0, column=1, sticky="e", padx=(16, 0))

        self.error = ttk.Label(outer, text="", style="Status.TLabel", wraplength=380, justify="left")
        self.error.grid(row=6, column=0, sticky="ew", pady=(10, 0))
        self.error.grid_remove()  # room for it only when there is something to say

        buttons = ttk.Frame(outer)
        buttons.grid(row=7, column=0, sticky="e", pady=(12, 0))
        ttk.Button(buttons, text=_("Cancel"), command=self.cancel).grid(row=0, column=0, padx=(0, 8))
        save = ttk.Button(buttons, text=_("Save"), style="Accent.TButton", command=self.save, default="active")
        save.grid(row=0, column=1)

        root.bind("<Return>", lambda _e: self.save())
        root.bind("<KP_Enter>", lambda _e: self.save())
        root.bind("<Escape>", lambda _e: self.cancel())

        root.update_idletasks()
        self.hidden.fit()
        root.update_idletasks()
        x = (root.winfo_screenwidth() - root.winfo_reqwidth()) // 2
        y = (root.winfo_screenheight() - root.winfo_reqheight()) // 3
        root.geometry(f"+{x}+{y}")
        _fix_x11_title(root)
        # The warning field holds the focus, its text selected, before the window maps: keys typed
        # the instant it appears land there, and the late X focus below does not move them back.
        self.warn_box.focus_set()
        self.warn_box.selection_range(0, "end")  # typing replaces the value
        self.warn_box.icursor("end")
        root.after(10, self._focus)

    def _focus(self) -> None:
        """Take the X focus for the widget that has Tk's focus now: the warning field, or wherever
        a fast user's first Tab already moved it (this runs after the window maps, maybe late)."""
        self.root.lift()
        self.root.nametowidget(self.root.tk.call("focus", "-lastfor", self.root)).focus_force()

    def _save_and_break(self, _event: Any) -> str:
        self.save()
        return "break"

    def save(self) -> None:
        try:
            minutes = KEYS["warn-minutes"][1](self.warn.get())  # full-width digits too
        except ValueError:
            minutes = None
        if minutes is None:
            self._show_error(_("The warning must be {valid}.").format(valid=_(KEYS["warn-minutes"][2])))
            self.warn_box.focus_set()
            return
        try:
            key_days: int | None = KEYS["key-max-age"][1](self.key_age.get())
        except ValueError:
            key_days = None
        if key_days is None:
            self._show_error(_("The key age must be {valid}.").format(valid=_(KEYS["key-max-age"][2])))
            self.key_age_box.focus_set()
            return
        self.result = Preferences(
            duration=self.durations.get(self.duration.get(), self.prefs.duration),
            warn_minutes=minutes,
            notifications=bool(self.notifications.get()),
            hidden=self.hidden.ticked(),
            mfa_session=bool(self.mfa_session.get()),
            favourites=self.prefs.favourites,  # not edited here: kept as they were
            key_max_age=key_days,
        )
        self.root.destroy()

    def cancel(self) -> None:
        self.result = None
        self.root.destroy()

    def _show_error(self, text: str) -> None:
        self.error.configure(text=text, style="Error.TLabel")
        self.error.grid()


class ProfileList:
    """The hidden profiles: a white panel of check boxes (ticked = hidden) showing :data:`LIST_ROWS`
    of them and scrolling the rest — with a scroll bar, the wheel and the keyboard (Tab and
    Up/Down/Home/End move between the boxes; the box with the focus is always scrolled into view).
    Names are plain text: a check box's label is never markup."""

    def __init__(
        self, parent: Any, names: Sequence[str], hidden: frozenset[str], on_return: Callable[[Any], str]
    ) -> None:
        import tkinter as tk
        from tkinter import ttk

        from trayapp.tk import style

        self.frame = ttk.Frame(parent, style="Card.TFrame", padding=1)
        self.frame.columnconfigure(0, weight=1)
        self.canvas = tk.Canvas(self.frame, background=style.CARD, highlightthickness=0, borderwidth=0)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.bar = ttk.Scrollbar(self.frame, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=self.bar.set, yscrollincrement=1)
        self.inner = ttk.Frame(self.canvas, style="Card.TFrame", borderwidth=0, padding=(10, 4))
        self.canvas.create_window(0, 0, window=self.inner, anchor="nw")
        self.variables: dict[str, Any] = {}
        self.boxes: list[Any] = []
        for index, name in enumerate(names):
            var = tk.BooleanVar(value=name in hidden)
            box = ttk.Checkbutton(self.inner, text=name, variable=var, style="Card.TCheckbutton")
            box.grid(sticky="w", pady=1)
            box.bind("<FocusIn>", self._shower(box), add="+")
            box.bind("<Down>", self._mover(index + 1))
            box.bind("<Up>", self._mover(index - 1))
            box.bind("<Home>", self._mover(0))
            box.bind("<End>", self._mover(len(names) - 1))
            for key in ("<Return>", "<KP_Enter>"):  # Return saves, as everywhere in the window
                box.bind(key, on_return)
            self.variables[name] = var
            self.boxes.append(box)
        if not names:
            ttk.Label(self.inner, text=_("(no role profiles)"), style="Muted.TLabel").grid(sticky="w", pady=2)
        for widget in (self.canvas, self.inner, *self.boxes):
            widget.bind("<MouseWheel>", self._wheel, add="+")  # Windows and macOS
            widget.bind("<Button-4>", lambda _e: self._scroll(-1), add="+")  # X11
            widget.bind("<Button-5>", lambda _e: self._scroll(1), add="+")

    def fit(self) -> None:
        """Size the view to :data:`LIST_ROWS` rows (all of them when there are no more), wide enough
        for the longest name; the scroll bar only when rows are out of view."""
        width = max(self.inner.winfo_reqwidth(), 260)
        full = self.inner.winfo_reqheight()
        height = full
        if len(self.boxes) > LIST_ROWS:
            height = self.boxes[LIST_ROWS].winfo_reqheight() * LIST_ROWS + 2 * LIST_ROWS + 4
        self.canvas.configure(width=width, height=height, scrollregion=(0, 0, width, full))
        if full > height:
            self.bar.grid(row=0, column=1, sticky="ns")

    def ticked(self) -> frozenset[str]:
        return frozenset(name for name, var in self.variables.items() if var.get())

    def show(self, box: Any) -> None:
        """Scroll so that *box* is wholly in view."""
        full = self.inner.winfo_reqheight()
        view = self.canvas.winfo_height()
        if full <= view:
            return
        top, bottom = box.winfo_y() - 4, box.winfo_y() + box.winfo_height() + 4
        first = self.canvas.canvasy(0)
        if top < first:
            self.canvas.yview_moveto(max(0, top) / full)
        elif bottom > first + view:
            self.canvas.yview_moveto(min(full, bottom - view) / full)

    def _shower(self, box: Any) -> Callable[[Any], None]:
        return lambda _event: self.show(box)

    def _mover(self, index: int) -> Callable[[Any], str]:
        def move(_event: Any) -> str:
            self.boxes[max(0, min(index, len(self.boxes) - 1))].focus_set()
            return "break"

        return move

    def _scroll(self, rows: int) -> str:
        step = self.boxes[0].winfo_height() + 2 if self.boxes else 20
        self.canvas.yview_scroll(rows * step, "units")
        return "break"

    def _wheel(self, event: Any) -> str:
        return self._scroll(-1 if event.delta > 0 else 1)


def _fix_x11_title(root: Any) -> None:
    """X tools read WM_NAME, where Tk 8.6 garbles the em dash: the MFA dialog has the fix."""
    try:
        from trayapp.tk.dialog import fix_x11_title
    except ImportError:
        return
    fix_x11_title(root, window_title())


if __name__ == "__main__":
    sys.exit(main())
