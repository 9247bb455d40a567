"""The national roll-up: provinces export their weighted per-stratum sums, a merge estimates.

Each province runs its own instance and database. Its index table is computed from per-stratum
sums (survey/indices/aggregates.py ``weighted``: n_h, w_h and, per stratum and measure, n,
Σw, Σwy, Σwy², Σw², Σw²y, Σw²y²). Strata are nested in units, units in provinces, so the
provinces' strata are disjoint and the national design is their union: a ratio estimate over
all strata and its linearised variance (a sum over strata of within-stratum terms) are exact
functions of these sums. No response or answer leaves the province; the merge gives the same
estimate and SE as one database holding every province's responses (tests/indices/
test_national.py checks 1e-9).

The file (JSON, :data:`SCHEMA_VERSION`) names the survey, its instrument (components, their
weights, item codes) and the periods; a merge refuses files that disagree on any of them, or
two files of one province. Floats are written with ``repr`` precision, so the round trip is exact.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import AbstractSet, Any, Sequence

import numpy as np
from sqlalchemy import select

from analysis import Estimate
from analysis.indices import index_table
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices.aggregates import STATS, SUMS, weighted
from survey.indices.stratum_sums import instrument_of, questions_of
from survey.models import Unit

FORMAT = "sipas-stratum-sums"
SCHEMA_VERSION = 1
NATIONAL = "VN"          # the unit key of the national rows


class MergeError(ValueError):
    """Files that cannot be merged (different survey, instrument, periods, or a repeat)."""


def _instrument_block(survey_code: str) -> dict[str, Any]:
    inst = instrument_of(survey_code)
    if inst is None:
        raise MergeError(f"survey {survey_code!r} not found")
    items = sorted({code for code, _t, _c, kind in questions_of(inst.survey_id) if kind == "likert5"})
    block = {"survey": survey_code, "components": list(inst.components),
             "component_weights": {c: inst.component_weights[c] for c in inst.components},
             "items": items}
    # One short fingerprint to compare and to print; the full block stays in the file.
    block["fingerprint"] = hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()[:16]
    return block


def export_sums(province: str, periods: Sequence[str], unit_ids: AbstractSet[int] | None = None,
                survey_code: str = STANDING_CODE, name: str = "") -> dict[str, Any]:
    """The province's weighted per-stratum sums for ``periods`` (counted responses only)."""
    inst = instrument_of(survey_code)
    if inst is None:
        raise MergeError(f"survey {survey_code!r} not found")
    data = weighted(inst, periods, unit_ids, STATS)
    codes = {i: c for i, c in db.session.execute(select(Unit.id, Unit.code))}
    strata = {"unit": [codes[s["unit_id"]] for s in data.strata],
              "period": [s["period"] for s in data.strata],
              "field": [s["field_key"] for s in data.strata],
              "n_h": [int(s["n_h"]) for s in data.strata],
              "w": [float(s["w"]) for s in data.strata]}
    cells = {k: np.asarray(data.cells[k]).tolist() for k in ("stratum", "stat", "measure") + SUMS}
    cells["stratum"] = [int(i) for i in cells["stratum"]]
    return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "province": province,
            "name": name, "periods": sorted(periods), "instrument": _instrument_block(survey_code),
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "strata": strata, "cells": cells}


def _check(files: Sequence[dict[str, Any]]) -> None:
    if not files:
        raise MergeError("no files to merge")
    seen: set[str] = set()
    first = files[0]
    for f in files:
        if f.get("format") != FORMAT or f.get("schema_version") != SCHEMA_VERSION:
            raise MergeError(f"{f.get('province')!r}: not a {FORMAT} file of schema version "
                             f"{SCHEMA_VERSION} (found {f.get('format')!r} {f.get('schema_version')!r})")
        if f["province"] in seen:
            raise MergeError(f"province {f['province']!r} appears twice")
        seen.add(f["province"])
        if f["instrument"] != first["instrument"]:
            raise MergeError(f"{f['province']!r}: instrument {f['instrument']['fingerprint']} differs "
                             f"from {first['province']!r}'s {first['instrument']['fingerprint']}")
        if f["periods"] != first["periods"]:
            raise MergeError(f"{f['province']!r}: periods {f['periods']} differ from {first['periods']}")


def merged_design(files: Sequence[dict[str, Any]], by_province: bool = False
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The frame and cells of analysis.indices.index_table over every file's strata.

    The domain ("unit") of every cell is the nation, or its province with ``by_province``.
    """
    _check(files)
    n_psu: list[np.ndarray] = []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("unit", "period", "stat", "measure",
                                                         "stratum") + SUMS}
    offset = 0
    for f in files:
        strata, cells = f["strata"], f["cells"]
        n_psu.append(np.asarray(strata["n_h"], dtype=np.int64))
        local = np.asarray(cells["stratum"], dtype=np.int64)
        periods = np.asarray(strata["period"] or [""])
        cols["unit"].append(np.full(len(local), f["province"] if by_province else NATIONAL))
        cols["period"].append(periods[local] if len(local) else np.array([], dtype=str))
        cols["stat"].append(np.asarray(cells["stat"], dtype=str))
        cols["measure"].append(np.asarray(cells["measure"], dtype=str))
        cols["stratum"].append(local + offset)
        for k in SUMS:
            cols[k].append(np.asarray(cells[k], dtype=np.int64 if k == "n" else float))
        offset += len(strata["n_h"])
    frame = {"stratum": np.arange(offset), "n_psu": np.concatenate(n_psu)}
    return frame, {k: np.concatenate(v) for k, v in cols.items()}


def merge(files: Sequence[dict[str, Any]]) -> list[Estimate]:
    """National rows (unit ``VN``) then provinces' rows (unit = province code, ranked among
    provinces), each in index_table's order."""
    national = index_table(*merged_design(files))
    provinces = index_table(*merged_design(files, by_province=True)) if len(files) > 1 else []
    return national + provinces
