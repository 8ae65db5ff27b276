"""``python -m trayapp.tk.message_box``: the sentence on standard input, in an error box.

What a windowed trayapp (no stderr) shows when it can't go on; see :func:`trayapp.protocol.report`.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Show the text on standard input in an error box."""
    text = sys.stdin.read().strip()
    if not text:
        return 0
    import tkinter
    from tkinter import messagebox

    try:
        root = tkinter.Tk(className="trayapp-message")
    except tkinter.TclError:
        return 3  # no display either: the log file has it
    root.withdraw()
    messagebox.showerror("trayapp", text, parent=root)
    root.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
