"""One tray per credentials file."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def single_instance(credentials: Path) -> Any:
    """One tray per credentials file: a second one would show a second icon for the same
    sessions and notify twice.  Returns the held lock (kept for the process's life), or None
    when another tray holds it.  The lock is an flock: it goes away with its process."""
    import hashlib

    import filelock

    from trayapp.core.runtime import private_runtime_dir

    runtime = private_runtime_dir()
    if runtime is None:
        return True  # no private folder to lock in: run anyway
    key = hashlib.sha256(str(credentials.resolve()).encode()).hexdigest()[:16]
    try:
        lock = filelock.FileLock(str(runtime / f"tray-{key}.lock"), timeout=0, mode=0o600)
        lock.acquire()
    except filelock.Timeout:
        return None
    except OSError:
        return True  # no runtime folder to lock in: run anyway
    return lock
