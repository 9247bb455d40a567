"""Opening a case from the citizen form, right after the response is stored.

The form always carries the optional box "Tôi muốn được trả lời" (field `reply`). It opens a case
only when the citizen also has something to be answered about: an item rated 1 or 2, or a
comment. Otherwise it is ignored, and a submission without the box costs nothing here (no query).

The case is its own row, written after the response's transaction, never in it, and nothing
joins the two (DESIGN.md §7; survey/models/loop.py): the case holds a copy of the low-rated item
codes and the comment, the unit, counter and survey, and the hour. A quarantined submission still
opens its case (a request for a reply is not a vote) and the case says nothing about it.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app, redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from survey.feedback import cases
from survey.intake.responses import AnswerValue

REPLY_FIELD = "reply"
LOW = (1, 2)


def wants_reply(formdata) -> bool:
    """The box is ticked (WTForms' BooleanField posts "y"; any non-empty value but "false")."""
    # `in` first: a MultiDict's get of a missing key raises and catches an HTTPException (nearly
    # every submission leaves the box unticked; survey.intake.answers.first_value).
    return REPLY_FIELD in formdata and formdata.get(REPLY_FIELD) not in (None, "", "false")


def what_to_answer(answers: tuple[AnswerValue, ...], questions) -> tuple[list[str], str | None]:
    """(codes of the likert items rated 1-2, in question order; the free-text answers joined)."""
    by_id = {q.id: q for q in questions}
    low, texts = [], []
    for a in answers:
        q = by_id.get(a.question_id)
        if q is None or a.na:
            continue
        if q.type == "likert5" and a.value_int in LOW:
            low.append(q.code)
        elif q.type == "text" and a.value_text:
            texts.append(a.value_text)
    order = {q.code: i for i, q in enumerate(questions)}
    low.sort(key=order.__getitem__)  # every low code is one of `questions`
    return low, "\n\n".join(texts) or None


def case_after_submission(formdata, answers: tuple[AnswerValue, ...], questions, *, unit_id: int,
                          counter_id: int | None, survey_id: int, now: datetime) -> cases.Opened | None:
    """The new case when the box is ticked and there is something to answer; else None.

    Never raises: the response is stored already, and a failed case must not turn the citizen's
    thank-you into an error page (they are told no link could be made).
    """
    if not wants_reply(formdata):
        return None
    low, message = what_to_answer(answers, questions)
    if not low and not message:
        return None
    try:
        return cases.open_case(unit_id=unit_id, counter_id=counter_id, survey_id=survey_id,
                               low_items=low, message=message, now=now,
                               due_days=current_app.config["CASE_DUE_DAYS"])
    except Exception:
        current_app.logger.exception("opening a feedback case failed; the response is stored")
        from survey.extensions import db

        db.session.rollback()
        return None


def redirect_to_case(formdata, answers: tuple[AnswerValue, ...], questions, *, unit_id: int,
                     counter_id: int | None, survey_id: int, now: datetime,
                     lang: str) -> WerkzeugResponse | None:
    """After a stored submission (counter form or dossier link): the new case's page, where the
    citizen reads the case code and the private link, or None when no case was asked for."""
    opened = case_after_submission(formdata, answers, questions, unit_id=unit_id,
                                   counter_id=counter_id, survey_id=survey_id, now=now)
    if opened is None:
        return None
    return redirect(url_for("case.show", token=opened.token, moi=1,
                            lang=lang if lang == "en" else None), code=303)
