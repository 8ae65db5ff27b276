"""User preferences, kept in the OS keyring under the service ``trayapp``.

The keyring is optional: without a usable backend, or with a value that can't
be read, the applet runs on defaults and says so once (``Preferences.notice``).
The ``keyring`` package is imported lazily (it costs ~0.1 s).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from trayapp.core import commands
from trayapp.core.errors import UsageError
from trayapp.core.typed import typed_int
from trayapp.i18n import N_, _

SERVICE = "trayapp"
USERNAME = "preferences"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preferences:
    duration: int = 3600
    warn_minutes: int = 10
    notifications: bool = True
    hidden: frozenset[str] = frozenset()
    mfa_session: bool = True
    #: Role profiles the menu's "Assume favourites" assumes with one code.
    favourites: tuple[str, ...] = ()
    #: Days after which a long-term key in the keyring is due for rotation (the tray says so once).
    key_max_age: int = 90
    #: Why the defaults are in use, when they are (shown once), else None.
    notice: str | None = field(default=None, compare=False)

    @property
    def warn_seconds(self) -> int:
        return self.warn_minutes * 60

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration": self.duration,
            "warn-minutes": self.warn_minutes,
            "notifications": self.notifications,
            "hidden": sorted(self.hidden),
            "mfa-session": self.mfa_session,
            "favourites": list(self.favourites),
            "key-max-age": self.key_max_age,
        }


def _bool(text: str) -> bool:
    value = unicodedata.normalize("NFKC", text).strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ValueError(text)


def _duration(text: str) -> int:
    return commands.duration(text)  # commands.Invalid is a ValueError


def _minutes(text: str) -> int:
    value = typed_int(text)
    if not 0 <= value <= 720:
        raise ValueError(text)
    return value


def _days(text: str) -> int:
    value = typed_int(text)
    if not 1 <= value <= 3650:
        raise ValueError(text)
    return value


def _names(text: str) -> list[str]:
    return [p.strip() for p in text.replace(",", " ").split() if p.strip()]


def _hidden(text: str) -> frozenset[str]:
    return frozenset(_names(text))


def _favourites(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_names(text)))  # in the order given, once each


#: key → (field name, parser, what a valid value is)
KEYS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "duration": ("duration", _duration, N_("a number of seconds between {low} and {high}")),
    "warn-minutes": ("warn_minutes", _minutes, N_("a number of minutes between 0 and 720")),
    "notifications": ("notifications", _bool, N_("on or off")),
    "hidden": ("hidden", _hidden, N_("a comma-separated list of profile names")),
    "mfa-session": ("mfa_session", _bool, N_("on or off")),
    "favourites": ("favourites", _favourites, N_("a comma-separated list of profile names")),
    "key-max-age": ("key_max_age", _days, N_("a number of days between 1 and 3650")),
}


def with_value(prefs: Preferences, key: str, text: str) -> Preferences:
    if key not in KEYS:
        reason = _("There is no preference '{key}'; the keys are {keys}.").format(key=key, keys=", ".join(KEYS))
        raise UsageError(reason=reason)
    name, parse, valid = KEYS[key]
    try:
        value = parse(text)
    except ValueError:
        raise UsageError(
            reason=_("The value for '{key}' must be {valid}.").format(
                key=key, valid=_(valid).format(low=commands.MIN_DURATION, high=commands.MAX_DURATION)
            )
        ) from None
    return replace(prefs, **{name: value})


def from_json(text: str) -> Preferences:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    prefs = Preferences()
    for key, value in data.items():
        if key in KEYS:
            raw = ",".join(value) if isinstance(value, list) else str(value)
            prefs = with_value(prefs, key, raw)
    return prefs


def to_json(prefs: Preferences) -> str:
    return json.dumps(prefs.as_dict(), sort_keys=True)


class PreferenceStore:
    """Loads and saves :class:`Preferences` through a keyring-like module."""

    def __init__(self, backend: Callable[[], Any] | None = None) -> None:
        self._backend = backend or _keyring
        self._warned = False

    def load(self) -> Preferences:
        try:
            text = self._backend().get_password(SERVICE, USERNAME)
        except Exception as exc:  # keyring raises its own and backend-specific errors
            log.debug("keyring: %s", type(exc).__name__)  # the class name helps a developer, not the user
            return self._defaults(_("no usable keyring was found"))
        if text is None:
            return Preferences()
        try:
            return from_json(text)
        except (ValueError, UsageError):
            return self._defaults(_("the stored preferences could not be read"))

    def save(self, prefs: Preferences) -> None:
        try:
            self._backend().set_password(SERVICE, USERNAME, to_json(prefs))
        except Exception:
            raise UsageError(
                reason=_("Preferences can't be saved: no usable keyring was found ({error}).").format(
                    error=_("the keyring did not answer")
                )
            ) from None

    def _defaults(self, why: str) -> Preferences:
        notice = _("Using default preferences: {reason}.").format(reason=why)
        if not self._warned:
            log.info("%s", notice)
            self._warned = True
        return Preferences(notice=notice)


class NoSessionBus(Exception):
    """No keyring backend can work in this environment (decided without importing keyring)."""


def _keyring() -> Any:
    if _surely_no_backend():
        raise NoSessionBus()
    import keyring

    return keyring


def _surely_no_backend(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """On Linux every real backend talks D-Bus: without a session bus, and with no backend
    chosen by the user, importing keyring (~0.15 s, it tries them all) can only fail."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform) != "linux" or env.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    if env.get("PYTHON_KEYRING_BACKEND"):
        return False
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME", "~"), ".config")
    return not os.path.exists(os.path.join(os.path.expanduser(config_home), "python_keyring", "keyringrc.cfg"))
