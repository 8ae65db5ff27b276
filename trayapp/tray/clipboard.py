"""Copy a line of text to the desktop clipboard (the parent's side; the holder is the Tk
child ``python -m trayapp.tk.clipboard``)."""

from __future__ import annotations

import os
import subprocess
import threading

from trayapp import protocol

#: The text travels as UTF-8 both ways: the pipe is UTF-8 (protocol.spawn) and the child is told
#: so, whatever the locale's code page (on Windows the ANSI one would garble José or 山田).
ENCODING = "utf-8"


def copy_text(text: str) -> None:
    """Put *text* on the clipboard (returns at once)."""
    env = {**os.environ, "PYTHONIOENCODING": ENCODING}
    proc = protocol.spawn("clipboard", stdout=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None
    try:
        proc.stdin.write(text)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    # Reap the child whenever it ends, so no zombie is left behind.
    threading.Thread(target=proc.wait, name="clipboard-reaper", daemon=True).start()
