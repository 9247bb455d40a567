"""Configuration from environment variables, with defaults that run with nothing installed."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Operators paste libpq URLs; SQLAlchemy needs the driver named for psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    path = Path(os.environ.get("SQLITE_PATH", ROOT / "instance" / "survey.sqlite3"))
    return f"sqlite:///{path}"


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    # Signs the QR tokens printed on posters (default: SECRET_KEY) and keys the dossier hashes, so
    # rotating SECRET_KEY never invalidates a poster. Old QR keys, comma-separated, stay accepted.
    QR_SIGNING_KEY = os.environ.get("QR_SIGNING_KEY") or None
    QR_SIGNING_KEY_FALLBACKS = os.environ.get("QR_SIGNING_KEY_FALLBACKS", "")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Public base URL printed into QR codes, e.g. https://khaosat.tinh.gov.vn
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # A citizen may take a while at the counter; a stale CSRF token re-shows the form anyway.
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    # The whole citizen form is a few KB; anything far larger is not a citizen.
    MAX_CONTENT_LENGTH = 64 * 1024
    COMMENT_MAX_LENGTH = 1000
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REDIS_URL = os.environ.get("REDIS_URL")
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Stored submissions per phone and per counter QR code; a busy provincial counter serves a
    # few hundred people a day, a kiosk tablet adds its own channel on the same counter.
    SUBMIT_LIMIT_PER_CLIENT = os.environ.get("SUBMIT_LIMIT_PER_CLIENT", "5 per 10 minutes; 20 per day")
    SUBMIT_LIMIT_PER_COUNTER = os.environ.get("SUBMIT_LIMIT_PER_COUNTER", "120 per hour; 1000 per day")
    # Stored submissions from one address before it is refused (429, answers kept), to protect the
    # database: one every 2 s sustained, ~7x a whole one-stop centre (some 20 counters, a citizen
    # per counter every 5 minutes at peak) behind its shared Wi-Fi. No daily part: a daily cap
    # would lock a centre's Wi-Fi out for the rest of the day. Below it everything is stored.
    SUBMIT_FLOOD_LIMIT = os.environ.get("SUBMIT_FLOOD_LIMIT", "300 per 10 minutes")
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
    # Behind a TLS-terminating proxy that does not forward the scheme, still send HSTS.
    FORCE_HSTS = os.environ.get("FORCE_HSTS", "0") == "1"
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute; 50 per hour")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    QR_OUTPUT_DIR = os.environ.get("QR_OUTPUT_DIR", str(ROOT / "instance" / "qr"))
