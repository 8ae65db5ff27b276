"""The preferences window, the parent's side: run ``python -m trayapp.tk.prefs_window`` with the
current preferences on its standard input, read the edited ones from its standard output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence

from trayapp import protocol
from trayapp.core.preferences import Preferences, PreferenceStore, from_json

#: The child's exit status (the protocol of ``trayapp.tk.prefs_window``).
EXIT_SAVED = 0


def edit(
    current: Preferences,
    profiles: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> Preferences | None:
    """Show the window (blocking until it closes); the edited preferences, or None
    on Cancel, on a closed window and when no window could be opened."""
    request = json.dumps({"prefs": current.as_dict(), "profiles": list(profiles)})
    try:
        done = subprocess.run(
            protocol.command("prefs_window"),
            input=request,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=protocol.child_env(env),
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != EXIT_SAVED or not done.stdout.strip():
        return None
    return from_json(done.stdout)


def edit_and_save(
    store: PreferenceStore,
    profiles: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
) -> Preferences | None:
    """Load, show the window, save what was changed; None when nothing was saved.

    Raises ``UsageError`` (a sentence for the user) when the keyring can't store it.
    """
    current = store.load()
    edited = edit(current, profiles, env=env)
    if edited is None or edited == current:
        return None
    store.save(edited)
    return edited
