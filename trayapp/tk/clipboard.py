"""Copy a line of text to the desktop clipboard, with no extra dependency.

The parent (:func:`trayapp.tray.clipboard.copy_text`) hands the text to this tiny Tk
process, ``python -m trayapp.tk.clipboard``.  On X11 a clipboard is owned by a live client, so the child stays
(windowless, idle) until another application takes the clipboard over, then
exits; each new copy therefore replaces the previous holder.  On Windows and
macOS the system keeps the data, and the child exits at once.
"""

from __future__ import annotations

import sys

POLL_MS = 500


#: The text travels as UTF-8 both ways: the parent's pipe is UTF-8 (protocol.spawn), the child
#: decodes its stdin bytes as UTF-8 itself, and PYTHONIOENCODING says so too, whatever the
#: locale's code page (on Windows the ANSI one, cp1252 or cp932, would garble José or 山田).
ENCODING = "utf-8"


def main() -> int:
    import tkinter as tk

    text = sys.stdin.buffer.read().decode(ENCODING, "replace")
    try:
        root = tk.Tk(className="trayapp-clipboard")
    except tk.TclError as exc:
        print(f"trayapp: can't reach the clipboard: {exc}", file=sys.stderr)
        return 3
    root.withdraw()
    root.clipboard_clear()
    root.clipboard_append(text)
    root.update()
    if root.tk.call("tk", "windowingsystem") != "x11":
        root.after(200, root.destroy)
    else:

        def still_owner() -> None:
            # `selection own` names our window while we own CLIPBOARD, else "".
            if str(root.tk.call("selection", "own", "-selection", "CLIPBOARD")):
                root.after(POLL_MS, still_owner)
            else:
                root.destroy()

        root.after(POLL_MS, still_owner)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
