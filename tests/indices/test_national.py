"""The national roll-up (survey/indices/national.py): merging two provinces' exported sums,
each from its own database, equals the single-database estimate on the union to 1e-9."""
from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3

import numpy as np
import pytest
from flask_migrate import upgrade

from analysis.indices import index_table
from survey import create_app
from survey.demo import seed_demo
from survey.extensions import db
from survey.indices import rollups
from survey.indices.aggregates import STATS, weighted
from survey.indices.national import NATIONAL, MergeError, export_sums, merge
from survey.indices.stratum_sums import instrument_of
from tests.indices.test_aggregates import _random_data, add, unit_id

PERIODS = ["2026-H1", "2026-H2"]
PROVINCE_A = ("00157",)            # one database holds this commune...
PROVINCE_B = ("00178", "00193")    # ...another these two; the union database all three


def _app(path, tmp_path):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                       "QR_OUTPUT_DIR": str(tmp_path / "qr"), "EVIDENCE_DIR": str(tmp_path / "ev")})


def _dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def provinces(tmp_path_factory):
    """(union app, app of province A, app of province B): separate SQLite databases."""
    tmp = tmp_path_factory.mktemp("national")
    union = _app(tmp / "union.sqlite3", tmp)
    with union.app_context():
        upgrade()
        seed_demo()
        _random_data(seed=11)
        a_ids = [unit_id(c) for c in PROVINCE_A]
    _dispose(union)
    apps = [union]
    for name, keep_a in (("a", True), ("b", False)):
        path = tmp / f"{name}.sqlite3"
        shutil.copy(tmp / "union.sqlite3", path)
        with sqlite3.connect(path) as conn:   # the other province's responses were never here
            marks = ",".join("?" * len(a_ids))
            where = f"unit_id {'NOT IN' if keep_a else 'IN'} ({marks})"
            conn.execute(f"DELETE FROM answer WHERE response_id IN (SELECT id FROM response WHERE {where})",
                         a_ids)
            conn.execute(f"DELETE FROM response WHERE {where}", a_ids)
        apps.append(_app(path, tmp))
    for app, tail in zip(apps, (PROVINCE_A + PROVINCE_B, PROVINCE_A, PROVINCE_B)):
        with app.app_context():   # folded into the rollup, plus a live tail: both paths exported
            rollups.refresh()
            for code in tail:
                add(code, {"A1.1": 5, "A2.1": 2, "A3.1": 4, "OVERALL": 4}, field="ho-tich")
    yield apps
    for app in apps:
        _dispose(app)


def _single_database(app, province_of) -> list:
    """index_table on the union database, every stratum's domain = nation or province."""
    with app.app_context():
        data = weighted(instrument_of("SIPAS"), PERIODS, None, STATS)
        units = np.array([province_of(s["unit_id"]) for s in data.strata], dtype=object)
        cells = {**data.cells, "unit": units[data.cells["stratum"].astype(np.int64)].astype(str)}
        return index_table(data.frame(), cells)


def _export(app, label, tmp_path):
    path = tmp_path / f"{label}.json"
    result = app.test_cli_runner().invoke(args=["national", "export", "--period", PERIODS[0],
                                                "--period", PERIODS[1], "--province", label,
                                                "-o", str(path)])
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))


def test_merged_provinces_equal_the_single_database_to_1e_9(provinces, tmp_path):
    union, app_a, app_b = provinces
    files = [_export(app_a, "A", tmp_path), _export(app_b, "B", tmp_path)]
    merged = {(e.unit, e.period, e.stat, e.measure): e for e in merge(files)}
    with union.app_context():
        a_ids = {unit_id(c) for c in PROVINCE_A}
    expected = (_single_database(union, lambda _u: NATIONAL)
                + _single_database(union, lambda u: "A" if u in a_ids else "B"))
    assert len(expected) == len(merged) > 100
    for e in expected:
        m = merged[(e.unit, e.period, e.stat, e.measure)]
        assert m.n == e.n and m.df == e.df
        assert m.estimate == pytest.approx(e.estimate, abs=1e-9)
        assert m.se == pytest.approx(e.se, abs=1e-9)
        assert m.rank == e.rank
    # The national figure is not either province's: the merge really combined them.
    nat = merged[(NATIONAL, "2026-H2", "overall", "overall")]
    a, b = merged[("A", "2026-H2", "overall", "overall")], merged[("B", "2026-H2", "overall", "overall")]
    assert nat.n == a.n + b.n and min(a.estimate, b.estimate) < nat.estimate < max(a.estimate, b.estimate)


def test_merge_refuses_files_that_do_not_belong_together(provinces):
    _union, app_a, app_b = provinces
    with app_a.app_context():
        a = export_sums("A", PERIODS)
    with app_b.app_context():
        b = export_sums("B", PERIODS)
        b_h2 = export_sums("B", PERIODS[1:])
    with pytest.raises(MergeError, match="twice"):
        merge([a, {**b, "province": "A"}])
    with pytest.raises(MergeError, match="periods"):
        merge([a, b_h2])
    other = {**b, "instrument": {**b["instrument"], "component_weights": {"A1": 2.0},
                                 "fingerprint": "x"}}
    with pytest.raises(MergeError, match="instrument"):
        merge([a, other])
    with pytest.raises(MergeError, match="schema version"):
        merge([a, {**b, "schema_version": 99}])


def test_merge_command_writes_the_national_table(provinces, tmp_path):
    _union, app_a, app_b = provinces
    paths = []
    for app, label in ((app_a, "A"), (app_b, "B")):
        _export(app, label, tmp_path)
        paths.append(str(tmp_path / f"{label}.json"))
    out = tmp_path / "national.csv"
    result = app_a.test_cli_runner().invoke(args=["national", "merge", *paths, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    units = {r["unit"] for r in rows}
    assert units == {NATIONAL, "A", "B"}
    [nat] = [r for r in rows if r["unit"] == NATIONAL and r["stat"] == "overall" and r["period"] == "2026-H2"]
    assert 0 < float(nat["estimate"]) < 1
