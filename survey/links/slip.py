"""The receipt slip (phiếu hẹn / phiếu trả kết quả) with a dossier link's QR code: A6 or 80 mm.

One template (templates/links/slip.html) for the browser (print CSS) and the PDF, rendered with
analysis.report's environment and fonts, so Vietnamese diacritics come out the same on every
machine. A slip carries the unit, counter, procedure, the call to scan and the last day; nothing
about the person (the dossier code is not even known here: only its keyed hash is kept).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from markupsafe import Markup

from analysis.report.format_vi import format_date
from analysis.report.qr import qr_svg
from analysis.report.render import render_html, render_pdf
from survey.extensions import db
from survey.links.service import last_day, procedure_text
from survey.links.tokens import link_url
from survey.models import Counter, Unit
from survey.models.integrity import DossierLink

SIZES = {"a6": "A6", "80mm": "80 mm"}
DEFAULT_SIZE = "a6"
TEMPLATE = "links/slip.html"


@dataclass(frozen=True)
class Slip:
    unit_name: str
    counter_name: str | None
    procedure: str
    url: str
    last_day: date
    size: str  # a key of SIZES

    @property
    def last_day_text(self) -> str:
        return format_date(self.last_day)

    @property
    def qr_svg(self) -> str:
        """The QR code of the link as SVG markup (vector; sized by CSS class "qr")."""
        return qr_svg(self.url)


def slip_for(link: DossierLink, size: str = DEFAULT_SIZE) -> Slip:
    unit = cast(Unit, db.session.get(Unit, link.unit_id))  # a foreign key
    counter = db.session.get(Counter, link.counter_id) if link.counter_id else None
    return Slip(unit.name, counter.name if counter else None, procedure_text(link), link_url(link.id),
                last_day(link), size if size in SIZES else DEFAULT_SIZE)


def _context(slip: Slip, pdf: bool, pdf_url: str | None) -> dict:
    return {"slip": slip, "qr": Markup(slip.qr_svg), "pdf": pdf, "pdf_url": pdf_url}


def slip_html(slip: Slip, pdf_url: str | None = None) -> str:
    """The slip as a page to print from the browser (the toolbar is not printed)."""
    return render_html(TEMPLATE, **_context(slip, False, pdf_url))


def slip_pdf(slip: Slip) -> bytes:
    return render_pdf(TEMPLATE, **_context(slip, True, None))
