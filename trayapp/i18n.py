"""English and Japanese: the gettext catalogues kept in the package.

``_()`` and ``ngettext()`` translate through ``trayapp/locale/<lang>/LC_MESSAGES/trayapp.mo``;
the language comes from the usual environment (``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``), and without a catalogue for it the English text in the
code is used as it is.  English is the source language: it has no catalogue.

This module imports no GUI toolkit, so the core may use it.  The template of
the catalogues is made by ``packaging/i18n/extract.py``, the ``.mo`` files by
``packaging/i18n/compile_mo.py``.
"""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from pathlib import Path

DOMAIN = "trayapp"
LOCALEDIR = Path(__file__).resolve().parent / "locale"

_translations: gettext.NullTranslations = gettext.NullTranslations()


def load(languages: Sequence[str] | None = None) -> gettext.NullTranslations:
    """(Re)load the catalogue: for *languages*, else for the environment's language."""
    global _translations
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
