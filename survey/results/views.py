"""/ket-qua, /ket-qua.json, /ket-qua.csv: the same figures for people and for programs.

`?ky=2026-H1` picks the half-year (the one period rule of survey/args.py); without it, the
latest half-year with responses. A period the rule refuses is a 404 here: the page is public
and has no form to show an error on. No session is read or written, so the answers may sit in
any cache for CACHE_SECONDS.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

from flask import Response, abort, jsonify, render_template, request

from analysis import Estimate
from analysis.report.format_vi import format_date, format_int, format_interval, format_percent, period_label
from survey.args import BadArgument, parse_period
from survey.catalog.periods import period_of
from survey.indices.exports import csv_chunks
from survey.results import bp
from survey.results.data import CACHE_SECONDS, Entity, Results, cached, latest_period, shown

NOT_ENOUGH = "chưa đủ số liệu"
CSV_COLUMNS = ("period", "unit_code", "unit_name", "responses", "measure", "estimate", "ci_low",
               "ci_high", "rank", "rank_best", "rank_worst", "reliable")


def _chosen() -> Results:
    raw = request.args.get("ky", "")
    if raw.strip():
        try:
            period = parse_period(raw)
        except BadArgument:
            abort(404)
    else:
        period = latest_period() or period_of(datetime.now(timezone.utc))
    return cached(period)


def _public(response: Response) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


# ---------------------------------------------------------------- the page

def figure_text(est: Estimate | None, responses: int) -> str:
    """"85,1%", or "chưa đủ số liệu" for anything not reliable (never a bare percentage)."""
    return format_percent(est.estimate) if est is not None and shown(est, responses) else NOT_ENOUGH


def interval_text(est: Estimate | None, responses: int) -> str:
    return format_interval(est.ci_low, est.ci_high) if est is not None and shown(est, responses) else ""


def rank_text(est: Estimate | None, responses: int) -> str:
    """"2", or "2–4" when the intervals allow ranks 2 to 4; "" when not ranked."""
    if est is None or not shown(est, responses) or est.rank < 1:
        return ""
    return f"{est.rank_best}–{est.rank_worst}" if est.tied else str(est.rank)


@bp.get("/ket-qua")
def index():
    data = _chosen()
    return _public(Response(render_template(
        "results/index.html", data=data, period_label=period_label, figure=figure_text,
        interval=interval_text, rank=rank_text, format_int=format_int, format_date=format_date,
        json_url=f"/ket-qua.json?ky={data.period}", csv_url=f"/ket-qua.csv?ky={data.period}")))


# ---------------------------------------------------------------- machine-readable copies

def _estimate_json(est: Estimate | None, responses: int) -> dict[str, Any]:
    if est is None or not shown(est, responses):
        return {"estimate": None, "ci_low": None, "ci_high": None, "reliable": False}
    return {"estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high, "reliable": True}


def _entity_json(e: Entity, ranked: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"code": e.code, "name": e.name, "responses": e.responses,
                           "overall": _estimate_json(e.overall, e.responses),
                           "components": {code: {"name": name, **_estimate_json(est, e.responses)}
                                          for code, name, est in e.components},
                           "trend": [{"period": p.period, **_estimate_json(p.overall, p.responses)}
                                     for p in e.trend]}
    if ranked:
        est = e.overall
        out["rank"] = ({"rank": est.rank, "best": est.rank_best, "worst": est.rank_worst}
                       if est is not None and shown(est, e.responses) and est.rank > 0 else None)
    return out


@bp.get("/ket-qua.json")
def as_json():
    data = _chosen()
    return _public(jsonify({
        "period": data.period,
        "province": _entity_json(data.province, ranked=False) if data.province else None,
        "units": [_entity_json(u, ranked=True) for u in data.units],
        "answers": [{"unit": a.unit_name, "date": a.published_on.isoformat() if a.published_on else None,
                     "text": a.text} for a in data.answers],
    }))


def _csv_rows(data: Results) -> Iterator[list[Any]]:
    yield list(CSV_COLUMNS)
    entities = ([data.province] if data.province else []) + list(data.units)
    for e in entities:
        measures = [("overall", e.overall)] + [(code, est) for code, _name, est in e.components]
        for measure, est in measures:
            if est is None or not shown(est, e.responses):
                yield [data.period, e.code or "", e.name, e.responses, measure,
                       "", "", "", "", "", "", "false"]
                continue
            # Ranks are among units; the province (code None) has none.
            ranks = ([est.rank, est.rank_best, est.rank_worst]
                     if measure == "overall" and e.code is not None and est.rank > 0 else ["", "", ""])
            yield [data.period, e.code or "", e.name, e.responses, measure,
                   est.estimate, est.ci_low, est.ci_high, *ranks, "true"]


@bp.get("/ket-qua.csv")
def as_csv():
    data = _chosen()
    response = Response(csv_chunks(_csv_rows(data)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="ket-qua-{data.period}.csv"'
    return _public(response)
