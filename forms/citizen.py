"""The citizen form, generated from a survey version's question list.

Field names are derived from stable question codes ("A1.1" → "q_A1_1"), so a form posted against
one version is read against that version's questions and nothing else: unknown names are ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

NA = "na"
IDEMPOTENCY_PATTERN = r"^[0-9a-f]{32}$"
DOSSIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9./_-]{2,39}$"


def field_name(code: str) -> str:
    return "q_" + re.sub(r"[^A-Za-z0-9]", "_", code)


# Invisible control characters are never what a citizen meant to write (a stray paste, a broken
# keyboard app): NUL cannot be stored by PostgreSQL, and spreadsheets refuse the others. They are
# dropped from free text, like the surrounding spaces; tab and line breaks stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def clean_text(value):
    return _CONTROL.sub("", value).strip() if isinstance(value, str) else value


class ChoiceRadio(RadioField):
    """A radio group whose errors are in the citizen's language, never WTForms' English.

    `qtype` (likert5, yesno, choice) tells the template which layout to draw.
    """

    def __init__(self, *args, required: bool = False, qtype: str = "likert5", **kwargs):
        super().__init__(*args, validate_choice=False, **kwargs)
        self.is_required = required
        self.qtype = qtype

    def process_formdata(self, valuelist):
        # Keep the raw value (even "abc") so a re-shown form can mark it; validation decides.
        self.data = valuelist[0] if valuelist else None

    def pre_validate(self, form):
        if self.data in (None, ""):
            self.data = None
            if self.is_required:
                raise ValidationError(_l("Vui lòng chọn một mức đánh giá.") if self.qtype == "likert5"
                                      else _l("Vui lòng chọn một phương án."))
            return
        if self.data not in {value for value, _label in self.choices}:
            raise ValidationError(_l("Lựa chọn không hợp lệ, vui lòng chọn lại."))


class MultiCheck(SelectMultipleField):
    """Checkboxes for a multiple-choice question; stored as the choice codes joined by ";"."""

    def __init__(self, *args, required: bool = False, **kwargs):
        super().__init__(*args, validate_choice=False, **kwargs)
        self.is_required = required
        self.qtype = "multi"

    def process_formdata(self, valuelist):
        self.data = list(valuelist)

    def pre_validate(self, form):
        if not self.data:
            self.data = []
            if self.is_required:
                raise ValidationError(_l("Vui lòng chọn ít nhất một phương án."))
            return
        allowed = {value for value, _label in self.choices}
        if len(set(self.data)) != len(self.data) or not set(self.data) <= allowed:
            raise ValidationError(_l("Lựa chọn không hợp lệ, vui lòng chọn lại."))

    def codes(self) -> list[str]:
        """The ticked codes in the order the options are shown, whatever order the browser sent."""
        ticked = set(self.data or ())
        return [value for value, _label in self.choices if value in ticked]


LIKERT_LABELS = (
    ("1", _l("Rất không hài lòng")),
    ("2", _l("Không hài lòng")),
    ("3", _l("Bình thường")),
    ("4", _l("Hài lòng")),
    ("5", _l("Rất hài lòng")),
)


@dataclass(frozen=True)
class QuestionView:
    """What the form needs of a Question: plain values, so form classes can be cached."""

    code: str
    component: str | None
    text: str
    type: str
    required: bool
    allows_na: bool
    choices: tuple[tuple[str, str], ...]
    max_length: int | None

    @property
    def name(self) -> str:
        return field_name(self.code)


class CitizenFormBase(FlaskForm):
    idem = HiddenField(validators=[Regexp(IDEMPOTENCY_PATTERN)])
    version = HiddenField(validators=[Regexp(r"^[0-9]{1,10}$")])
    service_field = SelectField(_l("Lĩnh vực thủ tục Ông/Bà vừa thực hiện"), validators=[Optional()],
                                validate_choice=False)
    dossier_code = StringField(
        _l("Mã hồ sơ (không bắt buộc)"),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Regexp(DOSSIER_PATTERN, message=_l("Mã hồ sơ chỉ gồm chữ, số và các dấu . / - _ (3–40 ký tự).")),
        ],
    )

    # Optional, always on the form; it opens a feedback case only with a 1-2 rating or a comment
    # (survey/feedback/intake.py reads it from the posted fields, on every path).
    reply = BooleanField(_l("Tôi muốn được trả lời"))

    def validate_service_field(self, field: Field) -> None:
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Lựa chọn không hợp lệ, vui lòng chọn lại."))


def _question_field(q: QuestionView) -> Field:
    if q.type == "likert5":
        choices = list(LIKERT_LABELS) + ([(NA, _l("Không áp dụng / không biết"))] if q.allows_na else [])
        return ChoiceRadio(q.text, choices=choices, required=q.required)
    if q.type == "yesno":
        choices = [("1", _l("Có")), ("0", _l("Không"))]
        choices += [(NA, _l("Không áp dụng / không biết"))] if q.allows_na else []
        return ChoiceRadio(q.text, choices=choices, required=q.required, qtype="yesno")
    if q.type == "choice":
        return ChoiceRadio(q.text, choices=list(q.choices), required=q.required, qtype="choice")
    if q.type == "multi":
        return MultiCheck(q.text, choices=list(q.choices), required=q.required)
    limit = q.max_length or 1000
    return TextAreaField(
        q.text,
        filters=[clean_text],
        validators=[
            DataRequired(_l("Vui lòng trả lời câu hỏi này.")) if q.required else Optional(),
            Length(max=limit, message=_l("Ý kiến dài quá %(n)s ký tự, vui lòng rút gọn.", n=limit)),
        ],
    )


@lru_cache(maxsize=256)
def citizen_form_class(questions: tuple[QuestionView, ...], fields: tuple[tuple[str, str], ...]) -> type:
    """A form class for one version and language (cached: building classes per request is waste)."""
    attrs: dict[str, Field] = {q.name: _question_field(q) for q in questions}
    cls: Any = type("CitizenForm", (CitizenFormBase,), attrs)
    cls.service_field_choices = [("", _l("— Chọn lĩnh vực (không bắt buộc) —"))] + list(fields)
    return cls


def build_citizen_form(questions: tuple[QuestionView, ...], fields: tuple[tuple[str, str], ...],
                       **kwargs) -> CitizenFormBase:
    form = citizen_form_class(questions, fields)(**kwargs)
    form.service_field.choices = form.service_field_choices
    return form
