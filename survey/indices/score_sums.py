"""The live sums of score rows: ONE GROUP BY per stratum, each measure its own aggregates.

Each response has one score row, its measures' values as an array (indices/scores.py).  The
fold (rollups.py), the live tail and per-counter reads (rollup_read.py) and unfold sum them
with :func:`sum_selects`: a GROUP BY of the stratum's keys (and counter) with n, sat, Σy, Σy²
of every measure of the survey as columns (:func:`wide_select`), turned back into the cell
rows (stratum keys, measure, counter, n, sat, s1, s2) every caller reads (:func:`unpivot`).
At 10^6 responses that GROUP BY took ~7 s where the GROUP BY (stratum, measure) over ~27
narrow rows per response took 45-62 s (docs/scale.md §6).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import BigInteger, Float, Integer, and_, case, cast, column, func, literal, select, true, union_all
from sqlalchemy.dialects.postgresql import ARRAY, array

from survey.extensions import db
from survey.indices.scores import score_at
from survey.indices.stratum_sums import (
    COUNT_MEASURE,
    OVERALL,
    Instrument,
    _counter,
    _f,
    _stratum_keys,
    count_select,
    equal_weights,
    is_postgres,
    questions_of,
)
from survey.memo import once
from survey.models import Response, ResponseScore, RollupMeasure
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL


def survey_measures(inst: Instrument) -> list[tuple[int, int, str]]:
    """(rollup_measure id, kind, code) of the survey's measures (its likert5 items, components
    and the overall score), by id: the positions of its score arrays (indices/scores.py)."""
    items = {code for code, _text, _comp, kind in questions_of(inst.survey_id) if kind == "likert5"}
    wanted = ({(KIND_ITEM, c) for c in items} | {(KIND_COMPONENT, c) for c in inst.components}
              | {(KIND_OVERALL, OVERALL)})
    rows = once(("rollup_measures",), lambda: [
        (int(i), int(k), str(c)) for i, k, c in db.session.execute(
            select(RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code))])
    return sorted(r for r in rows if (r[1], r[2]) in wanted)


def _weighted_overall(inst: Instrument, measures: Sequence[tuple[int, int, str]]) -> Any:
    """A response's overall score under unequal component weights, from its row's component
    elements: Σ k_c y_c / Σ k_c over the components it answered (NULL when those all weigh 0)."""
    comps = [(score_at(i), inst.component_weights[code]) for i, kind, code in measures
             if kind == KIND_COMPONENT and code in inst.component_weights]
    numerator = sum((func.coalesce(y * k, 0.0) for y, k in comps), _f(literal(0)))
    denominator = sum((case((y.isnot(None), k), else_=0.0) for y, k in comps), _f(literal(0)))
    return numerator / func.nullif(denominator, 0.0)


# A cell of the wide GROUP BY: its measure id, its value per response, whether it counts
# satisfied answers (items: y >= 4; never a 0-1 score).  COUNT_MEASURE: responses (count(*)).
_Cell = tuple[int, Any, bool]


def _cells_of(inst: Instrument, kinds: Iterable[int], exclude: Sequence[int]) -> list[_Cell]:
    measures = survey_measures(inst)
    weighted = KIND_OVERALL in kinds and inst.components and not equal_weights(inst)
    skip = set(exclude) | ({KIND_OVERALL} if weighted else set())
    cells: list[_Cell] = [(i, score_at(i), kind == KIND_ITEM) for i, kind, _code in measures
                          if kind in kinds and kind not in skip]
    if weighted:
        overall = [i for i, kind, _code in measures if kind == KIND_OVERALL]
        cells += [(overall[0], _weighted_overall(inst, measures), False)] if overall else []
    return cells


def wide_select(inst: Instrument, where: Sequence[Any], kinds: Iterable[int],
                by_counter: bool = False, keys: Sequence[Any] | None = None,
                count: bool = False, exclude: Sequence[int] = ()) -> tuple[Any, list[tuple[int, str, bool]]]:
    """ONE GROUP BY per stratum (and counter) over the responses ``where`` selects and their
    score rows, with n, sat, Σy, Σy² of each measure as its own columns (``n{j}, t{j}, a{j},
    b{j}``; ``count``: the responses too, as ``n0`` of COUNT_MEASURE).  Returns it and its
    cells (measure id, column suffix, satisfied?) for :func:`unpivot`.

    One row per response (~27 narrow score rows before, each a hash update of a (stratum,
    measure) group: 7x the time at 10^6 responses; docs/scale.md §6)."""
    columns, _group = _stratum_keys(keys)
    counter, _by = _counter(by_counter)
    cells_in = _cells_of(inst, kinds, exclude)
    on = and_(Response.id == ResponseScore.response_id, Response.period == ResponseScore.period)
    # Responses without any likert5 value have no score row: an outer join when they count.
    source = (Response.__table__.outerjoin(ResponseScore, on) if count
              else Response.__table__.join(ResponseScore, on))
    # Each value read out of its array once per row (y{j}), then aggregated: the aggregates'
    # arguments in place would read it four times.  OFFSET 0 keeps PostgreSQL from merging
    # the two levels back into one (SQLite has no such rewrite; it rejects OFFSET without LIMIT).
    ys = [y.label(f"y{j}") for j, (_m, y, _s) in enumerate(cells_in, start=1)]
    per = select(*columns, *([counter] if by_counter else []), *ys).select_from(source).where(*where)
    row = (per.offset(0) if is_postgres() else per).subquery("per_row")
    key_cols = [row.c[name] for name in _key_names(keys)]
    group = [*key_cols, *([row.c.counter] if by_counter else [])]
    aggs: list[Any] = []
    cells: list[tuple[int, str, bool]] = []
    if count:
        aggs.append(func.count().label("n0"))
        cells.append((COUNT_MEASURE, "0", False))
    for j, (mid, _y, satisfied) in enumerate(cells_in, start=1):
        y = row.c[f"y{j}"]
        aggs += [func.count(y).label(f"n{j}"), _f(func.sum(y)).label(f"a{j}"),
                 _f(func.sum(y * y)).label(f"b{j}")]
        if satisfied:
            aggs.append(func.count().filter(y >= 4).label(f"t{j}"))
        cells.append((mid, str(j), satisfied))
    outer_counter = row.c.counter if by_counter else literal(0, Integer).label("counter")
    query = select(*key_cols, outer_counter, *aggs).group_by(*group)
    return query, cells


def unpivot_parts(g: Any, key_names: Sequence[str], cells: Sequence[tuple[int, str, bool]]) -> list[Any]:
    """The wide GROUP BY ``g`` (a subquery, CTE or table with :func:`wide_select`'s columns)
    back to cell rows: key columns, measure, counter, n, sat, s1, s2; cells with n > 0 only (a
    GROUP BY over narrow rows never made an empty one).  PostgreSQL: a LATERAL unnest of one
    array per column for each group; SQLite (no LATERAL): one select per cell over ``g`` (a CTE
    or table), to UNION ALL."""
    zero_i, zero_f = literal(0, Integer), _f(literal(0))

    def row(mid: int, j: str, satisfied: bool) -> tuple[Any, ...]:
        if mid == COUNT_MEASURE:
            return literal(mid, Integer), g.c.n0, zero_i, zero_f, zero_f
        return (literal(mid, Integer), g.c[f"n{j}"], g.c[f"t{j}"] if satisfied else zero_i,
                g.c[f"a{j}"], g.c[f"b{j}"])
    keys = [g.c[k] for k in key_names]
    if is_postgres():
        # unnest of one array per column, not a VALUES list: SQLAlchemy gives a statement with
        # VALUES no cache key, so every read compiled its tail again (~50 ms of a dashboard's).
        by_column = list(zip(*(row(*cell) for cell in cells)))
        v = (func.unnest(*(array(list(c)) for c in by_column))
             .table_valued(column("measure", Integer), column("n", BigInteger),
                           column("sat", BigInteger), column("s1", Float), column("s2", Float))
             .render_derived(name="v").lateral("v"))
        return [select(*keys, v.c.measure, g.c.counter, v.c.n, v.c.sat, v.c.s1, v.c.s2)
                .select_from(g).join(v, true()).where(v.c.n > 0)]
    parts = []
    for cell in cells:
        mid, n, sat, s1, s2 = row(*cell)
        parts.append(select(*keys, mid.label("measure"), g.c.counter, n.label("n"), sat.label("sat"),
                            s1.label("s1"), s2.label("s2")).where(n > 0))
    return parts


def unpivot(g: Any, key_names: Sequence[str], cells: Sequence[tuple[int, str, bool]]) -> Any:
    """:func:`unpivot_parts` as one select."""
    return union_of(unpivot_parts(g, key_names, cells))


def _key_names(keys: Sequence[Any] | None) -> list[str]:
    return ["unit_id", "period", "field"] if keys is None else [k.name for k in keys]


def sum_selects(inst: Instrument, where: Sequence[Any], kinds: set[int],
                by_counter: bool = False, keys: Sequence[Any] | None = None) -> list[Any]:
    """The count per stratum and the sums of every measure of ``kinds``, as cell rows (keys,
    measure, counter, n, sat, s1, s2; measure COUNT_MEASURE: the responses): one GROUP BY per
    stratum over the score rows (:func:`wide_select`; under unequal component weights the
    overall score is computed per row from its components), the count in the same pass.
    ``by_counter``: each measure per counter (column ``counter``): counters are domains within
    the unit's strata, which stay unit x field x period (weights are the unit's), so the count
    is a GROUP BY of its own.  ``keys``: the stratum's columns when not (unit_id, period,
    field) (the tail groups by a stratum number).  Union them (``union_all``)."""
    stored = kinds & {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
    parts = [count_select(where, keys)] if by_counter or not stored else []
    if stored:
        wide, cells = wide_select(inst, where, stored, by_counter, keys, count=not by_counter)
        g = wide.cte("wide") if not is_postgres() else wide.subquery("wide")
        # Flat: SQLite cannot read a UNION ALL nested in parentheses.
        parts += unpivot_parts(g, _key_names(keys), cells)
    return parts


def union_of(parts: Sequence[Any]) -> Any:
    """The selects of :func:`sum_selects` as one."""
    return union_all(*parts) if len(parts) > 1 else parts[0]


# --- the live tail as wide rows, unpivoted in NumPy ---------------------------------------
# A national read's tail of 10,000 responses is ~8,300 strata: as unpivoted cells (the LATERAL
# unnest, then seven send calls a cell) ~237,000 rows, 0.55 of the statement's 0.93 s
# (EXPLAIN ANALYZE, docs/scale.md §6); as its wide GROUP BY rows, one array each.

def wide_array(columns: Sequence[Any]) -> Any:
    """PostgreSQL: one row of :func:`wide_select` as ONE binary float8[] (``array_send``): no
    NULL element (an empty cell's sums are 0; the unpivot drops n = 0), so rows are fixed width.
    Counts and stratum keys pass through float8 exactly (they are far below 2^53)."""
    return func.array_send(func.array_replace(cast(array(list(columns)), ARRAY(Float)), None, 0.0))


def wide_matrix(data: bytes | None, width: int) -> np.ndarray:
    """The ``string_agg`` of :func:`wide_array` rows as a (rows, width) float array."""
    row = np.dtype([("head", ">i4", 3), ("dim", ">i4"), ("lower", ">i4"),
                    ("v", np.dtype([("len", ">i4"), ("x", ">f8")]), (width,))])
    if len(data or b"") % row.itemsize:
        raise ValueError("the tail's rows are not arrays of its width")
    rows = np.frombuffer(data or b"", dtype=row)
    if not ((rows["dim"] == width).all() and (rows["v"]["len"] == 8).all()):
        raise ValueError("the tail's rows are not arrays of its width")
    return rows["v"]["x"].astype(float).reshape(len(rows), width)


def unpivot_array(matrix: np.ndarray, names: Sequence[str],
                  cells: Sequence[tuple[int, str, bool]]) -> dict[str, np.ndarray]:
    """:func:`unpivot_parts` in NumPy, for rows of :func:`wide_select` keyed by ``key``: the
    columns key, mid, counter, n, sat, s1, s2 of every cell with n > 0."""
    at = {name: i for i, name in enumerate(names)}
    zero = len(names)       # a column of zeros: the count's sat and sums, a non-item's sat
    grid = np.hstack([matrix.reshape(-1, len(names)), np.zeros((len(matrix), 1))])

    def of(prefix: str, real: Iterable[bool]) -> np.ndarray:
        return grid[:, [at[f"{prefix}{j}"] if ok else zero for (_m, j, _s), ok in zip(cells, real)]]
    stored = [mid != COUNT_MEASURE for mid, _j, _s in cells]
    n = of("n", [True] * len(cells))
    rows, which = np.nonzero(n > 0)
    return {"key": grid[rows, at["key"]].astype(np.int64),
            "mid": np.array([mid for mid, _j, _s in cells], dtype=np.int64)[which],
            "counter": grid[rows, at["counter"]].astype(np.int64),
            "n": n[rows, which].astype(np.int64),
            "sat": of("t", [s for _m, _j, s in cells])[rows, which].astype(np.int64),
            "s1": of("a", stored)[rows, which], "s2": of("b", stored)[rows, which]}
