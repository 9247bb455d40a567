"""SIPAS index tables from the database: SQL GROUP BY in, analysis.indices.index_table() out.

Row-level responses never reach Python.  Three aggregate queries (SQLAlchemy Core, the same
SQL on SQLite and PostgreSQL) produce the two tables whose contract is the docstring of
:mod:`analysis.indices`:

- strata (:func:`strata_rows`): one row per stratum h = unit x service field x period with
  n_h (responses) and the weight w_h; this is the ``frame`` (stratum, n_psu = n_h);
- item cells: per (unit, period, stratum, item code) n and the weighted sums of the rate
  (answer 4-5 -> 1, 1-3 -> 0) and of the score (1..5);
- composite cells: a per-response subquery computes each component score (share of the
  response's answered items in the component rated 4-5) and the overall score
  (component-weighted mean over answered components; equal weights unless the survey's
  ``scope["component_weights"]`` says otherwise), then GROUP BY stratum sums them.

Weights, and what happens when service volumes are missing
-----------------------------------------------------------
For each unit and period, with D_u = the unit's total dossiers in the period
(ServiceVolume rows with dossiers > 0) and N_u = its responses:

1. a response whose service_field has a ServiceVolume row gets the field stratum,
   w = dossiers_field / responses_field (DESIGN.md section 5);
2. a response with NULL service_field, or a field without a volume row, goes to the unit's
   residual stratum (field key ``"*"``) and gets the unit-average weight w = D_u / N_u: it
   counts as much as an average respondent of that unit, neither more nor less;
3. a unit with no volumes at all in the period gets w = 1 for every response (strata still
   by field): its estimates are unweighted.  Such rows carry ``weighted=False`` and every
   report must print :data:`UNWEIGHTED_NOTE`.  ``fallback_responses`` counts responses
   weighted by rule 2 or 3.

Since strata are nested in units, a unit's estimates do not depend on which other units are
in the query; ranks do (they are computed among the units asked for).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import Float, and_, case, cast, func, literal, select, text

from analysis.indices import index_table
from survey.extensions import db
from survey.models import Answer, Question, Response, ServiceVolume, Survey, SurveyVersion, Unit
from survey.services.instrument import COMPONENTS, STANDING_CODE

RESIDUAL = "*"
PG_WORK_MEM = "64MB"
UNWEIGHTED_NOTE = "chưa có số liệu hồ sơ: ước lượng chưa gia quyền"
STATS = ("overall", "component", "rate", "score")
SUMS = ("n", "sum_w", "sum_wy", "sum_wy2", "sum_w2", "sum_w2y", "sum_w2y2")
ESTIMATE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff", "df",
                    "reliable", "rank", "rank_best", "rank_worst")


def _f(expr: Any) -> Any:
    # Double precision everywhere: SQLite divides integers as integers, PostgreSQL would
    # otherwise return NUMERIC (Decimal) for 1.0 literals.
    return cast(expr, Float)


@dataclass(frozen=True)
class Instrument:
    survey_id: int
    components: tuple[str, ...]
    component_weights: dict[str, float]


def instrument_of(survey_code: str = STANDING_CODE) -> Instrument | None:
    """The survey's composite components (from its questions) and their weights."""
    survey = db.session.scalar(select(Survey).where(Survey.code == survey_code))
    if survey is None:
        return None
    comps = db.session.scalars(
        select(Question.component).distinct()
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .where(SurveyVersion.survey_id == survey.id, Question.type == "likert5",
               Question.component.isnot(None), Question.component != "OVERALL")
    ).all()
    configured = (survey.scope or {}).get("component_weights") or {}
    weights = {c: float(configured.get(c, 1.0)) for c in comps}
    return Instrument(survey.id, tuple(sorted(comps)), weights)


def _keyed(survey_id: int, periods: Sequence[str], unit_ids: set[int] | None):
    """Responses of the survey with their stratum key (service field, or "*" if unmatched)."""
    vol = ServiceVolume
    keyed = (
        select(Response.id.label("rid"), Response.unit_id, Response.period,
               case((vol.dossiers.isnot(None), Response.service_field),
                    else_=literal(RESIDUAL)).label("field_key"),
               vol.dossiers.label("dossiers"))
        .outerjoin(vol, and_(vol.unit_id == Response.unit_id, vol.period == Response.period,
                             vol.field == Response.service_field, vol.dossiers > 0))
        .where(Response.survey_id == survey_id, Response.period.in_(list(periods)))
    )
    if unit_ids is not None:
        keyed = keyed.where(Response.unit_id.in_(sorted(unit_ids)))
    return keyed.subquery("keyed")


def strata_query(survey_id: int, periods: Sequence[str], unit_ids: set[int] | None):
    """One row per stratum: n_h, its field volume d_h, the unit's volume d_u, and w_h."""
    vol = ServiceVolume
    keyed = _keyed(survey_id, periods, unit_ids)
    strata = (
        select(keyed.c.unit_id, keyed.c.period, keyed.c.field_key,
               func.count().label("n_h"), func.max(keyed.c.dossiers).label("d_h"))
        .group_by(keyed.c.unit_id, keyed.c.period, keyed.c.field_key)
    ).subquery("strata")
    unit_n = (
        select(strata.c.unit_id, strata.c.period, func.sum(strata.c.n_h).label("n_u"))
        .group_by(strata.c.unit_id, strata.c.period)
    ).subquery("unit_n")
    unit_d = (
        select(vol.unit_id, vol.period, func.sum(vol.dossiers).label("d_u"))
        .where(vol.dossiers > 0, vol.period.in_(list(periods)))
        .group_by(vol.unit_id, vol.period)
    ).subquery("unit_d")
    w = case((strata.c.d_h.isnot(None), _f(strata.c.d_h) / _f(strata.c.n_h)),
             (unit_d.c.d_u.isnot(None), _f(unit_d.c.d_u) / _f(unit_n.c.n_u)),
             else_=_f(literal(1)))
    return (
        select(strata.c.unit_id, strata.c.period, strata.c.field_key, strata.c.n_h,
               w.label("w"), unit_d.c.d_u, strata.c.d_h)
        .join(unit_n, and_(unit_n.c.unit_id == strata.c.unit_id,
                           unit_n.c.period == strata.c.period))
        .outerjoin(unit_d, and_(unit_d.c.unit_id == strata.c.unit_id,
                                unit_d.c.period == strata.c.period))
    )


def stratum_label(unit_id: int, period: str, field_key: str) -> str:
    return f"{unit_id}|{period}|{field_key}"


def strata_rows(inst: Instrument, periods: Sequence[str], unit_ids: set[int] | None
                ) -> list[dict[str, Any]]:
    """Strata with n_h, w_h, weighted (the unit has volumes) and fallback (rule 2 or 3)."""
    rows = db.session.execute(strata_query(inst.survey_id, periods, unit_ids)).mappings().all()
    return [{"unit_id": r["unit_id"], "period": r["period"], "field_key": r["field_key"],
             "stratum": stratum_label(r["unit_id"], r["period"], r["field_key"]),
             "n_h": int(r["n_h"]), "w": float(r["w"]), "weighted": r["d_u"] is not None,
             "fallback": r["d_h"] is None} for r in rows]


# The cells queries sum y and y^2 per (unit, period, stratum[, measure]); the weight is
# applied afterwards per cell.  That is exact, not an approximation: w is constant within a
# stratum (w_h), so sum(w*y) = w_h*sum(y), sum(w^2*y^2) = w_h^2*sum(y^2), and so on.  It keeps
# the big GROUP BY free of joins back to aggregates (PostgreSQL chose nested loops over
# re-sorted aggregates for that before ANALYZE had run: seconds for 2,000 responses).
# The answer-level GROUP BYs use only answer and response columns (integer counts with
# FILTER, SQLite >= 3.30 and PostgreSQL); strata keys and item codes are joined to the
# much smaller grouped result.

def _responses(inst: Instrument, periods: Sequence[str], unit_ids: set[int] | None):
    query = select(Response.id).where(Response.survey_id == inst.survey_id,
                                      Response.period.in_(list(periods)))
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    return query


def item_cells_query(inst: Instrument, periods: Sequence[str], unit_ids: set[int] | None):
    """Per (unit, period, stratum, item code): n, Σrate, Σscore, Σscore² over valid answers."""
    v = Answer.value_int
    raw = (
        select(Response.unit_id, Response.period, Response.service_field, Answer.question_id,
               func.count().label("n"), func.count().filter(v >= 4).label("sum_rate"),
               func.sum(v).label("sum_v"), func.sum(v * v).label("sum_v2"))
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.response_id.in_(_responses(inst, periods, unit_ids)),
               Answer.value_int.between(1, 5))
        .group_by(Response.unit_id, Response.period, Response.service_field, Answer.question_id)
    ).subquery("raw")
    vol = ServiceVolume
    field_key = case((vol.dossiers.isnot(None), raw.c.service_field), else_=literal(RESIDUAL))
    keys = (raw.c.unit_id, raw.c.period, field_key.label("field_key"), Question.code)
    return (
        select(*keys, func.sum(raw.c.n).label("n"), func.sum(raw.c.sum_rate).label("sum_rate"),
               func.sum(raw.c.sum_v).label("sum_v"), func.sum(raw.c.sum_v2).label("sum_v2"))
        .join(Question, Question.id == raw.c.question_id)
        .outerjoin(vol, and_(vol.unit_id == raw.c.unit_id, vol.period == raw.c.period,
                             vol.field == raw.c.service_field, vol.dossiers > 0))
        .where(Question.type == "likert5")
        .group_by(*keys)
    )


def composite_cells_query(inst: Instrument, periods: Sequence[str], unit_ids: set[int] | None):
    """Per (unit, period, stratum): count, Σy, Σy² of each component score and the overall."""
    scores = []
    for i, comp in enumerate(inst.components):
        inside = Question.component == comp
        satisfied = func.count().filter(and_(inside, Answer.value_int >= 4))
        answered = func.count().filter(inside)
        scores.append((_f(satisfied) / _f(func.nullif(answered, 0))).label(f"c{i}"))
    per = (
        select(Answer.response_id.label("rid"), *scores)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id.in_(_responses(inst, periods, unit_ids)),
               Question.type == "likert5", Answer.value_int.between(1, 5),
               Question.component.in_(inst.components))
        .group_by(Answer.response_id)
    ).subquery("per_response")
    keyed = _keyed(inst.survey_id, periods, unit_ids)
    comp_cols = [per.c[f"c{i}"] for i in range(len(inst.components))]
    cw = [inst.component_weights[c] for c in inst.components]
    numerator = sum((func.coalesce(col * k, 0.0) for col, k in zip(comp_cols, cw)),
                    _f(literal(0)))
    denominator = sum((case((col.isnot(None), k), else_=0.0) for col, k in zip(comp_cols, cw)),
                      _f(literal(0)))
    overall = numerator / func.nullif(denominator, 0.0)
    columns = []
    for i, y in enumerate(comp_cols + [overall]):
        columns += [func.count(y).label(f"m{i}_n"), func.sum(y).label(f"m{i}_s1"),
                    func.sum(y * y).label(f"m{i}_s2")]
    keys = (keyed.c.unit_id, keyed.c.period, keyed.c.field_key)
    return select(*keys, *columns).join(per, per.c.rid == keyed.c.rid).group_by(*keys)


def _weighted_sums(n: int, s1: Any, s2: Any, w: float) -> list[float]:
    """n, Σw, Σwy, Σwy², Σw², Σw²y, Σw²y² of a cell whose rows all have weight w."""
    # PostgreSQL returns SUM(bigint) as NUMERIC (Decimal): convert before mixing with floats.
    n, s1, s2 = int(n), float(s1), float(s2)
    return [n, w * n, w * s1, w * s2, w * w * n, w * w * s1, w * w * s2]


def _append(cells: dict[str, list], unit_id: int, period: str, stat: str, measure: str,
            stratum: str, sums: Sequence[Any]) -> None:
    for k, v in zip(("unit", "period", "stat", "measure", "stratum"),
                    (unit_id, period, stat, measure, stratum)):
        cells[k].append(v)
    for k, v in zip(SUMS, sums):
        cells[k].append(v)


def index_cells(inst: Instrument, periods: Sequence[str], unit_ids: set[int] | None,
                stats: Iterable[str] = STATS, strata: list[dict[str, Any]] | None = None
                ) -> dict[str, np.ndarray]:
    """The ``cells`` table of analysis.indices.index_table(), from the database."""
    stats = set(stats)
    if db.session.get_bind().dialect.name == "postgresql":
        # The per-response GROUP BY hashes one row per response; the default 4 MB spills to
        # disk from ~50,000 responses.  SET LOCAL ends with the transaction.
        db.session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
    strata = strata if strata is not None else strata_rows(inst, periods, unit_ids)
    weight = {s["stratum"]: s["w"] for s in strata}
    cells: dict[str, list] = {k: [] for k in ("unit", "period", "stat", "measure", "stratum") + SUMS}
    if stats & {"rate", "score"}:
        for r in db.session.execute(item_cells_query(inst, periods, unit_ids)).mappings():
            label = stratum_label(r["unit_id"], r["period"], r["field_key"])
            w = weight[label]
            # A 0/1 rate is its own square: Σrate² = Σrate.
            for stat, s1, s2 in (("rate", r["sum_rate"], r["sum_rate"]),
                                 ("score", r["sum_v"], r["sum_v2"])):
                if stat in stats:
                    _append(cells, r["unit_id"], r["period"], stat, r["code"], label,
                            _weighted_sums(r["n"], s1, s2, w))
    if stats & {"component", "overall"} and inst.components:
        measures = [("component", c) for c in inst.components] + [("overall", "overall")]
        for r in db.session.execute(composite_cells_query(inst, periods, unit_ids)).mappings():
            label = stratum_label(r["unit_id"], r["period"], r["field_key"])
            for i, (stat, measure) in enumerate(measures):
                if stat in stats and r[f"m{i}_n"]:
                    _append(cells, r["unit_id"], r["period"], stat, measure, label,
                            _weighted_sums(r[f"m{i}_n"], r[f"m{i}_s1"], r[f"m{i}_s2"],
                                           weight[label]))
    return {k: np.array(v, dtype=object if k in ("stat", "measure", "stratum", "period") else None)
            for k, v in cells.items()}


def _plain(value: Any) -> Any:
    """NumPy scalars to Python; NaN and inf to None so rows serialise to JSON."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def index_table_for(periods: Sequence[str], unit_ids: set[int] | None,
                    survey_code: str = STANDING_CODE, stats: Iterable[str] = STATS
                    ) -> list[dict[str, Any]]:
    """index_table() rows for several periods, with unit code/name/kind and weighting flags."""
    inst = instrument_of(survey_code)
    if inst is None or (unit_ids is not None and not unit_ids):
        return []
    strata = strata_rows(inst, periods, unit_ids)
    cells = index_cells(inst, periods, unit_ids, stats, strata)
    if not strata or len(cells["n"]) == 0:
        return []
    frame = {"stratum": np.array([s["stratum"] for s in strata]),
             "n_psu": np.array([s["n_h"] for s in strata])}
    table = index_table(frame, cells)
    units = {u.id: u for u in db.session.scalars(
        select(Unit).where(Unit.id.in_({int(x) for x in table["unit"]})))}
    flags: dict[tuple[int, str], dict[str, Any]] = {}
    for s in strata:
        f = flags.setdefault((s["unit_id"], s["period"]),
                             {"weighted": s["weighted"], "responses": 0, "fallback_responses": 0})
        f["responses"] += s["n_h"]
        f["fallback_responses"] += s["n_h"] if s["fallback"] else 0
    rows = []
    for i in range(len(table["estimate"])):
        unit = units[int(table["unit"][i])]
        row = {"unit_id": unit.id, "unit_code": unit.code, "unit_name": unit.name,
               "unit_kind": unit.kind, "period": str(table["period"][i]),
               "stat": str(table["stat"][i]), "measure": str(table["measure"][i])}
        row.update({k: _plain(table[k][i]) for k in ESTIMATE_COLUMNS})
        row.update(flags[(unit.id, row["period"])])
        rows.append(row)
    order = {s: i for i, s in enumerate(STATS)}
    rows.sort(key=lambda r: (r["period"], order[r["stat"]], r["measure"],
                             r["rank"] if r["rank"] > 0 else 10**9, r["unit_code"]))
    return rows


def index_rows(period: str, unit_ids: set[int] | None, survey_code: str = STANDING_CODE,
               stats: Iterable[str] = STATS) -> list[dict[str, Any]]:
    """The SIPAS index table of one period as plain dicts (None for NaN), ranked rows first.

    Keys: unit_id, unit_code, unit_name, unit_kind, period, stat, measure, estimate, se,
    ci_low, ci_high, n, n_eff, deff, df, reliable, rank, rank_best, rank_worst (rank -1 when
    not reliable), weighted, responses, fallback_responses.  unit_ids=None: every unit.
    """
    return index_table_for([period], unit_ids, survey_code, stats)


# --- summaries for dashboards and reports: plain data, no formatting ------------------------

@dataclass(frozen=True)
class Indicator:
    """One estimate; attribute names follow analysis.Estimate so report views accept it."""

    estimate: float
    ci_low: float | None
    ci_high: float | None
    n: int
    se: float | None = None
    n_eff: float | None = None
    deff: float | None = None
    reliable: bool = False
    rank: int = -1
    rank_best: int = -1
    rank_worst: int = -1

    @property
    def unreliable(self) -> bool:
        return not self.reliable

    @property
    def tied(self) -> bool:
        return self.rank_best < self.rank_worst


def indicator(row: dict[str, Any] | None) -> Indicator | None:
    if row is None or row["estimate"] is None:
        return None
    return Indicator(row["estimate"], row["ci_low"], row["ci_high"], row["n"], row["se"],
                     row["n_eff"], row["deff"], bool(row["reliable"]), row["rank"],
                     row["rank_best"], row["rank_worst"])


@dataclass(frozen=True)
class ItemResult:
    code: str
    text: str
    component: str | None
    rate: Indicator | None
    score: Indicator | None


@dataclass(frozen=True)
class UnitSummary:
    unit_id: int
    period: str
    responses: int
    weighted: bool                 # False: print UNWEIGHTED_NOTE
    fallback_responses: int
    overall: Indicator | None
    components: tuple[tuple[str, str, Indicator | None], ...]   # (code, name, estimate)
    items: tuple[ItemResult, ...]
    overall_item: ItemResult | None  # the "Nhìn chung..." question, not part of the index

    def weakest(self, k: int = 3) -> list[ItemResult]:
        """The k items with the lowest satisfaction rate (overall question excluded)."""
        rated = [i for i in self.items if i.rate is not None]
        return sorted(rated, key=lambda i: (i.rate.estimate, i.code))[:k]


def question_texts(survey_code: str = STANDING_CODE) -> dict[str, tuple[str, str | None]]:
    """Item code -> (wording, component), the newest version's wording winning."""
    rows = db.session.execute(
        select(Question.code, Question.text_vi, Question.component)
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(Survey.code == survey_code).order_by(SurveyVersion.number)
    ).all()
    return {code: (text, comp) for code, text, comp in rows}


def unit_summary(unit_id: int, period: str, survey_code: str = STANDING_CODE) -> UnitSummary:
    """Overall index, components and items of one unit in one period (responses=0 if none)."""
    rows = index_rows(period, {unit_id}, survey_code)
    by_key = {(r["stat"], r["measure"]): r for r in rows}
    texts = question_texts(survey_code)
    comps = sorted({r["measure"] for r in rows if r["stat"] == "component"} | set(COMPONENTS))
    items = []
    for code in sorted({r["measure"] for r in rows if r["stat"] == "rate"}):
        text, comp = texts.get(code, (code, None))
        items.append(ItemResult(code, text, comp, indicator(by_key.get(("rate", code))),
                                indicator(by_key.get(("score", code)))))
    first = rows[0] if rows else {}
    return UnitSummary(
        unit_id=unit_id, period=period, responses=first.get("responses", 0),
        weighted=first.get("weighted", False),
        fallback_responses=first.get("fallback_responses", 0),
        overall=indicator(by_key.get(("overall", "overall"))),
        components=tuple((c, COMPONENTS.get(c, (c,))[0], indicator(by_key.get(("component", c))))
                         for c in comps),
        items=tuple(i for i in items if i.component != "OVERALL"),
        overall_item=next((i for i in items if i.component == "OVERALL"), None),
    )


def trend(unit_id: int, periods: Sequence[str], survey_code: str = STANDING_CODE
          ) -> list[tuple[str, Indicator | None]]:
    """Overall index of a unit per period, in the order given (None where no responses)."""
    rows = index_table_for(list(periods), {unit_id}, survey_code, stats=("overall",))
    found = {r["period"]: indicator(r) for r in rows}
    return [(p, found.get(p)) for p in periods]
