"""What the write path keeps of a citizen, coarsened so the rated unit cannot find them again.

- The submission time is stored to the hour (the reporting period is computed from the exact
  time first): an exact time plus the counter could be joined with the one-stop system's log of
  who was served when.
- The client hash is an HMAC of the address under a random salt of the Vietnam day, kept in
  table client_salt and deleted after the day (`flask purge`): within the day it groups one
  phone's submissions for the stuffing signals; once the salt row is gone nobody, not even the
  holder of SECRET_KEY, can recompute which address made which hash.
- The dossier hash is keyed by the QR key family (QR_SIGNING_KEY, default SECRET_KEY), which
  does not change when SECRET_KEY is rotated, so one dossier stays one response across a session
  key rotation. Rotating QR_SIGNING_KEY itself changes the hashes of codes typed afterwards:
  rotate it between survey periods (README, "Rotating keys").
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import text

from survey.catalog.periods import VIETNAM
from survey.intake import citizen_connection
from survey.intake.tokens import qr_keys

_SALT_OF = text("SELECT salt FROM client_salt WHERE day = :day")
# Tolerates a concurrent insert by another worker: the first salt of the day wins, every worker
# then reads that one.
_NEW_SALT = text("INSERT INTO client_salt (day, salt) VALUES (:day, :salt) ON CONFLICT (day) DO NOTHING "
                 "RETURNING salt")


def to_the_hour(moment: datetime) -> datetime:
    """The stored submission time: the hour it falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def vietnam_day(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).date().isoformat()


def day_salt(moment: datetime) -> str:
    """The random salt of `moment`'s Vietnam day, created on first use, cached per worker."""
    day = vietnam_day(moment)
    cached = current_app.extensions.get("client_salt")
    if cached is not None and cached[0] == day:
        return cached[1]
    found = citizen_connection.first(_SALT_OF, {"day": day})
    if found is None:
        found = citizen_connection.first(_NEW_SALT, {"day": day, "salt": secrets.token_hex(32)})
        if found is None:  # another worker inserted it first
            found = citizen_connection.first(_SALT_OF, {"day": day})
    assert found is not None  # inserted, or another worker did
    # One tuple, replaced whole: threads of a worker read either day's pair, never a mix.
    current_app.extensions["client_salt"] = (day, found[0])
    return found[0]


def client_hash(address: str | None, moment: datetime) -> str | None:
    """HMAC of the client address under the day's salt; None without an address."""
    if not address:
        return None
    salt = day_salt(moment)
    return hmac.new(salt.encode(), address.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def keyed_hash(purpose: str, *parts: str) -> str:
    """The app's one keyed hash (dossier codes, pseudonyms, export order), each use under its own
    purpose label; keyed by the current QR key, which outlives SECRET_KEY rotations."""
    message = "\x1f".join((purpose, *parts))
    return hmac.new(qr_keys()[0].encode(), message.encode(), hashlib.sha256).hexdigest()


def dossier_hash(survey_id: int, dossier_code: str) -> str:
    """Keyed hash of a dossier code in a survey: the only form a dossier code is ever stored in."""
    # Case and spacing are how people mistype the same dossier code, not different dossiers.
    return keyed_hash("dossier", str(survey_id), dossier_code.strip().upper())
