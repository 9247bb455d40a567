"""The SIPAS question bank for thematic surveys (khảo sát chuyên đề), DESIGN.md §4.

Group A items are the standing instrument's own specs (imported, never copied, so a wording fix
reaches both). Group B items ask about one policy area; their codes (B1.1 …) are stable whatever
the area, and the area is named in the wording, so analysis can compare areas item by item.
Demographic questions sit behind a consent question and are stored only when it is answered yes
(Decree 13/2023/NĐ-CP).
"""
from __future__ import annotations

from dataclasses import dataclass

from survey.catalog.instrument import COMPONENTS, SIPAS_STANDING, QuestionSpec

# (code, Vietnamese name as used inside a sentence, English name)
POLICY_AREAS: tuple[tuple[str, str, str], ...] = (
    ("kinh-te", "kinh tế", "the economy"),
    ("y-te", "y tế", "health care"),
    ("giao-duc", "giáo dục", "education"),
    ("an-ninh-trat-tu", "an ninh trật tự", "public order"),
    ("giao-thong", "giao thông", "transport"),
    ("dien", "điện", "electricity"),
    ("nuoc-sach", "nước sạch", "clean water"),
    ("an-sinh-xa-hoi", "an sinh xã hội", "social security"),
    ("cai-cach-hanh-chinh", "cải cách hành chính", "administrative reform"),
)
AREA_NAMES = {code: (vi, en) for code, vi, en in POLICY_AREAS}

B_COMPONENTS: dict[str, tuple[str, str]] = {
    "B1": ("Cung cấp thông tin về chính sách", "Information on the policy"),
    "B2": ("Tham gia góp ý chính sách", "Taking part and giving opinions"),
    "B3": ("Phản hồi về kết quả thực hiện chính sách", "Feedback on the policy's results"),
}

# (code, Vietnamese template, English template); {area} is the policy area's name.
_B_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("B1.1", "Thông tin về chính sách {area} được cung cấp đầy đủ, kịp thời",
     "Information on {area} policy is provided fully and in time"),
    ("B1.2", "Thông tin về chính sách {area} rõ ràng, dễ hiểu",
     "Information on {area} policy is clear and easy to understand"),
    ("B2.1", "Người dân có cơ hội tham gia góp ý khi xây dựng chính sách {area}",
     "People have a chance to take part and give opinions when {area} policy is made"),
    ("B2.2", "Việc góp ý về chính sách {area} dễ thực hiện, qua nhiều hình thức",
     "Giving opinions on {area} policy is easy, through several channels"),
    ("B3.1", "Ý kiến phản ánh về kết quả, tác động của chính sách {area} được tiếp nhận",
     "Feedback on the results and effects of {area} policy is received"),
    ("B3.2", "Ý kiến phản ánh về chính sách {area} được trả lời đầy đủ, kịp thời",
     "Feedback on {area} policy is answered fully and in time"),
)
B_CODES: tuple[str, ...] = tuple(code for code, _vi, _en in _B_ITEMS)

GROUP_A: tuple[QuestionSpec, ...] = tuple(
    s for s in SIPAS_STANDING if s.component in COMPONENTS
)
A_CODES: tuple[str, ...] = tuple(s.code for s in GROUP_A)
_OVERALL = next(s for s in SIPAS_STANDING if s.code == "OVERALL")
_COMMENT = next(s for s in SIPAS_STANDING if s.code == "COMMENT")

# Demographics: component "DEMO" keeps them out of every satisfaction index.
DEMO = "DEMO"
CONSENT_CODE = "CONSENT"


def _choices(*options: tuple[str, str, str]) -> tuple:
    # The same key order as instrument._spec_of reads back from the database, so an unchanged
    # questionnaire compares equal and publish_questions() makes no new version.
    return tuple((("value", v), ("vi", vi), ("en", en)) for v, vi, en in options)


DEMOGRAPHICS: tuple[QuestionSpec, ...] = (
    QuestionSpec(
        CONSENT_CODE, DEMO,
        "Ông/Bà có đồng ý cho biết nhóm tuổi, giới tính và khu vực sinh sống để phục vụ thống kê "
        "không? Các thông tin này không dùng để xác định Ông/Bà là ai.",
        "Do you agree to tell us your age group, sex and area of residence, for statistics only? "
        "They are never used to identify you.",
        type="yesno",
    ),
    QuestionSpec("AGE", DEMO, "Nhóm tuổi", "Age group", type="choice", choices=_choices(
        ("18-29", "Từ 18 đến 29 tuổi", "18 to 29"),
        ("30-44", "Từ 30 đến 44 tuổi", "30 to 44"),
        ("45-59", "Từ 45 đến 59 tuổi", "45 to 59"),
        ("60+", "Từ 60 tuổi trở lên", "60 or over"),
    )),
    QuestionSpec("SEX", DEMO, "Giới tính", "Sex", type="choice", choices=_choices(
        ("nam", "Nam", "Male"), ("nu", "Nữ", "Female"), ("khac", "Khác", "Other"),
    )),
    QuestionSpec("AREA", DEMO, "Khu vực sinh sống", "Area of residence", type="choice", choices=_choices(
        ("thanh-thi", "Thành thị", "Urban"), ("nong-thon", "Nông thôn", "Rural"),
    )),
)
DEMOGRAPHIC_CODES = frozenset(s.code for s in DEMOGRAPHICS if s.code != CONSENT_CODE)

CUSTOM_TYPES = ("likert5", "yesno", "choice", "multi", "text")
# What a yes/no answer (stored 1 / 0) reads as in reports and exports.
YES_NO_LABELS: tuple[tuple[str, str], ...] = (("1", "Có"), ("0", "Không"))


@dataclass(frozen=True)
class CustomQuestion:
    """A question the analyst writes; `code` is kept across edits so analysis can join on it."""

    code: str
    type: str
    text_vi: str
    text_en: str = ""
    # (Vietnamese, English) labels; choice codes are their positions "1", "2", …
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False


def group_b(area: str, codes: tuple[str, ...] | list[str] = B_CODES) -> tuple[QuestionSpec, ...]:
    """Group B items for `area` (a POLICY_AREAS code), in bank order."""
    vi, en = AREA_NAMES[area]
    return tuple(
        QuestionSpec(code, code.split(".")[0], tvi.format(area=vi), ten.format(area=en),
                     required=True, allows_na=True)
        for code, tvi, ten in _B_ITEMS
        if code in codes
    )


def b_preview(lang: str = "vi") -> tuple[tuple[str, str, str], ...]:
    """(code, component, wording with "…" for the area): for choosing items before the area."""
    return tuple((code, code.split(".")[0], (en if lang == "en" else vi).format(area="…"))
                 for code, vi, en in _B_ITEMS)


def overall(area: str | None) -> QuestionSpec:
    if area is None:
        return _OVERALL
    vi, en = AREA_NAMES[area]
    return QuestionSpec(
        "OVERALL", "OVERALL",
        f"Nhìn chung, Ông/Bà hài lòng ở mức nào với việc xây dựng và thực hiện chính sách {vi}?",
        f"Overall, how satisfied are you with how {en} policy is made and carried out?",
        required=True,
    )


def custom_spec(q: CustomQuestion) -> QuestionSpec:
    choices = None
    if q.type in ("choice", "multi"):
        choices = _choices(*((str(i), vi, en or vi) for i, (vi, en) in enumerate(q.choices, start=1)))
    return QuestionSpec(
        q.code, None, q.text_vi, q.text_en, type=q.type, required=q.required,
        choices=choices, max_length=1000 if q.type == "text" else None,
    )


def campaign_specs(a_codes: tuple[str, ...] | list[str], area: str | None,
                   b_codes: tuple[str, ...] | list[str], custom: tuple[CustomQuestion, ...] | list[CustomQuestion],
                   demographics: bool) -> tuple[QuestionSpec, ...]:
    """The questionnaire of a campaign, in the order a citizen reads it.

    A items, B items, custom questions, overall satisfaction, comment, then the consent question
    and demographics (last, so a citizen who declines has already given every opinion).
    """
    specs: list[QuestionSpec] = [s for s in GROUP_A if s.code in set(a_codes)]
    if area is not None:
        specs += group_b(area, tuple(b_codes))
    specs += [custom_spec(q) for q in custom]
    specs += [overall(area), _COMMENT]
    if demographics:
        specs += DEMOGRAPHICS
    return tuple(specs)


def section_titles() -> dict[str, tuple[str, str]]:
    """Headings of the citizen form's sections, by component."""
    return {**COMPONENTS, **B_COMPONENTS, "OVERALL": ("Đánh giá chung", "Overall"),
            DEMO: ("Thông tin về người trả lời (không bắt buộc)", "About you (optional)")}
