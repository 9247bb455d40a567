"""`flask national export` (a province's sums) and `flask national merge` (the national table)."""
from __future__ import annotations

import csv
import json
import sys
from contextlib import nullcontext
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from survey.access import descendants
from survey.args import PERIOD, cli_value, unit_by_code
from survey.dashboards.cli import ESTIMATE_FIELDS
from survey.extensions import db
from survey.indices.national import NATIONAL, MergeError, export_sums, merge
from survey.models import Unit


@click.group("national")
def national() -> None:
    """Toàn quốc: xuất tổng theo tầng của tỉnh, gộp các tỉnh (docs/scale.md)."""


@national.command("export")
@click.option("--period", "periods", type=PERIOD, multiple=True, required=True,
              help='Kỳ báo cáo, ví dụ "2026-H2" (có thể lặp lại).')
@click.option("--province", default=None, help="Mã tỉnh ghi vào tệp (mặc định: mã đơn vị gốc).")
@click.option("--unit", "unit_code", default=None, help="Chỉ đơn vị này và các đơn vị trực thuộc.")
@click.option("--survey", "survey_code", default="SIPAS", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export_command(periods: tuple[str, ...], province: str | None, unit_code: str | None,
                   survey_code: str, output: str) -> None:
    """Write the province's weighted per-stratum sums (JSON): no response leaves the province."""
    unit_ids = None
    root = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id)).first()
    if unit_code:
        root = cli_value(unit_by_code, unit_code)
        unit_ids = descendants({root.id})
    label = province or (root.code if root else "")
    try:
        data = export_sums(label, list(periods), unit_ids, survey_code, root.name if root else "")
    except MergeError as error:
        raise click.ClickException(str(error)) from None
    Path(output).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    click.echo(f"{output}: {label}, {len(data['strata']['n_h'])} tầng, "
               f"{sum(data['strata']['n_h'])} phiếu, {len(data['cells']['n'])} ô.")


@national.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Tệp CSV (mặc định: in ra màn hình).")
def merge_command(files: tuple[str, ...], output: str | None) -> None:
    """Merge provinces' sums into the national index table (CSV: nation VN, then provinces)."""
    loaded = [json.loads(Path(f).read_text(encoding="utf-8")) for f in files]
    try:
        estimates = merge(loaded)
    except MergeError as error:
        raise click.ClickException(str(error)) from None
    with (open(output, "w", newline="", encoding="utf-8") if output else nullcontext(sys.stdout)) as out:
        writer = csv.writer(out)
        writer.writerow(("unit",) + ESTIMATE_FIELDS)
        for e in estimates:
            writer.writerow([e.unit] + [getattr(e, k) for k in ESTIMATE_FIELDS])
    overall = [e for e in estimates if e.unit == NATIONAL and e.stat == "overall"]
    for e in overall:
        click.echo(f"{e.period}: {NATIONAL} {e.estimate:.6f} (SE {e.se:.6f}, n {e.n}) "
                   f"từ {len(loaded)} tỉnh", err=True)
