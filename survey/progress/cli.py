"""`flask report progress` (on survey/reports' `report` group) and `flask digest`."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from survey.args import PERIOD, cli_value, unit_by_code
from survey.progress import bp
from survey.reports.cli import report


@report.command("progress")
@click.option("--unit", "unit_code", default=None, help="Mã đơn vị.")
@click.option("--province", is_flag=True, help="Báo cáo tổng hợp toàn tỉnh (Sở Nội vụ).")
@click.option("--period", type=PERIOD, required=True, help="Kỳ báo cáo, ví dụ 2026-H2.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Tệp ghi ra: .pdf hoặc .docx (định dạng theo phần mở rộng).")
@with_appcontext
def report_progress(unit_code: str | None, province: bool, period: str, output: Path) -> None:
    """The 6-month progress report of a unit (--unit) or of the province (--province)."""
    from survey.progress.data import province_progress, unit_progress
    from survey.progress.output import FORMATS, render

    if bool(unit_code) == province:
        raise click.UsageError("Chọn một trong hai: --unit MÃ hoặc --province.")
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise click.UsageError("Tệp ra phải có đuôi .pdf hoặc .docx.")
    if province:
        data = province_progress(period)
    else:
        data = unit_progress(cli_value(unit_by_code, unit_code), period)
    content, _mimetype, _name = render(data, fmt)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    click.echo(f"Đã ghi {output}")


def _day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("ngày viết dạng YYYY-MM-DD, ví dụ 2026-12-01.") from None


@bp.cli.command("digest")
@click.option("--day", callback=_day, default=None,
              help="Ngày gửi (YYYY-MM-DD, giờ Việt Nam; mặc định hôm nay). Tin trong ngày trước đó.")
@click.option("--dry-run", is_flag=True, help="Chỉ in ra, không gửi và không ghi nhận đã gửi.")
@with_appcontext
def digest_command(day: date | None, dry_run: bool) -> None:
    """The daily digest e-mail to each active official with an e-mail address."""
    from survey.progress.digest import run_digest

    totals = run_digest(day, dry_run=dry_run, echo=click.echo)
    click.echo("Tổng: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
