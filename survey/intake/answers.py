"""From a validated citizen form to the answer rows to store (one row per answered question).

Demographic answers are kept only when the consent question is answered yes (Decree
13/2023/NĐ-CP): without consent they are neither validated nor stored.

`quick_check` reads a well-formed submission straight from the posted fields, without building
the WTForms form; it answers None whenever anything is missing, odd or invalid, and the view then
runs the WTForms form, which alone decides what is wrong and says so in Vietnamese. So the quick
check may only ever accept what the form accepts, with the same values (tests/intake/test_public_fast.py
compares the two on generated submissions).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal

from forms.citizen import (
    DOSSIER_PATTERN,
    IDEMPOTENCY_PATTERN,
    NA,
    CitizenFormBase,
    MultiCheck,
    clean_text,
    field_name,
)
from survey.catalog.instrument import SERVICE_FIELDS
from survey.catalog.question_bank import CONSENT_CODE, DEMOGRAPHIC_CODES
from survey.intake.responses import AnswerValue

CONSENT_YES = "1"
CONSENT_NAME = field_name(CONSENT_CODE)
SERVICE_FIELD_CODES = frozenset(code for code, _vi, _en in SERVICE_FIELDS)
LIKERT = frozenset("12345")
YESNO = frozenset("10")
_IDEM = re.compile(IDEMPOTENCY_PATTERN)
_VERSION = re.compile(r"[0-9]{1,10}")
_DOSSIER = re.compile(DOSSIER_PATTERN)
DEFAULT_TEXT_LIMIT = 1000


def drop_demographics_without_consent(form: CitizenFormBase, version) -> None:
    """Forget demographic answers unless consent is yes; call before validating."""
    consent = field_name(CONSENT_CODE)
    if consent in form and form[consent].data == CONSENT_YES:
        return
    for q in version.questions:
        if q.code in DEMOGRAPHIC_CODES and field_name(q.code) in form:
            field = form[field_name(q.code)]
            field.data = [] if isinstance(field, MultiCheck) else None
            field.raw_data = []


def collect(form: CitizenFormBase, version) -> tuple[AnswerValue, ...]:
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


@dataclass(frozen=True)
class Checked:
    """A submission that passed every check, as it will be stored."""

    idempotency_key: str
    answers: tuple[AnswerValue, ...]
    service_field: str | None
    dossier_code: str | None


def posted_version(formdata) -> int | None:
    """The version id the form carried, when it is well formed."""
    value = formdata.get("version")
    if value is None or not _VERSION.fullmatch(value):
        return None
    number = int(value)
    return number if number < 2**31 else None


def first_value(values, name: str) -> str | None:
    """The first value under `name` in a werkzeug MultiDict (form, query string, cookies), or None.

    MultiDict.get finds a missing key by raising and catching werkzeug's BadRequestKeyError, an
    HTTPException whose construction costs more than the lookup (several a citizen's request:
    `lang`, `c`, the cookies a new phone does not have yet); a membership test costs nothing."""
    if name not in values:
        return None
    found = values.getlist(name)
    return found[0] if found else None


def _choice_answer(q, raw: str | None) -> AnswerValue | None | Literal[False]:
    """The answer of a one-choice question; None when unanswered; False when not clearly valid."""
    if raw is None or raw == "":
        return False if q.required else None
    if q.type == "likert5":
        allowed = raw in LIKERT or (q.allows_na and raw == NA)
    elif q.type == "yesno":
        allowed = raw in YESNO or (q.allows_na and raw == NA)
    else:
        allowed = raw in q.choice_values
    if not allowed:
        return False
    if raw == NA:
        return AnswerValue(q.id, na=True)
    if q.type in ("likert5", "yesno"):
        return AnswerValue(q.id, value_int=int(raw))
    return AnswerValue(q.id, value_text=raw)


def _multi_answer(q, values: list[str]) -> AnswerValue | None | Literal[False]:
    if not values:
        return False if q.required else None
    ticked = set(values)
    if len(ticked) != len(values) or not ticked <= set(q.choice_values):
        return False
    return AnswerValue(q.id, value_text=";".join(v for v in q.choice_values if v in ticked))


def _text_answer(q, raw: str | None) -> AnswerValue | None | Literal[False]:
    data = clean_text(raw)
    if not data:
        return False if q.required else None
    if len(data) > (q.max_length or DEFAULT_TEXT_LIMIT):
        return False
    if data == NA:  # what collect() does with a comment that reads "na"
        return AnswerValue(q.id, na=True)
    return AnswerValue(q.id, value_text=data)


def quick_check(formdata, version) -> Checked | None:
    """The submission as it will be stored, or None: then the WTForms form must decide.

    CSRF is not checked here (the view does, with Flask-WTF's own function).
    """
    idem = formdata.get("idem")
    if idem is None or not _IDEM.fullmatch(idem) or posted_version(formdata) is None:
        return None
    consent = any(q.code == CONSENT_CODE for q in version.questions) and \
        first_value(formdata, CONSENT_NAME) == CONSENT_YES
    answers: list[AnswerValue] = []
    for q in version.questions:
        if q.code in DEMOGRAPHIC_CODES and not consent:
            continue
        name = field_name(q.code)
        if q.type in ("likert5", "yesno", "choice"):
            answer = _choice_answer(q, first_value(formdata, name))
        elif q.type == "multi":
            answer = _multi_answer(q, formdata.getlist(name))
        else:
            answer = _text_answer(q, first_value(formdata, name))
        if answer is False:
            return None
        if answer is not None:
            answers.append(answer)
    service_field = first_value(formdata, "service_field")
    if service_field == "":
        service_field = None
    elif service_field is not None and service_field not in SERVICE_FIELD_CODES:
        return None
    dossier = first_value(formdata, "dossier_code")
    dossier = dossier.strip() if dossier is not None else None
    if dossier and not _DOSSIER.fullmatch(dossier):
        return None
    return Checked(idem, tuple(answers), service_field, dossier or None)


FINGERPRINTED = ("likert5", "yesno", "choice")


def answers_fingerprint(answers: tuple[AnswerValue, ...], questions) -> str:
    """A stable hash of the closed answers (likert, yes/no, one choice), free text left out.

    Two submissions with the same ticks get the same fingerprint, whatever order the answers came
    in: the stuffing rules spot a run of identical patterns at one counter with it. Comments are
    left out, so a stuffer cannot dodge by varying one, and nobody's words go into the rules.
    """
    kinds = {q.id: q.type for q in questions}
    closed = sorted(
        ((a.question_id, a.value_int, a.value_text if kinds[a.question_id] == "choice" else None, a.na)
         for a in answers if kinds.get(a.question_id) in FINGERPRINTED),
        key=lambda item: item[0],
    )
    return hashlib.sha256(json.dumps(closed, separators=(",", ":")).encode()).hexdigest()[:32]
