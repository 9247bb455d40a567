"""Fixtures for the analysis tests (no database needed)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from analysis_fixtures import REFERENCE, load_csv  # noqa: E402


@pytest.fixture(scope="session")
def data_sets() -> dict[str, dict[str, np.ndarray]]:
    return {p.stem: load_csv(p.stem) for p in (REFERENCE / "data").glob("*.csv")}
