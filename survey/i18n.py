"""The English catalogue: extract, update and compile in one step (`flask i18n update`).

Vietnamese is the source language; translations/en/LC_MESSAGES/messages.po holds English. The
.po is written sorted by msgid, without source locations and with a fixed header, so two
branches that add strings merge without line-number churn. No .pot is kept: the template is
extracted in memory each time, and tests/test_translations.py compares it with the .po.

No Flask here except the click group at the bottom: analysis/report/render.py takes the
`translations()` object from its caller (the reports routes, `flask report --lang`).
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from survey.config import ROOT

TRANSLATIONS = ROOT / "translations"
LOCALES = ("en",)
# `_l` is lazy_gettext (forms); `N_` marks a string for extraction where it is defined (analysis/
# has no gettext) and it is translated where it is shown: gettext(value) in a template.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}


def po_path(locale: str = "en") -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def mo_path(locale: str = "en") -> Path:
    return po_path(locale).with_suffix(".mo")


def extract(root: Path = ROOT) -> Catalog:
    """Every wrapped string in the code and templates babel.cfg names, as a template catalogue."""
    with open(root / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    template = Catalog(project="khaosat", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",),
            strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, no_location=True, sort_output=True, ignore_obsolete=True, width=100,
             include_previous=False)
    return out.getvalue()


def _stable_header(catalog: Catalog) -> None:
    # Dates in the header change on every run and conflict on every merge: fix them.
    catalog.project, catalog.version = "khaosat", "1"
    catalog.msgid_bugs_address = ""
    catalog.copyright_holder = ""
    catalog.last_translator = "khaosat"
    catalog.language_team = "en"
    catalog.fuzzy = False
    catalog.creation_date = catalog.revision_date = datetime(2026, 1, 1, tzinfo=timezone.utc)


def load_po(locale: str = "en") -> Catalog:
    with open(po_path(locale), "rb") as f:
        return read_po(f, locale=locale)


def updated_catalog(locale: str = "en", root: Path = ROOT) -> Catalog:
    """The .po merged with a fresh extraction: new strings empty, vanished ones dropped."""
    catalog = load_po(locale)
    catalog.update(extract(root), no_fuzzy_matching=True, update_header_comment=False)
    _stable_header(catalog)
    return catalog


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(locale: str = "en") -> tuple[int, int]:
    """Extract, update the .po, compile the .mo. Returns (messages, untranslated)."""
    catalog = updated_catalog(locale)
    po_path(locale).write_bytes(_po_bytes(catalog))
    # Read back what was written, so the .mo is exactly the compiled .po (the test compares them).
    written = load_po(locale)
    mo_path(locale).write_bytes(mo_bytes(written))
    todo = sum(1 for m in written if m.id and not m.string)
    return len([m for m in written if m.id]), todo


@dataclass(frozen=True)
class Problems:
    untranslated: list[str]
    fuzzy: list[str]
    missing: list[str]   # wrapped in code or templates, absent from the .po
    obsolete: list[str]  # in the .po, no longer in code or templates
    mo_stale: bool

    def __bool__(self) -> bool:
        return bool(self.untranslated or self.fuzzy or self.missing or self.obsolete
                    or self.mo_stale)


def problems(locale: str = "en", root: Path = ROOT) -> Problems:
    """What `flask i18n check` and tests/test_translations.py report."""
    catalog = load_po(locale)
    ids = {m.id for m in catalog if m.id}
    wanted = {m.id for m in extract(root) if m.id}

    def key(i: object) -> str:
        return i if isinstance(i, str) else str(i[0])  # type: ignore[index]

    untranslated = sorted(key(m.id) for m in catalog if m.id and (
        not m.string or (isinstance(m.string, tuple) and not all(m.string))))
    fuzzy = sorted(key(m.id) for m in catalog if m.id and m.fuzzy)
    mo_stale = not mo_path(locale).exists() or mo_path(locale).read_bytes() != mo_bytes(catalog)
    return Problems(untranslated, fuzzy, sorted(key(i) for i in wanted - ids),
                    sorted(key(i) for i in ids - wanted), mo_stale)


_FORCED: ContextVar[str | None] = ContextVar("forced_lang", default=None)


def current_lang() -> str:
    """The reader's language: a report's explicit choice (`using`), else the request's locale
    (Flask-Babel's selector), else Vietnamese (CLI, jobs)."""
    forced = _FORCED.get()
    if forced is not None:
        return forced
    from flask import has_request_context
    from flask_babel import get_locale

    return "en" if has_request_context() and str(get_locale()) == "en" else "vi"


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Build data (item wordings, component names, labels) in `lang` whatever the request's."""
    token = _FORCED.set("en" if lang == "en" else "vi")
    try:
        yield _FORCED.get() or "vi"
    finally:
        _FORCED.reset(token)


def translations(lang: str | None) -> NullTranslations:
    """gettext for a report rendered outside a request (PDFs, `flask report --lang en`)."""
    if lang in LOCALES:
        return Translations.load(str(TRANSLATIONS), [str(lang)])
    return NullTranslations()


@click.group("i18n")
def i18n_command() -> None:
    """English catalogue: `flask i18n update` (extract + update + compile), `flask i18n check`."""


@i18n_command.command("update")
def update_command() -> None:
    """Extract every wrapped string, update translations/*/messages.po (sorted, no locations)
    and compile the .mo. New strings come in untranslated: translate them, run again."""
    for locale in LOCALES:
        total, todo = update(locale)
        click.echo(f"{locale}: {total} messages, {todo} untranslated")


@i18n_command.command("check")
def check_command() -> None:
    """Exit 1 when a string is untranslated, fuzzy, missing from or stale in the catalogue."""
    bad = False
    for locale in LOCALES:
        found = problems(locale)
        for name in ("untranslated", "fuzzy", "missing", "obsolete"):
            for msgid in getattr(found, name):
                click.echo(f"{locale} {name}: {msgid!r}")
        if found.mo_stale:
            click.echo(f"{locale}: messages.mo is not the compiled messages.po")
        bad = bad or bool(found)
    if bad:
        raise SystemExit(1)


if __name__ == "__main__":  # `python -m survey.i18n update`: no app, no keys needed (./dev i18n)
    i18n_command()
