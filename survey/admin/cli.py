"""Operator commands: `flask import-units FILE.csv`, `flask import-volumes FILE.csv`."""
from __future__ import annotations

from pathlib import Path

import click

from survey.admin import bp
from survey.extensions import db
from survey.services import audit, imports


def _report(rejected: imports.ImportRejected) -> None:
    for error in rejected.errors:
        click.echo(str(error), err=True)
    raise click.ClickException(
        f"Tệp có {len(rejected.errors)} lỗi; không có dòng nào được ghi. Sửa các dòng trên rồi nhập lại.")


@bp.cli.command("import-units")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_units(path: Path) -> None:
    """Create or update units from a CSV (code, name, kind, parent_code); all rows or none."""
    try:
        result = imports.apply_units(imports.parse_units_csv(path.read_bytes()))
    except imports.ImportRejected as rejected:
        db.session.rollback()
        _report(rejected)
    audit.record("units_imported", target=path.name, via="cli", created=result.created, updated=result.updated)
    db.session.commit()
    click.echo(f"Đã nhập {result.rows} đơn vị: {result.created} mới, {result.updated} cập nhật, "
               f"{result.unchanged} không đổi.")


@bp.cli.command("import-volumes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_volumes(path: Path) -> None:
    """Load service volumes (unit_code, period, field, dossiers) from the one-stop system's CSV."""
    try:
        result = imports.apply_volumes(imports.parse_volumes_csv(path.read_bytes()))
    except imports.ImportRejected as rejected:
        db.session.rollback()
        _report(rejected)
    imports.record_volume_change(result, via="cli", filename=path.name)
    db.session.commit()
    click.echo(f"Đã nhập {result.rows} dòng khối lượng hồ sơ ({', '.join(result.periods)}): "
               f"{result.created} mới, {result.updated} cập nhật, {result.unchanged} không đổi.")
