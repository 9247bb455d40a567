"""The empty citizen form, rendered once per questionnaire and language, filled in per request.

Rendering ~150 radio inputs through WTForms and Jinja is most of the cost of opening a form. The
page is rendered with markers in place of what differs between requests (the CSRF token, the
idempotency key) and between counters (the unit's and the counter's names), cut at the markers,
and kept. Each request joins the pieces with its own values, escaped as Jinja would.

The key is everything else the template reads: the version's questions themselves (not just its
id, so an unfrozen version edited in place gets a new page), the language, whether the place is a
counter, and the survey's title, kind, purpose and privacy line. A change to any of these makes a
new key, so nothing is ever invalidated by hand. Entries are per application (per worker), few
(questionnaires × 2 languages × 2 kinds of place) and bounded.
"""
from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app
from markupsafe import escape

PAGE_CACHE_SIZE = 128
_NONCE = secrets.token_hex(8)
MARKERS = {name: f"@@{name}-{_NONCE}@@" for name in ("csrf", "idem", "unit", "counter")}
_SPLIT = re.compile("(" + "|".join(re.escape(m) for m in MARKERS.values()) + ")")
_NAME_OF = {marker: name for name, marker in MARKERS.items()}


@dataclass(frozen=True)
class Page:
    """Literal HTML pieces; odd positions name the value that goes there."""

    pieces: tuple[str, ...]

    @classmethod
    def cut(cls, html: str) -> Page:
        pieces = _SPLIT.split(html)
        return cls(tuple(_NAME_OF[p] if i % 2 else p for i, p in enumerate(pieces)))

    def fill(self, **values: str) -> str:
        safe = {name: str(escape(value)) for name, value in values.items()}
        return "".join(safe[p] if i % 2 else p for i, p in enumerate(self.pieces))


def _pages() -> OrderedDict:
    return current_app.extensions.setdefault("citizen_pages", OrderedDict())


def get(key: tuple) -> Page | None:
    pages = _pages()
    page = pages.get(key)
    if page is not None:
        try:
            pages.move_to_end(key)
        except KeyError:  # evicted meanwhile by another thread: still a good page
            pass
    return page


def put(key: tuple, html: str) -> Page:
    pages = _pages()
    page = pages[key] = Page.cut(html)
    while len(pages) > PAGE_CACHE_SIZE:
        pages.popitem(last=False)
    return page
