"""`flask indices`: the SIPAS index table of a period, from the app database."""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Sequence

import click

from survey.access import descendants
from survey.args import PERIOD, cli_value, unit_by_code
from survey.dashboards import bp
from survey.dashboards.formatting import format_int, interval_text, measure_label, notes_text, rank_text, value_text
from survey.indices.aggregates import IndexRow, index_rows

HEADINGS = ("Mã", "Đơn vị", "Chỉ số", "Giá trị", "KTC 95%", "Số phiếu", "Hạng", "Ghi chú")
RAW_COLUMNS = ("unit_code", "unit_name", "unit_kind", "period", "stat", "measure", "estimate",
               "ci_low", "ci_high", "se", "n", "n_eff", "deff", "df", "reliable", "rank",
               "rank_best", "rank_worst", "weighted", "responses", "fallback_responses")
# The RAW_COLUMNS that are the estimate's own (the rest describe its unit and period).
ESTIMATE_FIELDS = ("period", "stat", "measure", "estimate", "ci_low", "ci_high", "se", "n",
                   "n_eff", "deff", "df", "reliable", "rank", "rank_best", "rank_worst")


def raw_record(row: IndexRow) -> dict[str, Any]:
    """The RAW_COLUMNS of a row as plain JSON/CSV values; NaN and infinities become None."""
    est = row.est
    values = {"unit_code": row.unit_code, "unit_name": row.unit_name, "unit_kind": row.unit_kind,
              **{k: getattr(est, k) for k in ESTIMATE_FIELDS},
              "weighted": row.weighted, "responses": row.responses,
              "fallback_responses": row.fallback_responses}
    return {k: None if isinstance(values[k], float) and not math.isfinite(values[k]) else values[k]
            for k in RAW_COLUMNS}


def table_cells(rows: Sequence[IndexRow]) -> list[list[str]]:
    """Rows as Vietnamese text cells: ranked rows first, unreliable ones after them."""
    ordered = sorted(rows, key=lambda r: (r.stat, r.measure, r.est.unreliable,
                                          r.est.rank, r.unit_code))
    return [[r.unit_code, r.unit_name, measure_label(r.stat, r.measure),
             value_text(r.stat, r.est.estimate),
             interval_text(r.stat, r.est.ci_low, r.est.ci_high), format_int(r.est.n),
             rank_text(r.est), notes_text(r)] for r in ordered]


def render_table(headings: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(headings)]
    numeric = {3, 4, 5}
    def line(values):
        return "  ".join(v.rjust(w) if i in numeric else v.ljust(w)
                         for i, (v, w) in enumerate(zip(values, widths))).rstrip()
    return "\n".join([line(headings), line(["-" * w for w in widths])] + [line(c) for c in cells])


def render_csv(rows: Sequence[IndexRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RAW_COLUMNS)
    writer.writeheader()
    writer.writerows(raw_record(r) for r in rows)
    return out.getvalue()


@bp.cli.command("indices")
@click.option("--period", type=PERIOD, required=True, help='Kỳ báo cáo, ví dụ "2026-H2".')
@click.option("--unit", "unit_code", default=None, help="Chỉ đơn vị này và các đơn vị trực thuộc.")
@click.option("--stat", type=click.Choice(["overall", "component", "rate", "score"]),
              default="overall", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--survey", "survey_code", default="SIPAS", show_default=True)
@click.option("--verified-only", is_flag=True,
              help="Chỉ tính phiếu đã xác thực (qua phiếu hẹn theo hồ sơ), để kiểm tra độ vững.")
def indices_command(period: str, unit_code: str | None, stat: str, fmt: str,
                    survey_code: str, verified_only: bool) -> None:
    """Print the SIPAS index table of a period (ranks are among all units of the province).

    --verified-only: from dossier-link responses alone; read live (the rollup does not split by
    channel)."""
    keep = None
    if unit_code:
        keep = descendants({cli_value(unit_by_code, unit_code).id})
    rows = [r for r in index_rows(period, None, survey_code, stats=(stat,), verified_only=verified_only)
            if keep is None or r.unit_id in keep]
    if fmt == "json":
        click.echo(json.dumps([raw_record(r) for r in rows], ensure_ascii=False, indent=1))
    elif fmt == "csv":
        click.echo(render_csv(rows), nl=False)
    elif not rows:
        click.echo(f"Chưa có phiếu nào trong kỳ {period}.")
    else:
        click.echo(render_table(HEADINGS, table_cells(rows)))


@bp.cli.command("seed-demo-responses")
@click.option("--per-unit", "n_per_unit", type=int, default=150, show_default=True,
              help="Số phiếu mỗi đơn vị mỗi kỳ.")
@click.option("--period", "periods", type=PERIOD, multiple=True, default=("2026-H1", "2026-H2"),
              show_default=True, help="Kỳ báo cáo (lặp lại tùy chọn cho nhiều kỳ).")
@click.option("--seed", type=int, default=2026, show_default=True)
def seed_demo_responses_command(n_per_unit: int, periods: tuple[str, ...], seed: int) -> None:
    """Replace the demo responses and service volumes (for the demo database only)."""
    from survey.services.demo_responses import seed_demo_responses

    try:
        counts = seed_demo_responses(n_per_unit=n_per_unit, periods=periods, seed=seed)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Phiếu mẫu: {format_int(counts['responses'])} phiếu, "
               f"{format_int(counts['volumes'])} dòng số liệu hồ sơ.")
    from survey.indices import rollups
    from survey.services.demo_campaign import seed_campaign_demo

    campaign = seed_campaign_demo(periods[0], seed)
    rollups.refresh()
    click.echo(f"Khảo sát chuyên đề mẫu (đã kết thúc): {format_int(campaign['responses'])} phiếu.")
    from survey.remediation.demo import seed_remediation_demo

    loop = seed_remediation_demo()
    if loop["tasks"]:
        click.echo(f"Kế hoạch khắc phục mẫu: {loop['tasks']} nhiệm vụ, bảng theo dõi {loop['criteria']} tiêu chí.")
    from survey.feedback.demo import demo_token, seed_feedback_demo

    cases = seed_feedback_demo()
    click.echo(f"Phản ánh mẫu: {format_int(cases)} phản ánh; liên kết của người dân, ví dụ "
               f"/phan-anh/{demo_token(0)}")


@bp.cli.command("rollup")
@click.option("--chunk", type=int, default=200_000, show_default=True,
              help="Số phiếu cộng dồn trong mỗi giao dịch.")
@click.option("--rebuild", is_flag=True, help="Xóa bảng cộng dồn và cộng lại từ đầu.")
def rollup_command(chunk: int, rebuild: bool) -> None:
    """Fold new responses into the per-stratum sums that index tables read (run from cron).

    Results are exact without it; it keeps dashboards and reports fast as responses grow.
    """
    from survey.indices import rollups

    if rebuild:
        rollups.reset()
    elif rollups.reset_stale():
        # Before counting pending responses: with none new, a weight change must still rebuild.
        click.echo("Trọng số thành phần đã thay đổi: cộng dồn lại từ đầu.")
    todo = rollups.pending()
    if not todo:
        click.echo("Không có phiếu mới cần cộng dồn.")
        return
    with click.progressbar(length=todo, label="Cộng dồn phiếu", show_pos=True) as bar:
        seen = [0]

        def advance(done: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        done = rollups.refresh(chunk=max(chunk, 1), progress=advance)
    click.echo(f"Đã cộng dồn {format_int(done)} phiếu.")
