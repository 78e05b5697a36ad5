"""Messages in the request's language (R18): gettext catalogs per language, read with Babel.

A message is an English template with named fields (``"quantity {quantity} exceeds …"``); the
catalog for a language maps it to a translated template, then the fields are filled in. English
is always available; a missing translation falls back to English.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from ..domain.errors import Violation

CATALOGS = Path(__file__).parent
LANGUAGES = ("en", "ar", "mn", "ms")


@lru_cache(maxsize=None)
def catalog(language: str) -> dict[str, str]:
    path = CATALOGS / f"{language}.po"
    if language == "en" or not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    return {message.id: message.string for message in po if message.id and message.string}


def negotiate(accept_language: str | None, supported: tuple[str, ...]) -> str:
    """The best of ``supported`` for an ``Accept-Language`` header (q-values honoured); else the first."""
    choices = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in supported and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else supported[0]


def translate(template: str, language: str) -> str:
    return catalog(language).get(template, template) if language != "en" else template


def message(violation: Violation, language: str) -> str:
    """The violation's message in ``language`` (fields filled in)."""
    try:
        return translate(violation.message, language).format(**violation.params)
    except (KeyError, IndexError, ValueError):
        return violation.text()
