"""Write the hicolor app icons from trayapp.icons.render() (run from the repository root).

    .venv/bin/python packaging/linux/make_icons.py

The app icon is the tray's "none" state (slate tile, hollow ring): the neutral look
the applet has when it starts.  The PNGs are committed; re-run after changing icons.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

from trayapp.icons import IconState, render

SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
STATE: IconState = "none"
HICOLOR = Path(__file__).resolve().parent / "icons" / "hicolor"


def icon_path(size: int, root: Path = HICOLOR) -> Path:
    return root / f"{size}x{size}" / "apps" / "trayapp.png"


def write_icons(root: Path = HICOLOR) -> list[Path]:
    written = []
    for size in SIZES:
        path = icon_path(size, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        render(STATE, size).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HICOLOR
    for p in write_icons(root):
        print(p)
