"""``python -m trayapp.tk.probe``: whether Tk loads here and can open a window (for ``trayapp doctor``).

Prints one JSON line: ``{"tk": "8.6", "window": true}`` or ``{"tk": "8.6", "window": false,
"error": "…"}``; with no display to try, ``"window": null``.  A Python without Tk never gets here:
the package says so and exits with ``EXIT_NO_TK`` (see ``trayapp/tk/__init__.py``).
"""

from __future__ import annotations

import sys
import tkinter

from trayapp.core.prompts import has_display
from trayapp.protocol import print_message


def main() -> int:
    result: dict[str, object] = {"tk": str(tkinter.TkVersion), "window": None}
    if has_display():
        try:
            root = tkinter.Tk(className="trayapp-probe")
        except tkinter.TclError as exc:
            result.update(window=False, error=str(exc))
        else:
            root.withdraw()
            root.destroy()
            result["window"] = True
    print_message(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
