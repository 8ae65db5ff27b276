"""Numbers as people type them: full-width digits from an input method, other scripts' digits,
and the separators a paste brings.

An IME in kana mode types ``１２３``; Python's ``\\d`` and ``str.isdigit`` accept those (and
``²``), but STS wants ASCII.  Everything a person types — an MFA code, a duration, minutes —
goes through here; numbers read from ``~/.aws/config`` are botocore's business (``int()``).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CODE_SEPARATORS", "ascii_digits", "typed_int"]

#: What a paste or an input method puts between the digits of a code: spaces of any kind (NFKC
#: turns the ideographic space into a plain one), hyphens and dashes (the kana-mode "-" key gives
#: ``ー``), dots, and the invisible joiners of web pages.
CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc\u00b7.\u200b-\u200d\u2060\ufeff]+")
#: Between the digits of a number only spaces are dropped: ``1.5`` is not ``15``.
NUMBER_SEPARATORS = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def ascii_digits(text: str, separators: re.Pattern[str] = CODE_SEPARATORS) -> str | None:
    """*text* as a person means it, in ASCII digits, or None if it holds anything else.

    NFKC turns full-width digits into ASCII; other scripts' decimal digits (Arabic-Indic
    ``٣``, Devanagari ``३``…) are mapped by their Unicode value; *separators* are dropped.
    """
    text = separators.sub("", unicodedata.normalize("NFKC", text))
    if not text:
        return None
    digits = []
    for ch in text:
        if "0" <= ch <= "9":
            digits.append(ch)
        elif unicodedata.category(ch) == "Nd":
            digits.append(str(unicodedata.decimal(ch)))
        else:
            return None
    return "".join(digits)


def typed_int(text: str) -> int:
    """A whole number typed by a person (``３６００``, `` 900 ``); ValueError otherwise."""
    digits = ascii_digits(text, NUMBER_SEPARATORS)
    if digits is None:
        raise ValueError("not a number")
    return int(digits)
