"""Operator commands: `flask init-db`, `flask seed-demo`, `flask qr-codes`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import qrcode
import qrcode.image.svg
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from survey.args import cli_value, unit_by_code
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.intake.tokens import survey_url
from survey.models import Counter, Survey
from survey.short_links import short_url


def register_cli(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(qr_codes)
    app.cli.add_command(create_user_command)
    app.cli.add_command(reset_password_command)
    app.cli.add_command(purge_command)
    from survey.partitions import partitions_command

    app.cli.add_command(partitions_command)
    from survey.backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    from survey.indices.national_cli import national

    app.cli.add_command(national)
    from survey.i18n import i18n_command

    app.cli.add_command(i18n_command)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the schema with the Alembic migrations."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("Cơ sở dữ liệu đã được cập nhật lên phiên bản mới nhất.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo province (idempotent)."""
    from survey.demo import seed_demo

    counts = seed_demo()
    click.echo(f"Dữ liệu mẫu: {counts['units']} đơn vị, {counts['counters']} quầy.")


def write_qr(url: str, stem: Path) -> tuple[Path, Path]:
    """PNG for printing shops, SVG for posters; medium error correction survives a worn print."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    # Open files, not paths: qrcode's image classes take a stream (PyPNG's would not take a Path).
    with png.open("wb") as out:
        qr.make_image().save(out)
    with svg.open("wb") as out:
        qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return png, svg


@click.command("qr-codes")
@with_appcontext
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Thư mục ghi mã QR (mặc định: instance/qr).")
@click.option("--unit", "unit_code", default=None, help="Chỉ ghi mã QR của một đơn vị (mã đơn vị).")
@click.option("--survey", "survey_code", default=STANDING_CODE, show_default=True)
def qr_codes(output: Path | None, unit_code: str | None, survey_code: str) -> None:
    """Write a QR code (PNG and SVG) for each active counter."""
    output = output or Path(current_app.config["QR_OUTPUT_DIR"])
    survey = db.session.scalar(select(Survey).where(Survey.code == survey_code))
    if survey is None:
        raise click.ClickException(f"Không có khảo sát mã {survey_code}. Chạy `flask seed-demo` trước?")
    query = select(Counter).where(Counter.active.is_(True)).order_by(Counter.code)
    if unit_code:
        query = query.where(Counter.unit_id == cli_value(unit_by_code, unit_code).id)
    output.mkdir(parents=True, exist_ok=True)
    counters = db.session.scalars(query).all()
    with current_app.test_request_context():
        for counter in counters:
            url = survey_url(counter.id, survey.id, counter.token_version)
            write_qr(url, output / counter.code)
            # The typed link carries the token version too: printed under the QR code.
            click.echo(f"{counter.code}\t{url}\t{short_url(counter.code, counter.token_version)}")
    click.echo(f"Đã ghi {len(counters)} mã QR (PNG và SVG) vào {output}", err=True)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True, help="Họ tên hiển thị.")
@click.option("--role", type=click.Choice(["admin", "analyst", "official"]), required=True)
@click.option("--unit", "unit_code", default=None, help="Mã đơn vị (bắt buộc với vai trò official).")
@click.password_option(help="Ít nhất 10 ký tự.")
@with_appcontext
def create_user_command(email: str, name: str, role: str, unit_code: str | None, password: str) -> None:
    """Create an official's account."""
    from survey.services import accounts, audit

    # The unit is named as everywhere else in the CLI (survey/args.py); the service is given
    # the code of the unit found.
    unit = cli_value(unit_by_code, unit_code) if unit_code else None
    try:
        user = accounts.create_user(email, name, role, password, unit.code if unit else None)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    audit.record("user_created", target=user.email, role=role, via="cli")
    db.session.commit()
    click.echo(f"Đã tạo tài khoản {user.email} ({role}).")


@click.command("reset-password")
@click.argument("email")
@with_appcontext
def reset_password_command(email: str) -> None:
    """Give a user a one-time password that must be changed at next login."""
    from sqlalchemy import func

    from survey.models import User
    from survey.services import accounts, audit

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"Không có tài khoản {email}.")
    temporary = accounts.reset_password(user)
    audit.record("password_reset", target=user.email, via="cli")
    db.session.commit()
    click.echo(f"Mật khẩu tạm thời của {user.email}: {temporary}")
    click.echo("Người dùng phải đổi mật khẩu khi đăng nhập lần tới.", err=True)


PURGE_LABELS = {
    "client_salt": "muối băm máy khách của các ngày đã qua",
    "response.client_hash": "mã băm máy khách của phiếu cũ (đặt trống)",
    "login_failed": "nhật ký đăng nhập thất bại",
    "dossier_link": "liên kết hồ sơ đã dùng hoặc hết hạn",
    "rejected_response": "phiếu bị loại (kèm câu trả lời)",
    "feedback_case.contact": "liên hệ của người dân trong phản ánh đã đóng (đặt trống)",
}


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Chỉ đếm, không xóa gì.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Apply the retention periods (run daily from cron); idempotent."""
    from survey.services import audit, retention

    report = retention.purge(retention.Retention.from_config(current_app.config), dry_run=dry_run)
    verb = "Sẽ xóa" if dry_run else "Đã xóa"
    for rule, count in report.removed.items():
        click.echo(f"{verb} {count}\t{rule}\t{PURGE_LABELS[rule]}")
    if not dry_run:
        details: dict[str, Any] = {"via": "cli", **report.removed}
        audit.record("purge", **details)
        db.session.commit()
