"""The preferences window: a small Tk program run as ``python -m trayapp.tk.prefs_window``.

Protocol (one shot)
    stdin   ``{"prefs": {duration, warn-minutes, notifications, hidden, mfa-session},
              "profiles": ["dev", "prod", ...]}`` — the current preferences (as
            ``Preferences.as_dict()``) and the role profiles to offer for hiding.
    stdout  the edited preferences as one JSON object on Save; nothing on Cancel.
    exit    0 saved, 1 cancelled, 3 no display.

The parent's side is :mod:`trayapp.tray.prefs_dialog`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
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

        self.root = root
        self.prefs = prefs
        self.result: Preferences | None = None

        root.title(window_title())
        root.resizable(False, True)
        root.attributes("-topmost", True)
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")

        outer = ttk.Frame(root, padding=(16, 14, 16, 12))
        outer.grid(sticky="nsew")
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        outer.columnconfigure(1, weight=1)

        choices = {duration_label(seconds): seconds for _label, seconds in DURATIONS}
        if prefs.duration not in choices.values():
            choices[duration_label(prefs.duration)] = prefs.duration
        self.durations = dict(sorted(choices.items(), key=lambda kv: kv[1]))
        self.duration = tk.StringVar(value=duration_label(prefs.duration))
        ttk.Label(outer, text=_("Default session length")).grid(row=0, column=0, sticky="w", pady=3)
        self.duration_box = ttk.Combobox(
            outer, textvariable=self.duration, values=list(self.durations), state="readonly", width=12
        )
        self.duration_box.grid(row=0, column=1, sticky="w", pady=3)

        self.warn = tk.StringVar(value=str(prefs.warn_minutes))
        ttk.Label(outer, text=_("Warn before expiry (minutes)")).grid(row=1, column=0, sticky="w", pady=3)
        self.warn_box = ttk.Spinbox(outer, from_=0, to=720, increment=1, textvariable=self.warn, width=6)
        self.warn_box.grid(row=1, column=1, sticky="w", pady=3)

        self.notifications = tk.BooleanVar(value=prefs.notifications)
        ttk.Checkbutton(outer, text=_("Show notifications"), variable=self.notifications).grid(
            row=2, column=0, columnspan=2, sticky="w", pady=3
        )
        self.mfa_session = tk.BooleanVar(value=prefs.mfa_session)
        ttk.Checkbutton(
            outer, text=_("Reuse one MFA code for several roles (MFA session)"), variable=self.mfa_session
        ).grid(row=3, column=0, columnspan=2, sticky="w", pady=3)

        ttk.Label(outer, text=_("Hidden profiles")).grid(row=4, column=0, columnspan=2, sticky="w", pady=(10, 2))
        self.hidden = self._profile_list(outer, sorted(set(profiles) | prefs.hidden), prefs.hidden, row=5)
        outer.rowconfigure(5, weight=1)

        # After the profiles: Tab from the warning field still reaches them first.
        self.key_age = tk.StringVar(value=str(prefs.key_max_age))
        ttk.Label(outer, text=_("Rotate keys older than (days)")).grid(row=6, column=0, sticky="w", pady=(10, 3))
        self.key_age_box = ttk.Spinbox(outer, from_=1, to=3650, increment=1, textvariable=self.key_age, width=6)
        self.key_age_box.grid(row=6, column=1, sticky="w", pady=(10, 3))

        self.error = ttk.Label(outer, text="", foreground="#c62828")
        self.error.grid(row=7, column=0, columnspan=2, sticky="w", pady=(6, 0))

        buttons = ttk.Frame(outer)
        buttons.grid(row=8, column=0, columnspan=2, sticky="e", pady=(8, 0))
        ttk.Button(buttons, text=_("Cancel"), command=self.cancel).grid(row=0, column=0, padx=(0, 6))
        ttk.Button(buttons, text=_("Save"), command=self.save, default="active").grid(row=0, column=1)

        root.bind("<Return>", lambda _e: self.save())
        root.bind("<KP_Enter>", lambda _e: self.save())
        root.bind("<Escape>", lambda _e: self.cancel())

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

    def _profile_list(self, parent: Any, names: Sequence[str], hidden: frozenset[str], row: int) -> dict[str, Any]:
        """A scrolling column of check boxes, one per profile; ticked = hidden."""
        import tkinter as tk
        from tkinter import ttk

        frame = ttk.Frame(parent)
        frame.grid(row=row, column=0, columnspan=2, sticky="nsew")
        frame.columnconfigure(0, weight=1)
        frame.rowconfigure(0, weight=1)
        # takefocus=0: Tab skips the text itself and walks through its check boxes
        text = tk.Text(frame, height=min(max(len(names), 1), 8), width=36, cursor="arrow", borderwidth=1, takefocus=0)
        text.grid(row=0, column=0, sticky="nsew")
        if len(names) > 8:
            bar = ttk.Scrollbar(frame, orient="vertical", command=text.yview)
            bar.grid(row=0, column=1, sticky="ns")
            text.configure(yscrollcommand=bar.set)
        variables: dict[str, Any] = {}
        for name in names:
            var = tk.BooleanVar(value=name in hidden)
            box = tk.Checkbutton(text, text=name, variable=var, anchor="w", background="white", borderwidth=0)
            for key in ("<Return>", "<KP_Enter>"):  # Tk's check boxes toggle on Return: here it saves
                box.bind(key, self._save_and_break)
            text.window_create("end", window=box)
            text.insert("end", "\n")
            variables[name] = var
        if not names:
            text.insert("end", _("(no role profiles)"))
        text.configure(state="disabled")
        return variables

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
            self.error.configure(text=_("The warning must be {valid}.").format(valid=_(KEYS["warn-minutes"][2])))
            self.warn_box.focus_set()
            return
        try:
            key_days: int | None = KEYS["key-max-age"][1](self.key_age.get())
        except ValueError:
            key_days = None
        if key_days is None:
            self.error.configure(text=_("The key age must be {valid}.").format(valid=_(KEYS["key-max-age"][2])))
            self.key_age_box.focus_set()
            return
        self.result = Preferences(
            duration=self.durations.get(self.duration.get(), self.prefs.duration),
            warn_minutes=minutes,
            notifications=bool(self.notifications.get()),
            hidden=frozenset(name for name, var in self.hidden.items() if var.get()),
            mfa_session=bool(self.mfa_session.get()),
            favourites=self.prefs.favourites,  # not edited here: kept as they were
            key_max_age=key_days,
        )
        self.root.destroy()

    def cancel(self) -> None:
        self.result = None
        self.root.destroy()


def _fix_x11_title(root: Any) -> None:
    """X tools read WM_NAME, where Tk 8.6 garbles the em dash: the MFA dialog has the fix."""
    try:
        from trayapp.tk.dialog import fix_x11_title
    except ImportError:
        return
    fix_x11_title(root, window_title())


if __name__ == "__main__":
    sys.exit(main())
