"""Configuration from environment variables, with defaults that run with nothing installed."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

# The key debug runs and tests fall back to. It is in this public repository, so anyone could
# sign an administrator's session cookie with it: refused outside debug and tests.
DEMO_SECRET_KEY = "dev-only-change-me"
# Keys written in this repository (the demo's, the tests'): named in the refusal, not only "short".
PUBLIC_KEYS = frozenset({DEMO_SECRET_KEY, "test-secret"})
MIN_KEY_LENGTH = 32  # characters: token_hex(32) gives 64, i.e. 256 random bits
MAKE_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"


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


def _key_list(value: str) -> list[str]:
    return [key.strip() for key in value.split(",") if key.strip()]


class Config:
    # Signs sessions and CSRF tokens (and, until QR_SIGNING_KEY is set, QR tokens).
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEMO_SECRET_KEY
    # Old keys still accepted for sessions and CSRF tokens while they are rotated out (the newest
    # SECRET_KEY signs): SECRET_KEY_FALLBACKS=old1,old2. Flask reads this name itself.
    SECRET_KEY_FALLBACKS = _key_list(os.environ.get("SECRET_KEY_FALLBACKS", ""))
    # Signs the QR tokens printed on posters (default: SECRET_KEY) and keys the dossier hashes, so
    # rotating SECRET_KEY never invalidates a poster. Old QR keys, comma-separated, stay accepted.
    QR_SIGNING_KEY = os.environ.get("QR_SIGNING_KEY") or None
    QR_SIGNING_KEY_FALLBACKS = os.environ.get("QR_SIGNING_KEY_FALLBACKS", "")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # A streaming replica for dashboards, reports and the read API (survey/replica.py says which
    # requests); unset: everything reads the primary. REPLICA_STICKY_SECONDS: after an official's
    # write, that browser reads the primary this long (read-your-writes over replication lag).
    DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL") or None
    REPLICA_STICKY_SECONDS = float(os.environ.get("REPLICA_STICKY_SECONDS", "10"))
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
    # The RQ queue `flask report province` fills; `rq worker <name>` serves it.
    REPORT_QUEUE = os.environ.get("REPORT_QUEUE", "reports")
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
    # Stuffing signals at submission (survey/review/signals.py; thresholds and why: docs/integrity.md).
    SIGNAL_BURST_COUNT = int(os.environ.get("SIGNAL_BURST_COUNT", "20"))
    SIGNAL_BURST_MINUTES = int(os.environ.get("SIGNAL_BURST_MINUTES", "10"))
    SIGNAL_OPENING_HOURS = os.environ.get("SIGNAL_OPENING_HOURS", "Mon-Sat 06:30-19:00")
    SIGNAL_SAME_CLIENT_PER_COUNTER = int(os.environ.get("SIGNAL_SAME_CLIENT_PER_COUNTER", "10"))
    SIGNAL_SAME_CLIENT_PER_DAY = int(os.environ.get("SIGNAL_SAME_CLIENT_PER_DAY", "40"))
    SIGNAL_IDENTICAL_RUN = int(os.environ.get("SIGNAL_IDENTICAL_RUN", "15"))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    QR_OUTPUT_DIR = os.environ.get("QR_OUTPUT_DIR", str(ROOT / "instance" / "qr"))
    # The daily digest (`flask digest`, survey/progress/digest.py): SMTP through smtplib; with
    # MAIL_SERVER unset the messages are written to the log instead of sent.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"   # STARTTLS
    MAIL_PORT = int(os.environ.get("MAIL_PORT") or (587 if MAIL_USE_TLS else 25))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_FROM = os.environ.get("MAIL_FROM", "noreply@localhost")
    # Evidence files of remediation tasks (hồ sơ kiểm chứng): stored here under random names and
    # saved by `flask backup` next to the database dump. Only the upload route raises the request
    # body limit (MAX_CONTENT_LENGTH above stays sized for the citizen form), to this size.
    EVIDENCE_DIR = os.environ.get("EVIDENCE_DIR", str(ROOT / "instance" / "evidence"))
    EVIDENCE_MAX_BYTES = int(os.environ.get("EVIDENCE_MAX_BYTES", str(10 * 1024 * 1024)))
    # What a DOCX/XLSX/ODT may decompress to before it is refused as a zip bomb.
    EVIDENCE_MAX_UNZIPPED = int(os.environ.get("EVIDENCE_MAX_UNZIPPED", str(100 * 1024 * 1024)))
    # Retention periods in days, applied by `flask purge` (docs/anonymity.md says why each).
    RETAIN_FAILED_LOGIN_DAYS = int(os.environ.get("RETAIN_FAILED_LOGIN_DAYS", "90"))
    RETAIN_DOSSIER_LINK_DAYS = int(os.environ.get("RETAIN_DOSSIER_LINK_DAYS", "30"))
    RETAIN_CLIENT_HASH_DAYS = int(os.environ.get("RETAIN_CLIENT_HASH_DAYS", "90"))
    RETAIN_REJECTED_DAYS = int(os.environ.get("RETAIN_REJECTED_DAYS", "365"))
    # Feedback cases (survey/feedback): the key of citizens' optional contacts (a Fernet key;
    # derived from SECRET_KEY when unset), older keys still read, the default days to answer, and
    # the limits on the private case pages per address: every request, and unknown links.
    CONTACT_KEY = os.environ.get("CONTACT_KEY") or None
    CONTACT_KEY_FALLBACKS = _key_list(os.environ.get("CONTACT_KEY_FALLBACKS", ""))
    CASE_DUE_DAYS = int(os.environ.get("CASE_DUE_DAYS", "10"))
    CASE_PAGE_LIMIT = os.environ.get("CASE_PAGE_LIMIT", "60 per minute; 600 per day")
    CASE_MISS_LIMIT = os.environ.get("CASE_MISS_LIMIT", "10 per hour; 30 per day")


class WeakSecretKey(RuntimeError):
    """The app will not run on a key anyone could know or guess."""


def _weakness(key: str | bytes | None) -> str | None:
    """Why `key` is not a real secret, or None."""
    if not key:
        return "chưa được đặt"
    text = key.decode("latin-1") if isinstance(key, bytes) else key
    if text.strip() in PUBLIC_KEYS:
        return "là khóa công khai trong mã nguồn (khóa demo, khóa thử nghiệm)"
    if len(text) < MIN_KEY_LENGTH:
        return f"ngắn hơn {MIN_KEY_LENGTH} ký tự"
    if len(set(text)) < 10:  # "aaaa...", "abababab...": long but no secret
        return "lặp lại quá ít ký tự khác nhau"
    return None


def check_secret_keys(app: Flask) -> None:
    """Refuse to build a production app on a missing, public or weak SECRET_KEY (or an old key
    still accepted in SECRET_KEY_FALLBACKS: it could sign a session just as well), and let CSRF
    tokens signed with an old key pass while it is rotated out, as Flask does for sessions.

    Debug runs and tests may use the demo key.
    """
    config = app.config
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, (str, bytes)):  # one key, or "old1,old2" from a config file
        fallbacks = _key_list(fallbacks.decode() if isinstance(fallbacks, bytes) else fallbacks)
    config["SECRET_KEY_FALLBACKS"] = fallbacks = list(fallbacks)  # Flask iterates it: never a string
    if not (app.testing or app.debug):
        for name, key in [("SECRET_KEY", config.get("SECRET_KEY"))] + [("SECRET_KEY_FALLBACKS", k) for k in fallbacks]:
            reason = _weakness(key)
            if reason is None:
                continue
            if name == "SECRET_KEY":
                advice = (f"Tạo một khóa ngẫu nhiên bằng\n    {MAKE_KEY}\nrồi đặt nó vào biến môi trường "
                          "SECRET_KEY của máy chủ (giữ bí mật, không đưa vào git)")
            else:
                advice = (f"Bỏ khóa đó khỏi SECRET_KEY_FALLBACKS (phiên ký bằng nó phải đăng nhập lại); "
                          f"khóa mới tạo bằng\n    {MAKE_KEY}")
            raise WeakSecretKey(f"{name} {reason}: ứng dụng không chạy với khóa này, vì ai biết khóa là giả "
                                f"được phiên đăng nhập của quản trị viên. {advice}; xem README, \"Keys and sessions\".")
    # Flask-WTF signs and checks with one key (WTF_CSRF_SECRET_KEY, else SECRET_KEY) and hands it
    # to itsdangerous, which also takes a list, newest last: a form opened before the rotation
    # still posts.
    if fallbacks and not config.get("WTF_CSRF_SECRET_KEY"):
        config["WTF_CSRF_SECRET_KEY"] = [*fallbacks, config["SECRET_KEY"]]
