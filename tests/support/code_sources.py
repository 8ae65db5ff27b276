"""Stand-ins for code sources on PATH: a fake ``ykman`` and ``mfa_process`` scripts (real processes).

The fake ``ykman`` answers ``oath accounts list`` from ``accounts`` and ``oath accounts code
--single NAME`` as ``mode`` says: ``code`` (prints ``code`` at once), ``touch`` (waits until the
file ``touched`` exists, as a key waits for a finger), ``fail`` (no key: exit 1), ``junk`` (prints
words), ``hang`` (starts a grandchild that never answers, and records its pid in ``grandchild``).
Every call's arguments are appended to ``calls``, one line each.
"""

from __future__ import annotations

import os
from pathlib import Path

from .procs import wait_until

YKMAN = r"""#!/bin/sh
dir="$FAKE_YKMAN_DIR"
[ -n "$dir" ] || { echo "fake ykman: FAKE_YKMAN_DIR is not set" >&2; exit 99; }
echo "$*" >> "$dir/calls"
if [ "$1 $2 $3" = "oath accounts list" ]; then
    [ -f "$dir/no-key" ] && { echo "Error: No YubiKey detected!" >&2; exit 2; }
    cat "$dir/accounts"
    exit 0
fi
if [ "$1 $2 $3 $4" = "oath accounts code --single" ]; then
    mode=$(cat "$dir/mode")
    echo $$ > "$dir/code-pid"
    case "$mode" in
    code) cat "$dir/code" ;;
    touch)
        echo "Touch your YubiKey..." >&2
        while [ ! -f "$dir/touched" ]; do sleep 0.05; done
        cat "$dir/code" ;;
    fail) echo "Error: No YubiKey detected!" >&2; exit 1 ;;
    junk) echo "Enter password to unlock:"; echo "lorem ipsum 12 345" ;;
    hang) sleep 1000 & echo $! > "$dir/grandchild"; wait ;;
    esac
    exit 0
fi
echo "fake ykman: unexpected arguments" >&2
exit 2
"""


class FakeYkman:
    """A fake ``ykman`` in *bin_dir*; ``env`` holds what a process needs to find and drive it."""

    def __init__(self, root: Path, accounts: list[str], code: str = "246810", mode: str = "code") -> None:
        self.dir = root / "fake-ykman"
        self.bin = root / "fake-bin"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.bin.mkdir(parents=True, exist_ok=True)
        self.path = self.bin / "ykman"
        self.path.write_text(YKMAN)
        self.path.chmod(0o755)
        (self.dir / "accounts").write_text("".join(a + "\n" for a in accounts))
        (self.dir / "code").write_text(code + "\n")
        self.mode = mode
        self.code = code

    @property
    def mode(self) -> str:
        return (self.dir / "mode").read_text()

    @mode.setter
    def mode(self, value: str) -> None:
        (self.dir / "mode").write_text(value)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["FAKE_YKMAN_DIR"] = str(self.dir)
        return env

    def touch(self) -> None:
        (self.dir / "touched").write_text("")

    def calls(self) -> list[str]:
        path = self.dir / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def wait_for_call(self, start: str, timeout: float = 10) -> None:
        wait_until(f"ykman called with {start!r}", lambda: any(c.startswith(start) for c in self.calls()), timeout)

    def pid_file(self, name: str, timeout: float = 10) -> int:
        path = self.dir / name
        return int(wait_until(name, lambda: (path.read_text().strip() or None) if path.exists() else None, timeout))


def alive(pid: int) -> bool:
    """Whether *pid* is a running process (a zombie counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def script(folder: Path, name: str, body: str) -> Path:
    """An executable ``/bin/sh`` script (an ``mfa_process`` stand-in)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path
