"""Bearer tokens for /api/v1: shown once at creation, stored only as their SHA-256."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from survey.extensions import db
from survey.models import ApiToken, User

PREFIX = "ks_"  # recognisable in a leaked config file or a secret scanner
# last_used_at is a hint for administrators, not a log: writing it on every call is not worth it.
TOUCH_EVERY = timedelta(minutes=5)


def hash_token(token: str) -> str:
    # A fast hash is enough: the token is 256 random bits, not a guessable password.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token row (in the caller's transaction) and the plain token to show once."""
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:128], token_hash=hash_token(plain),
                     created_at=datetime.now(timezone.utc), revoked=False)
    db.session.add(token)
    db.session.flush()
    return token, plain


def user_for(authorization: str | None) -> User | None:
    """The active user behind an `Authorization: Bearer ...` header, or None."""
    scheme, _, plain = (authorization or "").partition(" ")
    plain = plain.strip()
    if scheme.lower() != "bearer" or not plain or len(plain) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or token.revoked or not token.user.active:
        return None
    now = datetime.now(timezone.utc)
    last = token.last_used_at
    if last is not None and last.tzinfo is None:  # SQLite returns naive UTC
        last = last.replace(tzinfo=timezone.utc)
    if last is None or now - last > TOUCH_EVERY:
        token.last_used_at = now
        db.session.commit()
    return token.user
