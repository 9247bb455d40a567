"""`flask report unit|province` and `flask qr-posters`."""
from __future__ import annotations

import time
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
from survey.indices import report_data
from survey.models import Response, Unit
from survey.reports import bp
from survey.reports.jobs import render_unit_to_file


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
@click.option("--timeout", default=3600, show_default=True, help="Giây chờ worker RQ.")
@FORMAT
@LANG
@with_appcontext
def report_province(period: str, output: Path, use_queue: bool | None, timeout: int, fmt: str,
                    lang: str) -> None:
    """The province report plus one report per unit with responses, with a progress bar."""
    output.mkdir(parents=True, exist_ok=True)
    codes = db.session.scalars(
        select(Unit.code).where(Unit.id.in_(select(Response.unit_id).where(Response.period == period)))
        .order_by(Unit.code)).all()
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    redis_url = current_app.config.get("REDIS_URL")
    use_queue = bool(redis_url) if use_queue is None else use_queue
    if use_queue and not redis_url:
        raise click.ClickException("--queue cần REDIS_URL.")
    targets = [(code, str(output / f"bao-cao-{code}-{period}.{fmt}")) for code in codes]
    if use_queue:
        _run_queued(cast(str, redis_url), url, period, targets, timeout, lang)  # checked above
    else:
        with click.progressbar(targets, label="Báo cáo đơn vị", show_pos=True) as bar:
            for code, path in bar:
                render_unit_to_file(url, code, period, path, lang)
    province_file = output / f"bao-cao-tinh-{period}.{fmt}"
    data = report_data.province_report_data(period, lang=lang)
    province_file.write_bytes(render_province_report(data, translations=i18n.translations(lang))
                              if fmt == "pdf" else render_province_docx(data))
    click.echo(f"Đã ghi {len(targets)} báo cáo đơn vị và {province_file}")


def _run_queued(redis_url: str, db_url: str, period: str, targets: list[tuple[str, str]], timeout: int,
                lang: str = "vi") -> None:
    from redis import Redis
    from rq import Queue

    name = current_app.config["REPORT_QUEUE"]
    queue = Queue(name, connection=Redis.from_url(redis_url))
    jobs = [queue.enqueue(render_unit_to_file, db_url, code, period, path, lang, job_timeout=600)
            for code, path in targets]
    click.echo(f"Đã đưa {len(jobs)} báo cáo vào hàng đợi '{name}' (cần `rq worker {name}` đang chạy).")
    deadline = time.monotonic() + timeout
    with click.progressbar(length=len(jobs), label="Báo cáo đơn vị", show_pos=True) as bar:
        done: set[str] = set()
        while len(done) < len(jobs):
            for job in jobs:
                if job.id in done:
                    continue
                status = job.get_status(refresh=True)
                if status == "failed":
                    result = job.latest_result()
                    reason = result.exc_string.strip().splitlines()[-1] if result and result.exc_string else ""
                    raise click.ClickException(f"Báo cáo {job.args[1]} lỗi: {reason}")
                if status == "finished":
                    done.add(job.id)
                    bar.update(1)
            if time.monotonic() > deadline:
                raise click.ClickException(f"Hết thời gian chờ: {len(jobs) - len(done)} báo cáo chưa xong.")
            time.sleep(0.2)


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
