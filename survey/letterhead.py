"""A unit's letterhead: its settings (admin unit form), or sensible values from its name and parent.

The one builder of analysis.report.letterhead.Letterhead: the unit and province reports (PDF and
Word) and the QR posters all take their heading from here.
"""
from __future__ import annotations

import unicodedata

from analysis.report.letterhead import Letterhead
from survey.models import Unit

# People's committees issue in their own name and have no cơ quan chủ quản line (Nghị định
# 30/2020/NĐ-CP, Phụ lục I, mẫu 1.x: "ỦY BAN NHÂN DÂN XÃ ..." alone).
COMMITTEE_KINDS = frozenset({"province", "commune", "ward"})
COMMITTEE = "Ủy ban nhân dân"
_PLACE_PREFIXES = ("thành phố ", "đặc khu ", "phường ", "tỉnh ", "xã ")
_SMALL_WORDS = frozenset({"tỉnh", "xã", "phường", "thành", "phố"})


def _lines(text: str | None) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def _committee_of(unit: Unit) -> str:
    """'Xã Yên Thủy' -> 'Ủy ban nhân dân xã Yên Thủy' (a name already saying so is kept)."""
    name = unit.name.strip()
    if name.lower().startswith(COMMITTEE.lower()) or name.upper().startswith("UBND"):
        return name
    return f"{COMMITTEE} {name[:1].lower()}{name[1:]}"


def _issuer_name(unit: Unit) -> str:
    if unit.letterhead_issuer and unit.letterhead_issuer.strip():
        return unit.letterhead_issuer.strip()
    return _committee_of(unit) if unit.kind in COMMITTEE_KINDS else unit.name.strip()


def _place_of(unit: Unit) -> str:
    """The địa danh: the commune's or province's own name without 'Xã', 'Tỉnh', ..."""
    if unit.letterhead_place and unit.letterhead_place.strip():
        return unit.letterhead_place.strip()
    while unit.kind not in COMMITTEE_KINDS and unit.parent is not None:
        unit = unit.parent
    name = unit.name.strip()
    for prefix in _PLACE_PREFIXES:
        if name.lower().startswith(prefix):
            return name[len(prefix):].strip()
    return name


def _ascii_initial(word: str) -> str:
    letter = unicodedata.normalize("NFD", word[:1].replace("Đ", "D").replace("đ", "d"))[:1]
    return letter.upper()


def _symbol(unit: Unit) -> str:
    if unit.letterhead_symbol and unit.letterhead_symbol.strip():
        return unit.letterhead_symbol.strip()
    if unit.kind in COMMITTEE_KINDS:
        return "UBND"
    # "Trung tâm Phục vụ hành chính công tỉnh" -> "TTPVHCC", "Sở Nội vụ" -> "SNV".
    words = [w for w in unit.name.split() if w.lower() not in _SMALL_WORDS and w[:1].isalpha()]
    return "".join(_ascii_initial(w) for w in words) or unit.code


def _signer(unit: Unit) -> tuple[str, ...]:
    typed = _lines(unit.letterhead_signer)
    if typed:
        return typed
    if unit.kind in COMMITTEE_KINDS:
        return (f"TM. {COMMITTEE}", "Chủ tịch")
    return ("Giám đốc",)


HOME_AFFAIRS = ("Sở Nội vụ", "SNV", ("Giám đốc",))


def letterhead_for(unit: Unit) -> Letterhead:
    """The letterhead `unit` issues its reports under.

    The province (the root unit) issues the province report, which is Sở Nội vụ's document: its
    defaults are Sở Nội vụ under the provincial People's Committee; the admin form overrides them.
    """
    root_default = unit.parent is None and not (unit.letterhead_issuer or "").strip()
    if unit.letterhead_parent and unit.letterhead_parent.strip():
        parent = unit.letterhead_parent.strip()
    elif root_default:
        parent = _committee_of(unit)
    elif unit.kind in COMMITTEE_KINDS or unit.parent is None:
        parent = ""
    else:
        parent = _issuer_name(unit.parent)
    issuer, symbol, signer = (HOME_AFFAIRS if root_default
                              else (_issuer_name(unit), _symbol(unit), _signer(unit)))
    if (unit.letterhead_symbol or "").strip():
        symbol = _symbol(unit)
    if _lines(unit.letterhead_signer):
        signer = _signer(unit)
    recipients = _lines(unit.letterhead_recipients) or (
        ("- Bộ Nội vụ;", "- Ủy ban nhân dân tỉnh;") if unit.parent is None else ("- Sở Nội vụ;",)
    ) + ("- Lưu: VT.",)
    return Letterhead(issuer=issuer, parent_body=parent, symbol=symbol, place=_place_of(unit),
                      signer_title=signer, recipients=recipients)
