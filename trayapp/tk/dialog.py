"""The MFA dialog: a small Tk window run as ``python -m trayapp.tk.dialog``.

It speaks JSON lines (one object per line) with its parent
(:class:`trayapp.tray.dialog_prompt.DialogPrompt`):

parent → dialog
    ``{"profile": P, "role_arn": A, "mfa_serial": S}`` — a request: show (or
    switch to) these labels, empty the entry and wait for a code.  It may
    also carry ``"error"`` and ``"countdown"`` (see below).

    ``{"error": TEXT, "countdown": SECONDS | null}`` — the last code failed:
    show TEXT inline, empty the entry, let the user try again; with a
    countdown, tick down to the next TOTP window.

    ``{"done": true}`` — close the window and exit.

    ``{"raise": true}`` — the same role was clicked again: bring the window to the front, with
    the cursor in the code's box; nothing typed is lost.

    While a code is awaited, a code source (``mfa_process``, a YubiKey) may speak through the
    parent: ``{"touch": TEXT}`` shows TEXT ("Touch your YubiKey…") while typing still works;
    ``{"fill": "123456"}`` fills the code in and submits it; ``{"source_failed": TEXT}`` shows
    why the source gave no code.  Arriving after an answer, they are dropped.

dialog → parent (one answer per request or error message)
    ``{"code": "123456"}`` or ``{"cancel": true}``.

The window stays open between an answer and the next message, showing that
the code is being checked.  End of input closes it.  Nothing typed is ever
logged; the code only travels on the pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sys
import threading
import time
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from trayapp.core.typed import ascii_digits
from trayapp.i18n import _
from trayapp.protocol import print_message, report
from trayapp.tk import style

#: The English title (tests find the window by it); :func:`window_title` is the one shown.
TITLE = "trayapp — MFA code"
CODE_LENGTH = 6

ERROR_BG = style.ERROR_BG  # tests/support/dialog.py looks for it on screen


def window_title() -> str:
    """``trayapp — MFA code`` with the part after the dash in the user's language."""
    return "trayapp — " + _("MFA code")


class Dialog:
    def __init__(self, root: tk.Tk) -> None:
        self.root = root
        self.waiting = False  # True between a request and the user's answer
        self.countdown_until: float | None = None
        self._shown = False
        self._last_good = ""
        self._refused = False  # the "six digits" refusal shows: it goes as the code changes
        self._build()

    # --- layout ----------------------------------------------------------------

    def _build(self) -> None:
        root = self.root
        # No title until a request arrives: a warm dialog waiting withdrawn is not "the dialog"
        # to a person or to the X tools that look for it by name.
        root.resizable(False, False)
        root.attributes("-topmost", True)
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        self.fonts = style.apply(root)
        self.f_code = tkfont.Font(family="DejaVu Sans Mono", size=22, weight="bold")
        ttk.Style(root).configure(
            "Code.TEntry",
            fieldbackground=style.CARD,
            foreground=style.TEXT,
            bordercolor=style.BORDER,
            lightcolor=style.CARD,
            padding=(6, 4),
        )
        ttk.Style(root).map("Code.TEntry", bordercolor=[("focus", style.ACCENT)], lightcolor=[("focus", style.ACCENT)])

        outer = ttk.Frame(root, padding=(18, 16, 18, 14))
        outer.grid(sticky="nsew")

        self.subtitle, self._icon = style.header(outer, root, _("Enter your MFA code"))

        card = ttk.Frame(outer, style="Card.TFrame", padding=(12, 10))
        card.grid(row=1, column=0, sticky="ew", pady=(12, 12))
        self.values: dict[str, ttk.Label] = {}
        rows = (("profile", _("Profile")), ("role_arn", _("Role")), ("mfa_serial", _("MFA device")))
        for row, (key, label) in enumerate(rows):
            ttk.Label(card, text=label, style="Muted.TLabel").grid(row=row, column=0, sticky="w", padx=(0, 14), pady=1)
            value = ttk.Label(card, text="", style="Value.TLabel")
            value.grid(row=row, column=1, sticky="w", pady=1)
            self.values[key] = value

        entry_row = ttk.Frame(outer)
        entry_row.grid(row=2, column=0, sticky="ew")
        ttk.Label(entry_row, text=_("6-digit code from your authenticator app")).grid(row=0, column=0, sticky="w")
        self.code = tk.StringVar(root)
        self.code.trace_add("write", self._on_typed)
        self.entry = ttk.Entry(
            entry_row, textvariable=self.code, width=9, justify="center", font=self.f_code, style="Code.TEntry"
        )
        self.entry.grid(row=1, column=0, sticky="w", pady=(4, 0))

        self.status = ttk.Label(outer, text="", style="Status.TLabel", wraplength=380, justify="left")
        self.status.grid(row=3, column=0, sticky="ew", pady=(10, 0))
        self.countdown = ttk.Label(outer, text="", style="Count.TLabel")
        self.countdown.grid(row=4, column=0, sticky="w")

        buttons = ttk.Frame(outer)
        buttons.grid(row=5, column=0, sticky="e", pady=(12, 0))
        self.cancel_button = ttk.Button(buttons, text=_("Cancel"), command=self.cancel)
        self.cancel_button.grid(row=0, column=0, padx=(0, 8))
        self.ok_button = ttk.Button(buttons, text=_("OK"), style="Accent.TButton", command=self.submit)
        self.ok_button.grid(row=0, column=1)

        root.bind("<Return>", lambda _e: self.submit())
        root.bind("<KP_Enter>", lambda _e: self.submit())
        root.bind("<Escape>", lambda _e: self.cancel())
        root.withdraw()  # shown when the first request arrives

    # --- input -------------------------------------------------------------------

    def _on_typed(self, *_args: object) -> None:
        text = self.code.get()
        # Full-width digits (an IME in kana mode), other scripts' digits and pasted
        # separators become the ASCII code that will be sent, shown as such.
        digits = ascii_digits(text) if text.strip() else ""
        if digits is None or len(digits) > CODE_LENGTH:
            digits = self._last_good  # refuse letters and a seventh digit
        elif not text.isascii():
            self._set_status(_("Converted to half-width digits: the code above is what will be sent."))
        elif self._refused and digits != self._last_good:
            self._set_status("")  # the code is being fixed: the refusal of the old one no longer holds
        self._last_good = digits
        if digits != text:
            self.code.set(digits)
            self.entry.icursor("end")

    def submit(self) -> None:
        if not self.waiting:
            return
        code = self.code.get()
        if len(code) != CODE_LENGTH:
            self._show_error(_("An MFA code is six digits."))
            self._refused = True
            self.entry.focus_set()
            return
        self._answer({"code": code})
        self._set_status(_("Checking the code with AWS…"))

    def cancel(self) -> None:
        if self.waiting:
            self._answer({"cancel": True})
            self.root.destroy()
        # While a code is being checked the parent is not listening; the
        # answer (error or done) follows within the STS timeout.

    def _answer(self, message: dict[str, Any]) -> None:
        self.waiting = False
        self._enable(False)
        print_message(message)

    # --- messages from the parent ---------------------------------------------

    def deliver(self, message: dict[str, Any] | None) -> None:
        """One message from the parent (None: the end of its input), on Tk's thread."""
        if message is None or message.get("done"):
            self.root.destroy()
            return
        if message.get("raise"):
            if self._shown:
                self._present()
            return
        if not self.from_source(message):
            self.handle(message)

    def from_source(self, message: dict[str, Any]) -> bool:
        """A code source's news (``touch``, ``fill``, ``source_failed``); False for anything else.

        They matter only while a code is awaited: a late one (the user typed first) is dropped.
        """
        if not {"touch", "fill", "source_failed"} & message.keys():
            return False
        if not self.waiting:
            return True
        if "touch" in message:
            self._set_status(str(message["touch"]))
        elif "fill" in message:
            digits = ascii_digits(str(message["fill"]))
            if digits is not None and len(digits) == CODE_LENGTH:
                self.code.set(digits)
                self.submit()
        else:
            self._show_error(str(message["source_failed"]))
        return True

    def handle(self, message: dict[str, Any]) -> None:
        if "profile" in message:
            profile = str(message.get("profile", ""))
            self.subtitle.configure(text=_("to assume the role of profile '{profile}'").format(profile=profile))
            for key, label in self.values.items():
                label.configure(text=str(message.get(key, "")))
            self._set_status("")
            self._stop_countdown()
        error = message.get("error")
        if error:
            self._show_error(str(error))
            seconds = message.get("countdown")
            if isinstance(seconds, int | float) and seconds > 0:
                self.countdown_until = time.monotonic() + float(seconds)
                self._tick()
            else:
                self._stop_countdown()
        self.code.set("")
        self.waiting = True
        self._enable(True)
        self._present()

    def _present(self) -> None:
        root = self.root
        if not self._shown:
            self._shown = True
            root.title(window_title())
            root.update_idletasks()
            w, h = root.winfo_reqwidth(), root.winfo_reqheight()
            x = (root.winfo_screenwidth() - w) // 2
            y = (root.winfo_screenheight() - h) // 3
            root.geometry(f"+{x}+{y}")
            fix_x11_title(root, window_title())
            # The entry is the toplevel's focus before the window maps, so digits typed the
            # instant it appears land in it instead of being lost on the toplevel.
            self.entry.focus_set()
            root.deiconify()
        root.lift()
        root.attributes("-topmost", True)
        root.after(10, self._focus)

    def _focus(self) -> None:
        self.root.focus_force()
        self.entry.focus_force()

    # --- display -----------------------------------------------------------------

    def _enable(self, on: bool) -> None:
        state = ["!disabled"] if on else ["disabled"]
        self.entry.state(state)
        self.ok_button.state(state)
        self.cancel_button.state(state)

    def _set_status(self, text: str) -> None:
        self._refused = False
        self.status.configure(text=text, style="Status.TLabel")

    def _show_error(self, text: str) -> None:
        self._refused = False
        self.status.configure(text=text, style="Error.TLabel")

    def _stop_countdown(self) -> None:
        self.countdown_until = None
        self.countdown.configure(text="")

    def _tick(self) -> None:
        if self.countdown_until is None:
            return
        left = int(self.countdown_until - time.monotonic() + 0.999)
        if left <= 0:
            self.countdown.configure(text=_("A new code is ready: enter it now."))
            self.countdown_until = None
            return
        self.countdown.configure(text=countdown_text(left))
        self.root.after(250, self._tick)


#: The countdown's clock: U+25F7 is in DejaVu Sans (the font the project installs) and the
#: platforms' own UI fonts; U+23F1 (a stopwatch) is in none of them and showed as a box.
CLOCK = "\u25f7"


def countdown_text(seconds: int) -> str:
    """The line under the error while the next code is awaited."""
    return f"{CLOCK}  " + _("Next code in {seconds} s").format(seconds=seconds)


def fix_x11_title(root: tk.Misc, title: str) -> None:
    """Give the window a WM_NAME that X tools can match.

    Tk 8.6 stores the UTF-8 bytes of a title in WM_NAME typed as Latin-1
    ``STRING``, so ``xdotool search --name`` sees mojibake for the em dash.
    Rewrite it as ``UTF8_STRING`` (what ``_NET_WM_NAME`` already is).
    """
    if root.tk.call("tk", "windowingsystem") != "x11":
        return
    try:
        from Xlib import X, Xatom
        from Xlib.display import Display
    except ImportError:
        return
    try:
        root.update_idletasks()
        wrapper = int(root.winfo_toplevel().wm_frame(), 16)
        display = Display(root.winfo_screen())
        try:
            window = display.create_resource_object("window", wrapper)
            utf8 = display.intern_atom("UTF8_STRING")
            window.change_property(Xatom.WM_NAME, utf8, 8, title.encode("utf-8"), X.PropModeReplace)
            display.sync()
        finally:
            display.close()
    except Exception:  # cosmetic for X tools: never worth failing the dialog
        return


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) else None


class StdinLines:
    """The parent's JSON lines, handed to *deliver* on Tk's thread as they arrive — and only then:
    the dialog may wait, withdrawn, for minutes (a warm spare) without one wake-up.

    On POSIX Tk watches the pipe itself (a file handler in its event loop).  Where Tk can't watch
    pipes (Windows), a thread blocks reading them and wakes Tk for each line."""

    def __init__(self, root: tk.Tk, deliver: Callable[[dict[str, Any] | None], None]) -> None:
        self.root = root
        self._deliver = deliver
        self._pending = b""
        self._fd = sys.stdin.fileno()
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        if hasattr(root.tk, "createfilehandler"):
            root.tk.createfilehandler(self._fd, tk.READABLE, self._readable)
        else:
            root.after_idle(self._start_thread)

    def _readable(self, _fd: object, _mask: int) -> None:
        try:
            data = os.read(self._fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.root.tk.deletefilehandler(self._fd)
            self._deliver(None)
            return
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            message = _parse(line) if line.strip() else None
            if message is not None:
                self._deliver(message)
                if message.get("done"):
                    return

    def _start_thread(self) -> None:
        threading.Thread(target=self._read_blocking, name="trayapp-stdin", daemon=True).start()

    def _read_blocking(self) -> None:
        for raw in sys.stdin.buffer:
            message = _parse(raw) if raw.strip() else None
            if message is not None:
                self._queue.put(message)
                self.root.after(0, self._drain)  # Tk runs it on its own thread
        self._queue.put(None)
        self.root.after(0, self._drain)

    def _drain(self) -> None:
        while True:
            try:
                message = self._queue.get_nowait()
            except queue.Empty:
                return
            self._deliver(message)
            if message is None or message.get("done"):
                return


def _load_ahead(root: tk.Tk) -> None:
    """What showing the window needs (python-xlib for the title, ~80 ms to import), loaded while
    the dialog waits for its first request rather than after it."""
    root.update_idletasks()
    if root.tk.call("tk", "windowingsystem") == "x11":
        with contextlib.suppress(ImportError):
            import Xlib.display  # noqa: F401


def main() -> int:
    try:
        root = tk.Tk(className="trayapp-mfa")
    except tk.TclError as exc:
        # Not print(): with no stderr (a windowed build) it would write into the pipe to the parent.
        report("trayapp: " + _("the MFA dialog can't open a window: {error}").format(error=exc), box=False)
        return 3
    dialog = Dialog(root)
    _load_ahead(root)
    StdinLines(root, dialog.deliver)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
