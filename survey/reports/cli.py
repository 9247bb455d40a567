"""`flask report unit|province` and `flask qr-posters`."""
from __future__ import annotations

from pathlib import Path
from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from analysis.report import (
    render_posters,
    render_province_docx,
    render_province_report,
    render_thematic_docx,
    render_thematic_report,
    render_unit_docx,
    render_unit_report,
)
from survey import i18n
from survey.args import PERIOD, cli_value, unit_by_code
from survey.extensions import db
from survey.indices import drill, report_data
from survey.models import Response, Unit
from survey.replica import replica_reads
from survey.reports import batch, bp
from survey.reports.jobs import draw_unit
from survey.reports.queue import run_queued


def _unit(code: str) -> Unit:
    return cli_value(unit_by_code, code)


FORMAT = click.option("--format", "fmt", type=click.Choice(["pdf", "docx"]), default="pdf", show_default=True,
                      help="PDF, hoặc văn bản Word (.docx) để chỉnh sửa.")
# Every report command: the PDF's language (the English catalogue in translations/).
LANG = click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
                    help="Ngôn ngữ của báo cáo (vi: tiếng Việt, en: tiếng Anh).")


@bp.cli.group("report")
def report() -> None:
    """Reports (PDF or Word) of a unit, of the whole province or of a thematic campaign."""


@report.command("unit")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị.")
@click.option("--period", type=PERIOD, required=True, help="Kỳ báo cáo, ví dụ 2026-H1.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@FORMAT
@LANG
@with_appcontext
def report_unit(unit_code: str, period: str, output: Path, fmt: str, lang: str) -> None:
    """One unit's period report."""
    unit = _unit(unit_code)
    output.parent.mkdir(parents=True, exist_ok=True)
    data = report_data.unit_report_data(unit, period, lang=lang)
    output.write_bytes(render_unit_report(data, translations=i18n.translations(lang)) if fmt == "pdf"
                       else render_unit_docx(data))
    click.echo(f"Đã ghi {output}")


@report.command("province")
@click.option("--period", type=PERIOD, required=True, help="Kỳ báo cáo, ví dụ 2026-H1.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--queue/--inline", "use_queue", default=None,
              help="Dùng hàng đợi RQ (mặc định: khi có REDIS_URL).")
@click.option("--workers", default=0, show_default=True,
              help="Số worker RQ chạy tạm trên máy này cho đợt này (0: dùng các worker đang chạy).")
@click.option("--chunk", default=0, help="Số đơn vị mỗi việc trong hàng đợi (0: tự chọn).")
@click.option("--fresh", is_flag=True, help="Vẽ lại tất cả, bỏ qua các báo cáo đã xong của lần chạy trước.")
@click.option("--timeout", default=3600, show_default=True, help="Giây chờ worker RQ.")
@FORMAT
@LANG
@with_appcontext
def report_province(period: str, output: Path, use_queue: bool | None, workers: int, chunk: int,
                    fresh: bool, timeout: int, fmt: str, lang: str) -> None:
    """The province report plus one report per unit with responses; resumes an interrupted run.

    Finished reports are listed in OUTPUT/.manifest-PERIOD.jsonl (one manifest per format and
    language); a re-run skips them (see survey/reports/batch.py), so after a crash run the same
    command again.
    """
    output.mkdir(parents=True, exist_ok=True)
    codes = list(db.session.scalars(
        select(Unit.code).where(Unit.id.in_(select(Response.unit_id).where(Response.period == period)))
        .order_by(Unit.code)).all())
    batch.clean_parts(output, period, fmt)  # a killed run's half-written files (no writer runs yet)
    if fresh:
        batch.manifest_path(output, period, fmt, lang).unlink(missing_ok=True)
    done = batch.done_codes(output, period, codes, fmt, lang)
    todo = [c for c in codes if c not in done]
    if done:
        click.echo(f"Tiếp tục: {len(done)}/{len(codes)} báo cáo đơn vị đã xong từ lần chạy trước.")
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    redis_url = current_app.config.get("REDIS_URL")
    use_queue = bool(redis_url) if use_queue is None else use_queue
    if use_queue and not redis_url:
        raise click.ClickException("--queue cần REDIS_URL.")
    progress = batch.Progress(output, period, todo, len(codes), click.echo, fmt, lang)
    if todo and use_queue:
        size = chunk or max(1, min(20, len(todo) // (4 * max(workers, 2)) or 1))
        run_queued(cast(str, redis_url), url, period, output, todo, size, workers, timeout, progress,
                   fmt, lang)  # REDIS_URL checked above
    elif todo:
        # The batch only reads (the replica when there is one); the province once for all units.
        with replica_reads(), drill.shared_ranking():
            for code in todo:  # in this process, with this app: one unit at a time, each kept at once
                batch.render_missing(output, period, [code], lambda c: draw_unit(c, period, fmt, lang), fmt, lang)
                progress.poll()
    province_file = output / f"bao-cao-tinh-{period}.{fmt}"
    data = report_data.province_report_data(period, lang=lang)
    batch.write_atomic(province_file, render_province_report(data, translations=i18n.translations(lang))
                       if fmt == "pdf" else render_province_docx(data))
    click.echo(f"Đã ghi {len(codes)} báo cáo đơn vị và {province_file}")


@report.command("thematic")
@click.option("--survey", "survey_code", required=True, help="Mã đợt khảo sát chuyên đề.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@FORMAT
@LANG
@with_appcontext
def report_thematic(survey_code: str, output: Path, fmt: str, lang: str) -> None:
    """A thematic campaign's report, pooled over its target units."""
    from survey.indices.pooled import survey_by_code

    survey = survey_by_code(survey_code)
    if survey is None or survey.kind != "thematic":
        raise click.ClickException(f"Không có đợt khảo sát chuyên đề mã {survey_code}.")
    output.parent.mkdir(parents=True, exist_ok=True)
    data = report_data.thematic_report_data(survey, lang=lang)
    output.write_bytes(render_thematic_report(data, translations=i18n.translations(lang)) if fmt == "pdf"
                       else render_thematic_docx(data))
    click.echo(f"Đã ghi {output}")


@bp.cli.command("qr-posters")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@LANG
@with_appcontext
def qr_posters(unit_code: str, output: Path, lang: str) -> None:
    """One A4 QR poster per active counter of a unit."""
    unit = _unit(unit_code)
    output.parent.mkdir(parents=True, exist_ok=True)
    with current_app.test_request_context():  # signed URLs are built with url_for
        posters = report_data.posters_for(unit)
        output.write_bytes(render_posters(posters, unit_name=unit.name, translations=i18n.translations(lang)))
    click.echo(f"Đã ghi {len(posters)} áp phích vào {output}")
