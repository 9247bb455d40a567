"""``python -m analysis estimate FILE.csv --y COL ...``: estimates as JSON on stdout.

The JSON shape is a stable contract: a list of objects with keys
``group, estimate, se, ci_low, ci_high, n, n_eff, deff, df`` (``group`` null without
``--by``; NaN and infinities print as null).  Empty y cells are missing and left out.
Errors print one line to stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from typing import Any, Sequence

import numpy as np

from .design import LONELY_PSU_RULES, Design, DesignError
from .estimate import Estimate
from .estimators import CI_METHODS, by, mean, proportion

KEYS = ("estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff", "df")


class CLIError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis",
                                description="Design-based survey estimates (R survey style).")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("estimate", help="weighted mean or proportion with CI")
    e.add_argument("file", help="CSV file with a header row")
    e.add_argument("--y", required=True, help="column to estimate")
    e.add_argument("--weight", help="sampling weight column (default: all 1)")
    e.add_argument("--strata", help="stratum column")
    e.add_argument("--psu", help="PSU (cluster) column, nested in strata")
    e.add_argument("--by", help="domain column: one estimate per value")
    e.add_argument("--proportion", action="store_true", help="y is 0/1")
    e.add_argument("--ci", choices=CI_METHODS,
                   help="interval: mean (t), logit, beta (Korn-Graubard), wilson; "
                        "default mean, or logit with --proportion")
    e.add_argument("--level", type=float, default=0.95)
    e.add_argument("--lonely-psu", choices=LONELY_PSU_RULES, default="error")
    return p


def _read(path: str) -> dict[str, list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols: dict[str, list[str]] = {name: [] for name in reader.fieldnames or []}
            for row in reader:
                for name in cols:
                    cols[name].append((row.get(name) or "").strip())
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    return cols


def _column(cols: dict[str, list[str]], name: str) -> list[str]:
    if name not in cols:
        raise CLIError(f"column {name!r} not found; the file has: {', '.join(cols)}")
    return cols[name]


def _numeric(cols: dict[str, list[str]], name: str, allow_missing: bool) -> np.ndarray:
    out = np.empty(len(_column(cols, name)))
    for i, text in enumerate(cols[name]):
        if text == "" and allow_missing:
            out[i] = math.nan
            continue
        try:
            out[i] = float(text)
        except ValueError:
            raise CLIError(f"column {name!r}, row {i + 2}: {text!r} is not a number") from None
        if not math.isfinite(out[i]):
            raise CLIError(f"column {name!r}, row {i + 2}: {text!r} is not a finite number")
    return out


def _labels(cols: dict[str, list[str]], name: str | None) -> np.ndarray | None:
    if name is None:
        return None
    values = _column(cols, name)
    if any(v == "" for v in values):
        raise CLIError(f"column {name!r} has empty cells")
    return np.array(values)


def _record(group: str | None, est: Estimate) -> dict[str, Any]:
    rec: dict[str, Any] = {"group": group}
    for key in KEYS:
        value = getattr(est, key)
        rec[key] = value if isinstance(value, int) or math.isfinite(value) else None
    return rec


def run_estimate(args: argparse.Namespace) -> list[dict[str, Any]]:
    cols = _read(args.file)
    ci = args.ci or ("logit" if args.proportion else "mean")
    is_prop = args.proportion or ci != "mean"
    y = _numeric(cols, args.y, allow_missing=True)
    if is_prop and not np.all(np.isnan(y) | (y == 0) | (y == 1)):
        raise CLIError(f"column {args.y!r} must hold 0/1 values for a proportion")
    weights = _numeric(cols, args.weight, allow_missing=False) if args.weight else None
    strata, psu = _labels(cols, args.strata), _labels(cols, args.psu)
    groups = _column(cols, args.by) if args.by else None
    if len(y) == 0:
        raise CLIError("the file has no data rows")
    design = Design.from_arrays(weights=weights, strata=strata, psu=psu,
                                lonely_psu=args.lonely_psu, n=len(y))
    if groups is not None:
        g = np.array([v if v != "" else None for v in groups], dtype=object)
        res = by(design, y, g, proportion=is_prop, ci=ci, level=args.level)
        return [_record(str(k), v) for k, v in res.items()]
    est = (proportion(design, y, ci=ci, level=args.level) if is_prop
           else mean(design, y, level=args.level))
    return [_record(None, est)]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = run_estimate(args)
    except (CLIError, DesignError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0
