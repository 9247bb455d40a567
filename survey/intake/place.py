"""Where a token leads, read in one query per request, and the questions of a version.

The citizen pages are the busiest in the application (every scan, every submission), so they do
not walk ORM relationships: one SELECT answers "which counter, unit, survey and current version,
and may this token open a form now", and the result is plain data. Nothing about a counter, a unit
or a survey's status is trusted from an earlier request: retiring a counter, rotating its QR code
or closing a survey takes effect on the very next request, in every worker. (A submission may
start from this worker's last lookup, `remembered`, because the statement that stores it checks
the counter and survey again: survey/intake/responses.py, CounterCheck.)

What is cached (per application, so per worker) is what cannot change: the questions of a frozen
version. A version is frozen by its first response and never edited again (a change makes a new
version, survey/catalog/instrument.py), so its questions are read once. An unfrozen version is
read on every request. The cache key includes the version's creation time, so a database that is
recreated under a running worker (new rows reusing old ids) does not meet stale entries.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, DateTime, Select, and_, bindparam, literal_column, or_, select

from survey.intake import citizen_connection
from survey.intake.tokens import CounterToken, UnitToken
from survey.models import CampaignTarget, Counter, Question, Survey, SurveyVersion, Unit

VERSION_CACHE_SIZE = 64


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str


@dataclass(frozen=True)
class CounterInfo:
    id: int
    name: str
    active: bool
    token_version: int


@dataclass(frozen=True)
class SurveyInfo:
    id: int
    kind: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    title_vi: str
    title_en: str | None
    purpose: str | None
    privacy_vi: str | None
    short_form: bool = False


@dataclass(frozen=True)
class VersionRef:
    """Enough of a SurveyVersion to store against it and to find its questions."""

    id: int
    survey_id: int
    frozen: bool
    created_at: datetime | None


@dataclass(frozen=True)
class Lookup:
    """What one token names, as found in the database (None where the row does not exist)."""

    unit: UnitInfo | None
    counter: CounterInfo | None
    survey: SurveyInfo | None
    version: VersionRef | None  # the survey's current version
    targeted: bool = False  # for a unit token: the campaign targets this unit
    survey_open: bool = False  # survey_open_clause, at the time asked
    opens: bool = False  # for a counter: counter_opens_clause (active, and its survey open)


# Core tables, not ORM entities: the rows come back as plain tuples without the ORM's work.
_counter = Counter.__table__
_unit = Unit.__table__
_survey = Survey.__table__
_target = CampaignTarget.__table__
_question = Question.__table__
_current = SurveyVersion.__table__.alias("current_version")
_later = SurveyVersion.__table__.alias("later_version")

_SURVEY_COLUMNS = tuple(_survey.c[name] for name in (
    "id", "kind", "status", "opens_at", "closes_at", "title_vi", "title_en", "purpose", "privacy_vi",
    "short_form"))
_VERSION_COLUMNS = (_current.c.id, _current.c.survey_id, _current.c.frozen, _current.c.created_at)


# The rules that decide whether a citizen's form opens, as SQL, so that the lookup that opens a
# form (lookup_counter, lookup_unit) and the statement that stores a submission from this worker's
# last lookup (survey/intake/responses.py, CounterCheck) read one definition. `now` is the request's
# time in UTC (SQLite keeps naive UTC; the bound value is written the same way).
NOW = bindparam("now", type_=DateTime(timezone=True))


def survey_open_clause(survey=_survey, now=NOW) -> ColumnElement[bool]:
    """The survey takes answers now: status open, and now within [opens_at, closes_at) where set
    (as survey.models.surveys.survey_is_open for an ORM Survey; tests compare the two)."""
    return and_(survey.c.status == "open",
                or_(survey.c.opens_at.is_(None), survey.c.opens_at <= now),
                or_(survey.c.closes_at.is_(None), survey.c.closes_at > now))


def counter_opens_clause(counter=_counter, survey=_survey, now=NOW) -> ColumnElement[bool]:
    """A counter's QR code opens its survey's form now: the counter is active and the survey open.
    (Which token version it takes is the caller's: a fresh lookup tells an old poster apart.)"""
    return and_(counter.c.active, survey_open_clause(survey, now))


def counter_unchanged_clause() -> ColumnElement[bool]:
    """The counter still opens the form as this worker last found it (responses.CounterCheck): the
    same unit, QR token version and short-form setting, and it opens the form now. Binds
    counter_id, survey_id, unit_id, token_version, short_form and now."""
    return and_(_counter.c.id == bindparam("counter_id"), _counter.c.unit_id == bindparam("unit_id"),
                _counter.c.token_version == bindparam("token_version"),
                _survey.c.short_form == bindparam("short_form"), counter_opens_clause())


# One row (ok) while counter_unchanged_clause holds, none otherwise: the store's gate.
COUNTER_UNCHANGED: Select[tuple[Any]] = (
    select(literal_column("1").label("ok"))
    .select_from(_counter.join(_survey, _survey.c.id == bindparam("survey_id")))
    .where(counter_unchanged_clause())
)


def _current_version_join():
    # The current version is the one with the highest number (Survey.current_version).
    newer = select(_later.c.id).where(_later.c.survey_id == _survey.c.id, _later.c.number > _current.c.number)
    return and_(_current.c.survey_id == _survey.c.id, ~newer.exists())


def _survey_and_version(row, offset: int) -> tuple[SurveyInfo | None, VersionRef | None]:
    survey_values = row[offset:offset + len(_SURVEY_COLUMNS)]
    version_values = row[offset + len(_SURVEY_COLUMNS):offset + len(_SURVEY_COLUMNS) + len(_VERSION_COLUMNS)]
    survey = SurveyInfo(*survey_values) if survey_values[0] is not None else None
    version = VersionRef(*version_values) if version_values[0] is not None else None
    return survey, version


# Built once: a statement object memoizes its cache key, so each request only binds values.
_COUNTER_LOOKUP = (
    select(_counter.c.id, _counter.c.name, _counter.c.active, _counter.c.token_version, _unit.c.id,
           _unit.c.name, *_SURVEY_COLUMNS, *_VERSION_COLUMNS, survey_open_clause(), counter_opens_clause())
    .select_from(_counter)
    .join(_unit, _unit.c.id == _counter.c.unit_id)
    .outerjoin(_survey, _survey.c.id == bindparam("survey_id"))
    .outerjoin(_current, _current_version_join())
    .where(_counter.c.id == bindparam("counter_id"))
)
_UNIT_LOOKUP = (
    select(_unit.c.id, _unit.c.name, _target.c.unit_id, *_SURVEY_COLUMNS, *_VERSION_COLUMNS, survey_open_clause())
    .select_from(_survey)
    .outerjoin(_unit, _unit.c.id == bindparam("unit_id"))
    .outerjoin(_target, and_(_target.c.survey_id == _survey.c.id, _target.c.unit_id == bindparam("unit_id")))
    .outerjoin(_current, _current_version_join())
    .where(_survey.c.id == bindparam("survey_id"))
)
_VERSION_LOOKUP = (
    select(_current.c.id, _current.c.survey_id, _current.c.frozen, _current.c.created_at)
    .where(_current.c.id == bindparam("version_id"), _current.c.survey_id == bindparam("survey_id"))
)
_QUESTIONS = (
    select(*(_question.c[name] for name in ("id", "code", "component", "text_vi", "text_en", "type",
                                            "required", "allows_na", "choices", "max_length")))
    .where(_question.c.version_id == bindparam("version_id"))
    .order_by(_question.c.position)
)


_AFTER_VERSION = len(_SURVEY_COLUMNS) + len(_VERSION_COLUMNS)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def lookup_counter(token: CounterToken, now: datetime | None = None) -> Lookup:
    """Counter, its unit, the survey and its current version, and whether the survey is open and
    the counter opens its form at `now` (UTC, default the current time): one query."""
    params = {"counter_id": token.counter_id, "survey_id": token.survey_id, "now": now or _utcnow()}
    row = citizen_connection.first(_COUNTER_LOOKUP, params)
    if row is None:
        return Lookup(None, None, None, None)
    counter = CounterInfo(row[0], row[1], bool(row[2]), row[3])
    unit = UnitInfo(*row[4:6])
    survey, version = _survey_and_version(row, 6)
    return Lookup(unit, counter, survey, version, survey_open=bool(row[6 + _AFTER_VERSION]),
                  opens=bool(row[7 + _AFTER_VERSION]))


def lookup_unit(token: UnitToken, now: datetime | None = None) -> Lookup:
    """A campaign's survey, the unit, whether the campaign targets it, the current version, and
    whether the survey is open at `now` (UTC, default the current time)."""
    params = {"unit_id": token.unit_id, "survey_id": token.survey_id, "now": now or _utcnow()}
    row = citizen_connection.first(_UNIT_LOOKUP, params)
    if row is None:
        return Lookup(None, None, None, None)
    unit = UnitInfo(*row[0:2]) if row[0] is not None else None
    survey, version = _survey_and_version(row, 3)
    return Lookup(unit, None, survey, version, targeted=row[2] is not None,
                  survey_open=bool(row[3 + _AFTER_VERSION]))


def version_ref(version_id: int, survey_id: int) -> VersionRef | None:
    """Another version of the same survey (a form opened before new questions were published)."""
    params = {"version_id": version_id, "survey_id": survey_id}
    row = citizen_connection.first(_VERSION_LOOKUP, params)
    return VersionRef(*row) if row is not None else None


@dataclass(frozen=True)
class QuestionInfo:
    """A question as plain data: what the form, validation and storage need of it."""

    id: int
    code: str
    component: str | None
    text_vi: str
    text_en: str | None
    type: str
    required: bool
    allows_na: bool
    choices: tuple[tuple[tuple[str, object], ...], ...] | None  # each choice's dict, as items
    max_length: int | None

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" and self.text_en else self.text_vi

    def choice_dicts(self) -> tuple[dict, ...]:
        return tuple(dict(c) for c in self.choices or ())

    @property
    def choice_values(self) -> tuple:
        return tuple(dict(c)["value"] for c in self.choices or ())


@dataclass(frozen=True)
class VersionInfo:
    ref: VersionRef
    questions: tuple[QuestionInfo, ...]

    @property
    def id(self) -> int:
        return self.ref.id

    @property
    def survey_id(self) -> int:
        return self.ref.survey_id

    @property
    def frozen(self) -> bool:
        return self.ref.frozen

    @property
    def cache_key(self) -> tuple | None:
        """Identifies these questions for good, or None when they may still change."""
        return (self.ref.id, self.ref.created_at) if self.ref.frozen else None


def _read_questions(version_id: int) -> tuple[QuestionInfo, ...]:
    rows = citizen_connection.rows(_QUESTIONS, {"version_id": version_id})
    return tuple(
        QuestionInfo(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), bool(r[7]),
                     tuple(tuple(c.items()) for c in r[8]) if r[8] else None, r[9])
        for r in rows
    )


def _cache() -> dict:
    return current_app.extensions.setdefault("citizen_versions", {})


def version_info(ref: VersionRef) -> VersionInfo:
    """The version's questions: from the per-worker cache when frozen, else from the database."""
    if not ref.frozen:
        return VersionInfo(ref, _read_questions(ref.id))
    cache = _cache()
    key = (ref.id, ref.created_at)
    found = cache.get(key)
    if found is None:
        if len(cache) >= VERSION_CACHE_SIZE:
            cache.clear()  # versions are few; a full cache means something odd, start afresh
        found = cache[key] = VersionInfo(ref, _read_questions(ref.id))
    return found


# What this worker last found for each place it served (keyed by what the token names, never by
# the URL text: survey.public.form_page.place_key), to re-show a citizen's answers when a
# submission arrives while the database cannot be reached (nothing is stored then; the page says
# to send again), and to check and store a submission without a lookup of its own (the storing
# statement re-checks the place: responses.CounterCheck). Never used to open a form.
KNOWN_PLACES_SIZE = 4096


def _known() -> OrderedDict:
    return current_app.extensions.setdefault("citizen_known_places", OrderedDict())


def remember(key: str, found: object) -> None:
    known = _known()
    known[key] = found
    try:
        known.move_to_end(key)
        while len(known) > KNOWN_PLACES_SIZE:
            known.popitem(last=False)
    except KeyError:  # another thread evicted meanwhile: nothing to keep in order
        pass


def remembered(key: str) -> object | None:
    return _known().get(key)
