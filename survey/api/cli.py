"""`flask create-api-token EMAIL --name NAME`: a token for a system account, printed once."""
from __future__ import annotations

import click
from sqlalchemy import func, select

from survey.api import bp
from survey.extensions import db
from survey.models import User
from survey.services import api_tokens, audit


@bp.cli.command("create-api-token")
@click.argument("email")
@click.option("--name", required=True, help="Tên gợi nhớ: hệ thống nào dùng khóa này.")
def create_api_token(email: str, name: str) -> None:
    """Create an API token for a user and print it (only its hash is stored)."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"Không có tài khoản {email}.")
    if not user.active:
        raise click.ClickException(f"Tài khoản {user.email} đã bị khóa.")
    token, plain = api_tokens.create(user, name)
    audit.record("api_token_created", target=f"api_token:{token.id}", name=token.name, owner=user.email,
                 via="cli")
    db.session.commit()
    click.echo(plain)
    click.echo(f"Khóa API \"{token.name}\" của {user.email}: chỉ hiện một lần, hãy lưu ngay.", err=True)
