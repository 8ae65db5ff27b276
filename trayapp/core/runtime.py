"""The private runtime folder: where trayapp keeps small per-user state that must not leak.

The used-code record, its key and the single-instance lock live here.  Another local user can
pre-create paths in a shared ``/tmp`` (platformdirs falls back to ``/tmp/runtime-<uid>`` when
``XDG_RUNTIME_DIR`` is unset), so a candidate folder is used only when it is a real folder (not a
symlink), owned by this user and closed to everyone else, inside a parent that only this user (or
root, with the sticky bit for shared folders) can change.  The first candidate that passes wins:

1. ``$XDG_RUNTIME_DIR/trayapp``;
2. ``/run/user/<uid>/trayapp`` (what a login session provides even when the variable is missing);
3. ``<user cache folder>/trayapp-run`` in the user's home, which nobody else can write into.

On Windows and macOS the folder is platformdirs' per-user runtime folder, private by the user
profile's ACL / home permissions.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["private_folder", "private_runtime_dir", "safe_folder"]

_APP = "trayapp"


def safe_folder(path: Path, *, own: bool) -> bool:
    """True when *path* is a real folder no other user can change.

    *own*: the folder is trayapp's own, so it must be this user's and closed to everyone else;
    otherwise (a parent) it may also be root's, and a world-writable one needs the sticky bit.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False  # a symlink, a file, a FIFO…
    uid = os.geteuid()
    mode = stat.S_IMODE(st.st_mode)
    if own:
        return st.st_uid == uid and not mode & 0o077
    if st.st_uid not in (uid, 0):
        return False
    return not mode & 0o022 or bool(mode & stat.S_ISVTX)


def private_folder(path: Path) -> Path | None:
    """*path*, created 0700 if missing, when it is (then) a safe folder of this user's."""
    with contextlib.suppress(FileExistsError, FileNotFoundError, PermissionError, OSError):
        os.mkdir(path, 0o700)
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        # Ours but too open (an old umask, a copy): close it rather than give up.
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, 0o700, follow_symlinks=False)
    return path if safe_folder(path, own=True) else None


def _candidates(env: Mapping[str, str]) -> list[Path]:
    found: list[Path] = []
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        found.append(Path(xdg))
    run_user = Path(f"/run/user/{os.geteuid()}")
    if run_user not in found:
        found.append(run_user)
    return found


def _cache_fallback(env: Mapping[str, str]) -> Path:
    home = env.get("HOME") or os.path.expanduser("~")
    cache = env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return Path(cache) / f"{_APP}-run"


def private_runtime_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """trayapp's private runtime folder, created if needed; None if no safe one can be had."""
    env = os.environ if environ is None else environ
    if sys.platform in ("win32", "darwin"):
        import platformdirs

        path = Path(platformdirs.user_runtime_dir(_APP, ensure_exists=False))
        with contextlib.suppress(OSError):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path if path.is_dir() else None
    for parent in _candidates(env):
        if safe_folder(parent, own=False) and (found := private_folder(parent / _APP)) is not None:
            return found
    fallback = _cache_fallback(env)
    with contextlib.suppress(OSError):
        fallback.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if safe_folder(fallback.parent, own=False):
        return private_folder(fallback)
    return None
