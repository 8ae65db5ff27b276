"""A fresh Debian 12 root to install a .deb into, never this machine's own system.

``debootstrap bookworm`` into a temp folder (a few minutes; or a copy of an untouched root named by
``TRAYAPP_DEBIAN_BASE``, made once with ``debootstrap bookworm DIR``), then commands run in it with
``chroot`` and /proc, /sys and /dev mounted.  Needs root, debootstrap and Debian's package mirror
(the one this machine's apt sources name, else deb.debian.org).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

SUITE = "bookworm"
#: What a file-list comparison leaves out: apt's and dpkg's own books, logs, caches, mount points.
VOLATILE = ("proc", "sys", "dev", "run", "tmp", "var/cache", "var/lib/apt", "var/lib/dpkg", "var/log", "root/check")


def available() -> str | None:
    """Why a root can't be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (chroot, mount)"
    for tool in ("debootstrap", "chroot", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def mirror() -> str:
    """The Debian mirror this machine's apt uses (so a proxy or local mirror applies here too)."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = source.read_text(errors="replace") if source.is_file() else ""
        for url in re.findall(r"(?:URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if "debian" in url and "security" not in url:
                return str(url)
    return "http://deb.debian.org/debian"


class DebianRoot:
    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log = path, log
        self._mounted: list[Path] = []

    def create(self) -> DebianRoot:
        base = os.environ.get("TRAYAPP_DEBIAN_BASE")
        if base:
            subprocess.run(["cp", "-a", f"{base}/.", str(self.path)], check=True)
        else:
            self._logged(["debootstrap", SUITE, str(self.path), mirror()], timeout=1800)
        sources = f"deb {mirror()} {SUITE} main\ndeb {mirror()} {SUITE}-updates main\n"
        (self.path / "etc/apt/sources.list").write_text(sources)
        shutil.copy("/etc/resolv.conf", self.path / "etc/resolv.conf")
        mounts = (
            ("proc", ["-t", "proc", "proc"]),
            ("sys", ["-t", "sysfs", "sysfs"]),
            ("dev", ["--bind", "/dev"]),
            ("dev/pts", ["--bind", "/dev/pts"]),
        )
        for name, how in mounts:
            target = self.path / name
            subprocess.run(["mount", *how, str(target)], check=True)
            self._mounted.append(target)
        return self

    def close(self) -> None:
        for target in reversed(self._mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)
        self._mounted.clear()

    def _logged(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        with self.log.open("a") as log:
            log.write(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}[exit {result.returncode}]\n\n")
        return result

    def run(self, script: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        """*script* by /bin/sh as root inside, with a plain environment; its output goes to the log."""
        env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
               "DEBIAN_FRONTEND=noninteractive"]  # fmt: skip
        result = self._logged(["chroot", str(self.path), *env, "/bin/sh", "-ec", script], timeout)
        if check:
            assert result.returncode == 0, f"in the Debian root: {script}\n{result.stdout}\n{result.stderr}"
        return result

    def files(self) -> set[str]:
        """Every path in the root but the volatile ones (relative, folders with a trailing /)."""
        out: set[str] = set()
        for folder, dirs, names in os.walk(self.path):
            rel = os.path.relpath(folder, self.path)
            rel = "" if rel == "." else rel
            dirs[:] = [d for d in dirs if os.path.join(rel, d) not in VOLATILE]
            out.update(os.path.join(rel, d) + "/" for d in dirs)
            out.update(os.path.join(rel, n) for n in names)
        return out
