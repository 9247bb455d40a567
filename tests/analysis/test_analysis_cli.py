"""The command line: JSON contract and clear errors (no tracebacks)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from analysis_fixtures import REFERENCE, reference_cases

from analysis.cli import KEYS, main

ROOT = Path(__file__).resolve().parents[2]
DATA = REFERENCE / "data"
CASES = {c["id"]: c for c in reference_cases()}


def run(capsys, *argv):
    code = main(["estimate", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_by_beta_matches_r(capsys):
    code, out, _ = run(capsys, DATA / "clus.csv", "--y", "b", "--weight", "w", "--strata",
                       "stratum", "--psu", "psu", "--by", "g", "--ci", "beta")
    assert code == 0
    rows = json.loads(out)
    assert [r["group"] for r in rows] == ["a", "b", "c"]
    for row in rows:
        assert list(row) == ["group", *KEYS]
        want = CASES[f"clus_g{row['group']}_prop_beta"]["expected"]
        for key in ("estimate", "se", "ci_low", "ci_high", "deff"):
            assert math.isclose(row[key], want[key], rel_tol=1e-6)
        assert row["df"] == want["df"] and row["n"] == want["n"]


def test_plain_mean_has_null_group_and_null_deff_when_unweighted(capsys):
    code, out, _ = run(capsys, DATA / "srs.csv", "--y", "y", "--level", "0.9")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 1 and rows[0]["group"] is None
    want = CASES["srs_mean90"]["expected"]
    assert math.isclose(rows[0]["ci_low"], want["ci_low"], rel_tol=1e-6)
    assert rows[0]["deff"] is None and rows[0]["n_eff"] is None


def test_lonely_psu_rules(capsys):
    args = [DATA / "lonely.csv", "--y", "y", "--weight", "w", "--strata", "stratum",
            "--psu", "psu"]
    code, out, err = run(capsys, *args)
    assert code == 2 and "only one PSU" in err and "Traceback" not in err and out == ""
    code, out, _ = run(capsys, *args, "--lonely-psu", "average")
    assert code == 0
    assert math.isclose(json.loads(out)[0]["se"],
                        CASES["lonely_average_mean"]["expected"]["se"], rel_tol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--y", "nope"], "column 'nope' not found"),
    (["--y", "g"], "'a' is not a number"),
    (["--y", "y", "--weight", "g"], "is not a number"),
    (["--y", "y", "--proportion"], "0/1"),
    (["--y", "b", "--weight", "w", "--ci", "wilson"], "Wilson"),
    (["--y", "y", "--by", "missing_col"], "not found"),
])
def test_errors_are_one_line(capsys, argv, message):
    code, out, err = run(capsys, DATA / "weighted.csv", *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def test_missing_file(capsys):
    code, _, err = run(capsys, DATA / "absent.csv", "--y", "y")
    assert code == 2 and "cannot read" in err


def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "analysis", "estimate",
                           str(DATA / "srs.csv"), "--y", "b", "--ci", "wilson", "--by", "g"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    rows = json.loads(proc.stdout)
    want = CASES["srs_ga_wilson"]["expected"]
    assert math.isclose(rows[0]["ci_low"], want["ci_low"], rel_tol=1e-9)
    assert math.isclose(rows[0]["ci_high"], want["ci_high"], rel_tol=1e-9)
