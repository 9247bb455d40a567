"""Helpers for the analysis tests: R reference fixtures and CSV loading."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

REFERENCE = Path(__file__).parent / "reference"


def load_csv(name: str) -> dict[str, np.ndarray]:
    with open(REFERENCE / "data" / f"{name}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        try:
            cols[key] = np.array([float(v) if v not in ("", "NA") else np.nan
                                  for v in values])
        except ValueError:
            cols[key] = np.array(values)
    return cols


def reference_cases() -> list[dict]:
    return json.loads((REFERENCE / "expected.json").read_text())["cases"]
