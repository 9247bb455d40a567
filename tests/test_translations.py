"""The English catalogue is complete and current (issue 14 item 5).

Fixing a failure here is one command, `./dev i18n` (README, "Translations"), then translating the
new msgstr "" entries in translations/en/LC_MESSAGES/messages.po and running it again.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from survey import i18n

ROOT = Path(__file__).resolve().parents[1]

# Vietnamese letters with diacritics (and đ): plain ASCII words like "SIPAS" are not flagged.
VIETNAMESE = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE)

# Vietnamese that stays Vietnamese in every language, with why. Keys are template paths, values
# substrings of the offending line.
ALLOWED_VIETNAMESE: dict[str, tuple[str, ...]] = {
    # The language switch names the other language in that language.
    "templates/officials/base.html": ("Tiếng Việt",),
    "templates/officials/_report_lang.html": ("Tiếng Việt",),
    "templates/feedback/case.html": ("Tiếng Việt",),
    "templates/public/form.html": ("Tiếng Việt",),
    # Citizen-facing, printed or public pages that other branches own and that stay Vietnamese for
    # now ("" allows every line): the dossier receipt slip and the public results page.
    "templates/links/slip.html": ("",),
    "templates/results/index.html": ("",),
    # Quốc hiệu and Tiêu ngữ of an administrative document (Nghị định 30/2020/NĐ-CP) are never
    # translated.
    "templates/reports/_macros.html": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                                       "Độc lập – Tự do – Hạnh phúc"),
}


def _problems() -> i18n.Problems:
    return i18n.problems("en", ROOT)


def _listed(msgids: list[str]) -> str:
    return "\n  ".join(repr(m) for m in msgids)


@pytest.fixture(scope="module")
def found() -> i18n.Problems:
    return _problems()


def test_every_entry_is_translated(found: i18n.Problems) -> None:
    assert not found.untranslated, (
        f"{len(found.untranslated)} untranslated msgids in messages.po:\n  "
        f"{_listed(found.untranslated)}")


def test_no_fuzzy_entries(found: i18n.Problems) -> None:
    assert not found.fuzzy, f"fuzzy msgids in messages.po (check, then drop the flag):\n  {_listed(found.fuzzy)}"


def test_catalogue_matches_code_and_templates(found: i18n.Problems) -> None:
    assert not found.missing, (
        "wrapped strings not in messages.po (run ./dev i18n and translate them):\n  "
        f"{_listed(found.missing)}")
    assert not found.obsolete, (
        "messages.po has strings no code or template uses any more (run ./dev i18n):\n  "
        f"{_listed(found.obsolete)}")


def test_mo_is_the_compiled_po(found: i18n.Problems) -> None:
    assert not found.mo_stale, "messages.mo differs from the compiled messages.po: run ./dev i18n"


def test_the_check_can_fail(tmp_path: Path) -> None:
    """The comparison sees a new wrapped string, an untranslated entry and a stale .mo."""
    (tmp_path / "babel.cfg").write_text("[python: **.py]\n")
    (tmp_path / "m.py").write_text('_("Xin chào")\n_("Tạm biệt")\n')
    po = tmp_path / "translations/en/LC_MESSAGES/messages.po"
    po.parent.mkdir(parents=True)
    catalog = Catalog(locale="en")
    catalog.add("Xin chào", "Hello")
    catalog.add("Cũ", "Old")
    catalog.add("Chưa dịch", "")
    from babel.messages.pofile import write_po
    with open(po, "wb") as f:
        write_po(f, catalog)
    original = i18n.TRANSLATIONS
    i18n.TRANSLATIONS = tmp_path / "translations"
    try:
        got = i18n.problems("en", tmp_path)
    finally:
        i18n.TRANSLATIONS = original
    assert got.missing == ["Tạm biệt"]
    assert got.obsolete == ["Chưa dịch", "Cũ"]
    assert got.untranslated == ["Chưa dịch"]
    assert got.mo_stale


def _strip_wrapped(text: str) -> str:
    """Blank out comments, {% trans %} blocks and _()/gettext() arguments, keeping line numbers."""
    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"\{#.*?#\}", blank, text, flags=re.S)
    text = re.sub(r"\{%-?\s*(?:trans|pluralize)\b.*?\{%-?\s*endtrans\s*-?%\}", blank, text, flags=re.S)
    return re.sub(r"\b(?:_|gettext|ngettext|pgettext)\(\s*(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')",
                  blank, text, flags=re.S)


def unwrapped_vietnamese(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted([*(root / "templates").rglob("*.html"), *(root / "templates").rglob("*.css")]):
        rel = path.relative_to(root).as_posix()
        allowed = ALLOWED_VIETNAMESE.get(rel, ())
        for number, line in enumerate(_strip_wrapped(path.read_text(encoding="utf-8")).splitlines(), 1):
            if VIETNAMESE.search(line) and not any(a in line for a in allowed):
                out.append(f"{rel}:{number}: {line.strip()[:120]}")
    return out


def test_no_unwrapped_vietnamese_in_templates() -> None:
    found = unwrapped_vietnamese()
    assert not found, ("Vietnamese text outside {{ _('...') }} / {% trans %} (wrap it, or add it to "
                       "ALLOWED_VIETNAMESE with the reason):\n  " + "\n  ".join(found))


def test_the_heuristic_sees_unwrapped_text() -> None:
    text = "<h1>{{ _('Báo cáo') }}</h1>\n<p>Chưa có dữ liệu</p>\n{% trans %}Kỳ {{ p }}{% endtrans %}"
    stripped = _strip_wrapped(text).splitlines()
    assert [bool(VIETNAMESE.search(line)) for line in stripped] == [False, True, False]
