"""A thematic campaign's own questions and demographic breakdowns, estimated from SQL counts.

The counts come from question_sums (GROUP BY stratum and answer); the weights and strata are
the index's own (aggregates.weighted), and the estimates go through analysis.indices.
index_table, so a share here gets the same logit interval, reliability rule and method label
as an item rate on the dashboard.  Each answer is one cell of that table:

- likert5: ``rate`` (1 if 4-5) and ``score`` (1-5) of measure "C1";
- yesno: ``rate`` (1 if "có") of "C1";
- choice and multi: ``rate`` of "C1=<code>" for every option (multi: each option is its own
  yes/no among those who answered the question, so options overlap);
- the main index by group: ``overall`` from the respondent scores (stratum_sums).

The index_table "unit" key carries the domain: "*" for everyone, "AGE=18-29" for a group.
Tests of difference across groups: analysis.crosstab (Rao-Scott for a table, Wald for the
index), on the same strata and weights.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import AbstractSet, Any, Sequence

import numpy as np

from analysis import Design, Estimate
from analysis.crosstab import GroupTest, rao_scott, wald_means
from analysis.indices import index_table
from analysis.report.model import Breakdown, ChoiceShare, GroupRow, QuestionResult
from survey.catalog.question_bank import DEMOGRAPHIC_CODES, YES_NO_LABELS
from survey.indices import aggregates, question_sums
from survey.indices import comments as comment_reader
from survey.indices.question_sums import answer_counts, score_sums
from survey.indices.stratum_sums import instrument_for
from survey.models import Question, Survey
from survey.services.campaigns import CUSTOM_CODE

ALL = "*"
PERIOD = "*"
TEXT_SAMPLE = 30
DEMOGRAPHICS = ("AGE", "SEX", "AREA")   # question_bank order
RATE_COLUMN = "Tỷ lệ hài lòng (4–5)"
MEAN_COLUMN = "Điểm trung bình (1–5)"
YES_COLUMN = "Tỷ lệ trả lời “Có”"
INDEX_COLUMN = "Chỉ số hài lòng chung"


@dataclass(frozen=True)
class QuestionInfo:
    code: str
    type: str
    text: str
    choices: tuple[tuple[str, str], ...]   # (code, Vietnamese label)


def info_of(q: Question) -> QuestionInfo:
    choices = tuple((str(c["value"]), str(c.get("vi") or c["value"])) for c in (q.choices or ()))
    if q.type == "yesno":
        choices = YES_NO_LABELS
    return QuestionInfo(q.code, q.type, q.text_vi, choices)


def measure(code: str, choice: str | None = None) -> str:
    return code if choice is None else f"{code}={choice}"


class _Cells:
    """Accumulates index_table cells (domain, stat, measure, stratum) -> n, Σy, Σy²."""

    def __init__(self, weights: np.ndarray):
        self.w = weights
        self.acc: dict[tuple[str, str, str, int], np.ndarray] = defaultdict(lambda: np.zeros(3))

    def add(self, domain: str, stat: str, meas: str, stratum: int, n: int, y: float) -> None:
        self.acc[(domain, stat, meas, stratum)] += (n, n * y, n * y * y)

    def add_sums(self, domain: str, stat: str, meas: str, stratum: int, n: int, s1: float,
                 s2: float) -> None:
        self.acc[(domain, stat, meas, stratum)] += (n, s1, s2)

    def table(self) -> dict[str, np.ndarray]:
        keys = list(self.acc)
        v = np.array([self.acc[k] for k in keys]).reshape(-1, 3)
        h = np.array([k[3] for k in keys], dtype=np.int64)
        w = self.w[h] if len(h) else np.array([])
        n, s1, s2 = v[:, 0], v[:, 1], v[:, 2]
        return {"unit": np.array([k[0] for k in keys]), "period": np.full(len(keys), PERIOD),
                "stat": np.array([k[1] for k in keys]), "measure": np.array([k[2] for k in keys]),
                "stratum": h, "n": n.astype(np.int64), "sum_w": w * n, "sum_wy": w * s1,
                "sum_wy2": w * s2, "sum_w2": w * w * n, "sum_w2y": w * w * s1,
                "sum_w2y2": w * w * s2}


def _values(info: QuestionInfo, value: str) -> list[tuple[str, str, float]]:
    """(stat, measure, y) cells of one answer."""
    if info.type == "likert5":
        v = int(value)
        return [("rate", info.code, float(v >= 4)), ("score", info.code, float(v))] \
            if 1 <= v <= 5 else []
    if info.type == "yesno":
        return [("rate", info.code, float(value == "1"))] if value in ("0", "1") else []
    if info.type == "multi":
        ticked = set(value.split(";"))
        return [("rate", measure(info.code, c), float(c in ticked)) for c, _ in info.choices]
    if info.type == "choice":
        if value not in dict(info.choices):
            return []
        return [("rate", measure(info.code, c), float(value == c)) for c, _ in info.choices]
    return []


def _category(info: QuestionInfo, value: str) -> str | None:
    """The answer's column in the group x answer table of the Rao-Scott test."""
    if info.type == "likert5":
        return "4-5" if value in ("4", "5") else ("1-3" if value in ("1", "2", "3") else None)
    if info.type in ("yesno", "choice"):
        return value if value in dict(info.choices) else None
    return None   # multi: options overlap, no table; text: no figures


@dataclass(frozen=True)
class Results:
    questions: tuple[QuestionResult, ...]
    index_breakdowns: tuple[Breakdown, ...]


def campaign_results(survey: Survey, periods: Sequence[str], unit_ids: AbstractSet[int] | None
                     ) -> Results:
    """Every custom question of the campaign's current questionnaire with its results, and the
    main index by demographic group; `unit_ids` are the target units (None: all)."""
    version = survey.current_version
    questions = [q for q in (version.questions if version else []) if CUSTOM_CODE.match(q.code)]
    demos = [info_of(q) for q in (version.questions if version else [])
             if q.code in DEMOGRAPHIC_CODES]
    demos.sort(key=lambda i: DEMOGRAPHICS.index(i.code) if i.code in DEMOGRAPHICS else 99)
    infos = {q.code: info_of(q) for q in questions}
    inst = instrument_for(survey)
    strata = aggregates.weighted(inst, periods, unit_ids, stats=()).strata if periods else []
    texts = {q.code: tuple(comment_reader.latest(None, survey.code, unit_ids=unit_ids,
                                                 codes={q.code}, limit=TEXT_SAMPLE))
             for q in questions if q.type == "text"}
    open_counts = question_sums.answered(survey.id, unit_ids, [c for c in texts])
    if not strata:
        return Results(tuple(QuestionResult(i.code, i.type, i.text, answered=open_counts.get(i.code, 0),
                                            texts=texts.get(i.code, ())) for i in infos.values()), ())
    at = {(s["unit_id"], s["period"], s["field_key"]): i for i, s in enumerate(strata)}
    design = Design.from_aggregates(np.arange(len(strata)), [s["n_h"] for s in strata],
                                    lonely_psu="adjust")
    cells = _Cells(np.array([s["w"] for s in strata], dtype=float))
    tables: dict[tuple[str, str], list[tuple[int, str, str, int]]] = defaultdict(list)
    answered: dict[str, int] = defaultdict(int)
    demo_codes = [d.code for d in demos]
    counted = answer_counts(survey.id, unit_ids,
                            [c for c, i in infos.items() if i.type != "text"], demo_codes)
    for row in counted:
        info = infos[row.code]
        h = _stratum(at, row.stratum)
        domain = ALL if row.group is None else f"{row.group[0]}={row.group[1]}"
        for stat, meas, y in _values(info, row.value):
            cells.add(domain, stat, meas, h, row.n, y)
        if row.group is None:
            answered[row.code] += row.n
        elif (cat := _category(info, row.value)) is not None:
            tables[(row.code, row.group[0])].append((h, row.group[1], cat, row.n))
    for s in score_sums(inst, survey.id, unit_ids, demo_codes):
        cells.add_sums(f"{s.group[0]}={s.group[1]}", "overall", "overall", _stratum(at, s.stratum),
                       s.n, s.s1, s.s2)
    table = cells.table()
    est: dict[tuple[str, str, str], Estimate] = {}
    if len(table["n"]):
        frame = {"stratum": np.arange(len(strata)), "n_psu": np.array([s["n_h"] for s in strata])}
        est = {(str(e.unit), str(e.stat), str(e.measure)): e for e in index_table(frame, table)}
    answered.update(open_counts)
    results = tuple(_question(i, est, answered.get(i.code, 0), texts.get(i.code, ()), demos,
                              {d: _table_test(design, cells.w, tables.get((i.code, d), []))
                               for d in demo_codes})
                    for i in infos.values())
    index = tuple(_breakdown(d.code, _title(d), d, (INDEX_COLUMN,),
                             lambda g: (est.get((g, "overall", "overall")),),
                             _index_test(design, table, d.code))
                  for d in demos)
    return Results(results, tuple(b for b in index if b.rows))


def _stratum(at: dict[tuple[int, str, str], int], key: tuple[int, str, str]) -> int:
    """The weighting stratum of a raw (unit, period, field) key: the field's own, or the unit's
    residual one when the field has no service volume (aggregates' rules)."""
    u, p, f = key
    return at[(u, p, f)] if (u, p, f) in at else at[(u, p, aggregates.RESIDUAL)]


def _title(d: QuestionInfo) -> str:
    return d.text


def _table_test(design: Design, weights: np.ndarray, rows: list[tuple[int, str, str, int]]
                ) -> GroupTest | None:
    """Rao-Scott on the group x answer table; w is constant in a stratum, so Σw = w_h n."""
    if not rows:
        return None
    h, g, c, n = (np.array(x) for x in zip(*rows))
    w = weights[h.astype(np.int64)]
    return rao_scott(design, h, g, c, n, w * n, w * w * n)


def _index_test(design: Design, table: dict[str, np.ndarray], code: str) -> GroupTest | None:
    sel = (table["stat"] == "overall") & np.char.startswith(table["unit"].astype(str), f"{code}=")
    if not sel.any():
        return None
    return wald_means(design, table["stratum"][sel], table["unit"][sel], table["n"][sel],
                      table["sum_w"][sel], table["sum_wy"][sel], table["sum_w2"][sel],
                      table["sum_w2y"][sel], table["sum_w2y2"][sel])


def _breakdown(code: str, title: str, demo: QuestionInfo, columns: tuple[str, ...], values: Any,
               test: GroupTest | None) -> Breakdown:
    rows = []
    for value, label in demo.choices:
        got = values(f"{code}={value}")
        if any(v is not None for v in got):
            rows.append(GroupRow(label, tuple(got)))
    return Breakdown(code, title, columns, tuple(rows), test)


def _question(info: QuestionInfo, est: dict[tuple[str, str, str], Estimate], answered: int,
              texts: tuple, demos: list[QuestionInfo], tests: dict[str, GroupTest | None]
              ) -> QuestionResult:
    if info.type == "text":
        return QuestionResult(info.code, info.type, info.text, answered=answered, texts=texts)
    shares = tuple(ChoiceShare(c, label, est.get((ALL, "rate", measure(info.code, c))))
                   for c, label in info.choices) if info.type in ("choice", "multi") else ()
    if info.type == "likert5":
        columns: tuple[str, ...] = (RATE_COLUMN, MEAN_COLUMN)
        keys = [("rate", info.code), ("score", info.code)]
    elif info.type == "yesno":
        columns, keys = (YES_COLUMN,), [("rate", info.code)]
    else:
        columns = tuple(label for _c, label in info.choices)
        keys = [("rate", measure(info.code, c)) for c, _l in info.choices]
    breakdowns = tuple(
        _breakdown(d.code, _title(d), d, columns,
                   lambda g: tuple(est.get((g, stat, meas)) for stat, meas in keys),
                   tests.get(d.code) if info.type != "multi" else None)
        for d in demos)
    return QuestionResult(
        info.code, info.type, info.text, answered=answered,
        rate=est.get((ALL, "rate", info.code)) if info.type in ("likert5", "yesno") else None,
        mean=est.get((ALL, "score", info.code)) if info.type == "likert5" else None,
        shares=shares, breakdowns=tuple(b for b in breakdowns if b.rows))
