"""The live tail arrives as wide GROUP BY rows (one float8[] per stratum on PostgreSQL) and is
unpivoted in NumPy (score_sums.unpivot_array): checked here against cells written out by hand
and against PostgreSQL's own array_send bytes.  That the whole read still equals the fold is
test_rollups' and test_rollup_watermark's business (tail and rollup give the same tables)."""
from __future__ import annotations

import struct

import numpy as np
import psycopg
import pytest
from sqlalchemy import column, select, table
from sqlalchemy.dialects import postgresql

from survey.indices.score_sums import unpivot_array, wide_array, wide_matrix
from survey.indices.stratum_sums import COUNT_MEASURE
from tests.seeded import conninfo

# wide_select's columns for a count, one item (id 7, satisfied counted) and one component (id 9)
NAMES = ["key", "counter", "n0", "n1", "a1", "b1", "t1", "n2", "a2", "b2"]
CELLS = [(COUNT_MEASURE, "0", False), (7, "1", True), (9, "2", False)]
ROWS = np.array([
    # key counter n0  n1  a1    b1    t1  n2  a2   b2
    [3,   0,      4,  3,  12.0, 50.0, 2,  0,  0.0, 0.0],    # component answered by nobody
    [5,   0,      2,  2,  9.0,  41.0, 2,  1,  0.5, 0.25],
])


def test_unpivot_array_gives_every_cell_with_answers_and_no_other():
    got = unpivot_array(ROWS, NAMES, CELLS)
    cells = sorted(zip(*(got[k].tolist() for k in ("key", "mid", "counter", "n", "sat", "s1", "s2"))))
    assert cells == sorted([
        (3, COUNT_MEASURE, 0, 4, 0, 0.0, 0.0), (3, 7, 0, 3, 2, 12.0, 50.0),
        (5, COUNT_MEASURE, 0, 2, 0, 0.0, 0.0), (5, 7, 0, 2, 2, 9.0, 41.0), (5, 9, 0, 1, 0, 0.5, 0.25),
    ])
    assert got["key"].dtype == np.int64 and got["n"].dtype == np.int64


def test_unpivot_array_of_no_rows():
    got = unpivot_array(np.zeros((0, len(NAMES))), NAMES, CELLS)
    assert all(len(v) == 0 for v in got.values())


def _array_send(values: list[float]) -> bytes:
    """PostgreSQL's binary float8[] (one dimension, no NULLs), written out from its format."""
    head = struct.pack(">iiiii", 1, 0, 701, len(values), 1)
    return head + b"".join(struct.pack(">id", 8, v) for v in values)


def test_wide_matrix_reads_binary_arrays_and_refuses_another_width():
    data = b"".join(_array_send(r) for r in ROWS.tolist())
    assert np.array_equal(wide_matrix(data, len(NAMES)), ROWS)
    assert wide_matrix(b"", len(NAMES)).shape == (0, len(NAMES))
    with pytest.raises(ValueError):
        wide_matrix(data, len(NAMES) - 1)
    with pytest.raises(ValueError):          # 280 bytes are also 5 rows of width 3 (56 bytes)
        wide_matrix(data, 3)


def test_postgresql_sends_what_wide_matrix_reads(pg_url):
    # The real server's bytes: bigint and float columns, a NULL sum (a cell nobody answered)
    # sent as 0, strings of rows concatenated as the read statement does.
    t = table("t", column("key"), column("n"), column("a"))
    query = select(wide_array([t.c.key, t.c.n, t.c.a])).select_from(t)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    source = "(VALUES (3::bigint, 4::bigint, 12.5::float8), (5, 0, NULL)) AS t(key, n, a)"
    sql = sql.replace("FROM t", f"FROM {source}")
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        rows = [r[0] for r in conn.execute(sql, binary=True)]
    assert np.array_equal(wide_matrix(b"".join(rows), 3), np.array([[3, 4, 12.5], [5, 0, 0.0]]))


def test_a_survey_of_many_items_reads_its_tail_and_folds_alike(app):
    # 40 items: a wide row would be 3 + ~4 columns an item, more than SQLite's json_array takes
    # (127 arguments); the tail must read on both databases and equal the folded figures.
    from sqlalchemy import select as orm_select

    from survey.catalog.instrument import STANDING_CODE, QuestionSpec, publish_questions
    from survey.extensions import db
    from survey.indices import rollups
    from survey.models import Survey
    from tests.indices.test_aggregates import add
    from tests.indices.test_rollups import _assert_same, _rows

    with app.app_context():
        survey = db.session.scalar(orm_select(Survey).where(Survey.code == STANDING_CODE))
        specs = [QuestionSpec(q.code, q.component, q.text_vi, q.text_en or "", q.type, q.required,
                              q.allows_na, tuple(tuple(c.items()) for c in q.choices) if q.choices else None,
                              q.max_length)
                 for q in survey.current_version.questions]
        extra = 40 - sum(s.type == "likert5" for s in specs)
        specs += [QuestionSpec(f"A6.{9 + i}", "A6", f"Mục {i}", f"Item {i}") for i in range(extra)]
        survey.current_version.frozen = True
        db.session.flush()
        publish_questions(survey, specs)
        db.session.commit()
        items = [s.code for s in specs if s.type == "likert5"]
        assert len(items) >= 40
        for i, unit in enumerate(["00157", "00193", "00178"] * 3):
            add(unit, {code: 1 + (i + j) % 5 for j, code in enumerate(items)}, field="ho-tich")
        live = _rows()
        assert live and rollups.pending() == 9
        rollups.refresh()
        assert rollups.pending() == 0
        _assert_same(_rows(), live)
