"""The look the Tk windows share (the MFA dialog, the preferences): Tk's ``clam`` theme, a quiet
palette, the fonts and the ttk styles built on them.  :func:`apply` sets them up for a window."""

from __future__ import annotations

import base64
import io
import tkinter as tk
from dataclasses import dataclass
from tkinter import font as tkfont
from tkinter import ttk

BG = "#f5f6f8"
CARD = "#ffffff"
TEXT = "#1f2328"
MUTED = "#5f6b7a"
BORDER = "#d0d7de"
ACCENT = "#1f6feb"
ACCENT_DARK = "#1858c4"
ERROR = "#c62828"
ERROR_BG = "#fdecea"
NOTE = "#8a5a00"


@dataclass(frozen=True)
class Fonts:
    title: tkfont.Font
    small: tkfont.Font
    value: tkfont.Font
    section: tkfont.Font


def apply(root: tk.Tk) -> Fonts:
    """The theme, palette and styles on *root*; the fonts they use.

    Styles: ``Card.TFrame`` (a white panel with a thin border) and on it ``Card.TLabel``,
    ``Muted.TLabel``, ``Value.TLabel``, ``Card.TCheckbutton``; on the window's background
    ``Title.TLabel``, ``Sub.TLabel``, ``Section.TLabel``, ``Status.TLabel``, ``Error.TLabel``,
    ``Count.TLabel``; ``Accent.TButton`` for the default button."""
    root.configure(background=BG)
    base = tkfont.nametofont("TkDefaultFont")
    base.configure(size=10)
    family = base.actual("family")
    fonts = Fonts(
        title=tkfont.Font(family=family, size=13, weight="bold"),
        small=tkfont.Font(family=family, size=9),
        value=tkfont.Font(family=family, size=9, weight="bold"),
        section=tkfont.Font(family=family, size=10, weight="bold"),
    )
    style = ttk.Style(root)
    style.theme_use("clam")
    style.configure(".", background=BG, foreground=TEXT)
    style.configure("Card.TFrame", background=CARD, bordercolor=BORDER, relief="solid", borderwidth=1)
    style.configure("Card.TLabel", background=CARD, foreground=TEXT)
    style.configure("Muted.TLabel", background=CARD, foreground=MUTED, font=fonts.small)
    style.configure("Value.TLabel", background=CARD, foreground=TEXT, font=fonts.value)
    style.configure("Card.TCheckbutton", background=CARD, foreground=TEXT, focuscolor=ACCENT)
    style.map("Card.TCheckbutton", background=[("active", CARD)])
    style.configure("Title.TLabel", background=BG, foreground=TEXT, font=fonts.title)
    style.configure("Sub.TLabel", background=BG, foreground=MUTED)
    style.configure("Section.TLabel", background=BG, foreground=TEXT, font=fonts.section)
    style.configure("Status.TLabel", background=BG, foreground=MUTED, font=fonts.small)
    style.configure("Error.TLabel", background=ERROR_BG, foreground=ERROR, font=fonts.small, padding=(8, 6))
    style.configure("Count.TLabel", background=BG, foreground=NOTE, font=fonts.small)
    style.configure("TButton", padding=(14, 5))
    style.configure(
        "Accent.TButton",
        background=ACCENT,
        foreground="#ffffff",
        bordercolor=ACCENT_DARK,
        lightcolor=ACCENT,
        darkcolor=ACCENT_DARK,
        focuscolor=ACCENT,
    )
    style.map(
        "Accent.TButton",
        background=[("disabled", "#9bbcf5"), ("pressed", ACCENT_DARK), ("active", "#2f7cf6")],
        foreground=[("disabled", "#eef3fd")],
    )
    return fonts


def icon_png(size: int) -> str | None:
    """The tray icon, as base64 PNG for ``tk.PhotoImage`` (no Pillow-Tk glue)."""
    try:
        from trayapp.icons import render

        buffer = io.BytesIO()
        render("none", size).save(buffer, format="PNG")
    except Exception:  # a missing Pillow only costs the picture
        return None
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def header(parent: ttk.Frame, root: tk.Tk, title: str) -> tuple[ttk.Label, tk.PhotoImage | None]:
    """The window's head: the tray icon (also the window's), *title*, and an empty subtitle line
    below it (returned, with the image: Tk forgets an image Python no longer holds)."""
    frame = ttk.Frame(parent)
    frame.grid(row=0, column=0, sticky="ew")
    data = icon_png(40)
    image = None
    if data is not None:
        image = tk.PhotoImage(data=data)
        ttk.Label(frame, image=image).grid(row=0, column=0, rowspan=2, padx=(0, 12))
        root.iconphoto(True, image)
    ttk.Label(frame, text=title, style="Title.TLabel").grid(row=0, column=1, sticky="w")
    subtitle = ttk.Label(frame, text="", style="Sub.TLabel")
    subtitle.grid(row=1, column=1, sticky="w")
    return subtitle, image
