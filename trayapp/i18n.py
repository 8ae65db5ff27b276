"""English and Japanese: the gettext catalogues kept in the package.

``_()`` and ``ngettext()`` translate through ``trayapp/locale/<lang>/LC_MESSAGES/trayapp.mo``;
the language comes from the usual environment (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``); when none of them is set — always on Windows, and for an
app started from Finder or launchd on macOS — from the OS's UI language:
``GetUserDefaultUILanguage`` on Windows, ``defaults read -g AppleLanguages`` on
macOS.  Without a catalogue for it the English text in the code is used as it
is.  English is the source language: it has no catalogue.

This module imports no GUI toolkit, so the core may use it.  The template of
the catalogues is made by ``packaging/i18n/extract.py``, the ``.mo`` files by
``packaging/i18n/compile_mo.py``.
"""

from __future__ import annotations

import gettext
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

DOMAIN = "trayapp"
LOCALEDIR = Path(__file__).resolve().parent / "locale"

_translations: gettext.NullTranslations = gettext.NullTranslations()


#: What gettext reads, in its order; the OS's language is asked only when all are unset.
ENV_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def windows_ui_languages(windll: Any = None) -> list[str]:
    """The Windows display language, as a locale name (``ja_JP``); [] when unknown."""
    import locale

    try:
        if windll is None:
            import ctypes

            windll = ctypes.windll  # type: ignore[attr-defined]
        langid = int(windll.kernel32.GetUserDefaultUILanguage())
    except (AttributeError, OSError, ValueError, TypeError):
        return []
    name = locale.windows_locale.get(langid)
    return [name] if name else []


Runner = Callable[[Sequence[str]], str]


def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=2, check=False, stdin=subprocess.DEVNULL)
    return done.stdout if done.returncode == 0 else ""


def macos_ui_languages(run: Runner | None = None) -> list[str]:
    """The languages of System Settings → Language & Region, first preferred (``ja_JP``, ``en_US``)."""
    try:
        out = (run or _run)(["defaults", "read", "-g", "AppleLanguages"])
    except (OSError, subprocess.SubprocessError, UnicodeError):
        return []
    found = []
    # ( "ja-JP", "en-US", "zh-Hans-CN" ): language, optional script, optional region
    for tag in re.findall(r'"?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)"?\s*[,)]', out):
        parts = tag.split("-")
        region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
        found.append(f"{parts[0].lower()}_{region}" if region else parts[0].lower())
    return found


def system_languages(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    *,
    windll: Any = None,
    run: Runner | None = None,
) -> list[str] | None:
    """The languages to use when the environment says nothing, else None (gettext reads it)."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in ENV_VARS):
        return None
    plat = sys.platform if platform is None else platform
    if plat == "win32":
        return windows_ui_languages(windll) or None
    if plat == "darwin":
        return macos_ui_languages(run) or None
    return None


def load(
    languages: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    windll: Any = None,
    run: Runner | None = None,
) -> gettext.NullTranslations:
    """(Re)load the catalogue: for *languages*, else for the environment's language, else
    (nothing set) for the OS's UI language."""
    global _translations
    if languages is None:
        languages = system_languages(environ, platform, windll=windll, run=run)
        if languages is None and environ is not None:
            chosen = next((environ[name] for name in ENV_VARS if environ.get(name)), "")
            languages = [v for v in chosen.split(":") if v] or ["en"]
    _translations = gettext.translation(
        DOMAIN, localedir=LOCALEDIR, languages=list(languages) if languages is not None else None, fallback=True
    )
    return _translations


def _(message: str) -> str:
    """*message* in the user's language (the English text when there is no translation)."""
    return _translations.gettext(message)


def N_(message: str) -> str:
    """Marks *message* for the catalogue without translating it (translate it later with ``_()``)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


def language() -> str:
    """The language in use: ``"ja"``, or ``"en"`` when the English text is shown."""
    info = _translations.info()
    return info.get("language", "en") or "en"


load()
