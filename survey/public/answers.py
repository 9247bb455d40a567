"""From a validated citizen form to the answer rows to store (one row per answered question).

Demographic answers are kept only when the consent question is answered yes (Decree
13/2023/NĐ-CP): without consent they are neither validated nor stored.
"""
from __future__ import annotations

from forms.citizen import NA, CitizenFormBase, MultiCheck, field_name
from survey.models import SurveyVersion
from survey.services.question_bank import CONSENT_CODE, DEMOGRAPHIC_CODES
from survey.services.responses import AnswerValue

CONSENT_YES = "1"


def drop_demographics_without_consent(form: CitizenFormBase, version: SurveyVersion) -> None:
    """Forget demographic answers unless consent is yes; call before validating."""
    consent = field_name(CONSENT_CODE)
    if consent in form and form[consent].data == CONSENT_YES:
        return
    for q in version.questions:
        if q.code in DEMOGRAPHIC_CODES and field_name(q.code) in form:
            field = form[field_name(q.code)]
            field.data = [] if isinstance(field, MultiCheck) else None
            field.raw_data = []


def collect(form: CitizenFormBase, version: SurveyVersion) -> tuple[AnswerValue, ...]:
    answers = []
    for q in version.questions:
        field = form[field_name(q.code)]
        raw = field.data
        if raw in (None, "", []):
            continue
        if raw == NA:
            answers.append(AnswerValue(q.id, na=True))
        elif q.type in ("likert5", "yesno"):
            answers.append(AnswerValue(q.id, value_int=int(raw)))
        elif isinstance(field, MultiCheck):
            answers.append(AnswerValue(q.id, value_text=";".join(field.codes())))
        else:
            answers.append(AnswerValue(q.id, value_text=raw))
    return tuple(answers)
