"""The language a report is being drawn in: gettext and the locale for the formatters.

analysis/ imports no Flask: the caller passes a gettext catalogue (babel.support.Translations,
loaded by survey.i18n.translations from translations/) to the render functions, which set it
here for the duration of one render. A ContextVar keeps concurrent renders (threads of a batch)
apart. Strings defined in analysis/ are marked with N_() for extraction and translated where
they are drawn with gettext().
"""
from __future__ import annotations

import gettext as _gettext
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

__all__ = ["N_", "gettext", "ngettext", "current_locale", "language", "localised"]

_NULL = _gettext.NullTranslations()
_TRANSLATIONS: ContextVar[_gettext.NullTranslations | None] = ContextVar(
    "report_translations", default=None)
_LOCALE: ContextVar[str] = ContextVar("report_locale", default="vi")


def N_(text: str) -> str:
    """Mark a string for extraction (`flask i18n update`); translated later with gettext()."""
    return text


def gettext(text: str) -> str:
    return (_TRANSLATIONS.get() or _NULL).gettext(text)


def ngettext(singular: str, plural: str, n: int) -> str:
    return (_TRANSLATIONS.get() or _NULL).ngettext(singular, plural, n)


def current_locale() -> str:
    return _LOCALE.get()


def localised(fn: Callable[..., str]) -> Callable[..., str]:
    """A format_vi function in the language of what is being drawn (its `locale` argument)."""
    def in_locale(*args: Any, **kwargs: Any) -> str:
        return fn(*args, locale=current_locale(), **kwargs)
    return in_locale


def locale_of(translations: _gettext.NullTranslations | None) -> str:
    """"en" for an English catalogue; Vietnamese (the source language) otherwise."""
    if translations is None:
        return "vi"
    language = translations.info().get("language", "") or ""
    return "en" if language.lower().startswith("en") else "vi"


@contextmanager
def language(translations: _gettext.NullTranslations | None) -> Iterator[str]:
    """Draw everything inside in the catalogue's language (None: Vietnamese)."""
    t1 = _TRANSLATIONS.set(translations)
    t2 = _LOCALE.set(locale_of(translations))
    try:
        yield _LOCALE.get()
    finally:
        _LOCALE.reset(t2)
        _TRANSLATIONS.reset(t1)
