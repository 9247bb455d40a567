"""`flask digest`: what each official's e-mail says (own units only), SMTP through a recording
stand-in for smtplib.SMTP, the log when MAIL_SERVER is unset, and one digest per official a day."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from survey.catalog.periods import VIETNAM
from survey.extensions import db
from survey.models import Unit, User
from survey.models.loop import DigestSent
from survey.progress import digest_mail
from survey.progress.digest import run_digest
from tests.progress.conftest import OTHER, OWN, add_responses

DAY = date(2026, 12, 7)          # the digest of 07/12 covers 06/12, Vietnam time
OFFICIAL, OTHER_OFFICIAL = "dongtien@demo.gov.vn", "muongkhen@demo.gov.vn"


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VIETNAM).astimezone(timezone.utc)


class RecordingSMTP:
    """Stands in for smtplib.SMTP: records what would go over the wire."""

    sent: list = []
    calls: list = []
    fail_for: set = set()

    def __init__(self, host, port, timeout=None):
        self.calls.append(("connect", host, port))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self, context=None):
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        if message["To"] in self.fail_for:
            raise OSError("hộp thư không nhận")
        self.sent.append(message)


@pytest.fixture
def smtp(monkeypatch):
    RecordingSMTP.sent, RecordingSMTP.calls, RecordingSMTP.fail_for = [], [], set()
    monkeypatch.setattr(digest_mail.smtplib, "SMTP", RecordingSMTP)
    return RecordingSMTP


@pytest.fixture
def news(app, world):
    """Low ratings in the window (and around it), and a steep fall of the other unit's index."""
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit))}
        own, other = units[OWN], units[OTHER]
        add_responses(own, "2026-H2", [2, 2, 1, 5], at(date(2026, 12, 6), 10))
        add_responses(own, "2026-H2", [1], at(date(2026, 12, 6), 11), status="quarantined")
        add_responses(own, "2026-H2", [1], at(date(2026, 12, 5), 23))     # the day before the window
        add_responses(own, "2026-H2", [1], at(date(2026, 12, 7), 0))      # the digest day itself
        add_responses(other, "2026-H2", [2, 2], at(date(2026, 12, 6), 8))
        add_responses(other, "2026-H1", [5] * 60, at(date(2026, 3, 2), 9))
        add_responses(other, "2026-H2", [1] * 60, at(date(2026, 10, 1), 9))
    return world


def by_recipient(messages) -> dict[str, tuple[str, str]]:
    return {m["To"]: (m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content())
            for m in messages}


def test_each_official_gets_own_units_news_by_smtp(app, news, smtp):
    app.config.update(MAIL_SERVER="smtp.test", MAIL_PORT=587, MAIL_USE_TLS=True, MAIL_USERNAME="khaosat",
                      MAIL_PASSWORD="mat-khau", MAIL_FROM="khaosat@tinh.gov.vn")
    with app.app_context():
        totals = run_digest(DAY, echo=lambda line: None)
    mail = by_recipient(smtp.sent)
    assert set(mail) == {"quantri@demo.gov.vn", "sonoivu@demo.gov.vn", OFFICIAL, OTHER_OFFICIAL}
    assert totals["đã gửi"] == 4 and totals["lỗi"] == 0
    assert ("starttls",) in smtp.calls and ("login", "khaosat", "mat-khau") in smtp.calls
    assert ("connect", "smtp.test", 587) in smtp.calls
    own_text, own_html = mail[OFFICIAL]
    # 3 counted low responses on 06/12: the quarantined one, the 5 and those outside the window do not count.
    assert "Phường Đồng Tiến: 3 phiếu" in own_text and "Phường Đồng Tiến: 3 phiếu" in own_html
    assert "PA-001" in own_text and "hạn 08/12/2026" in own_text
    assert "Sửa máy lấy số thứ tự" in own_text and "hạn 30/11/2026" in own_text
    assert "Tập huấn kỹ năng giao tiếp" not in own_text          # not overdue
    # Nothing of the other unit: its ratings, case, task and fall.
    for needle in ("Mường Khến", "PA-003", "Công khai phí"):
        assert needle not in own_text and needle not in own_html
    assert "0912345678" not in own_text                               # no citizen text in e-mails
    other_text, _ = mail[OTHER_OFFICIAL]
    assert "Xã Mường Khến: 2 phiếu" in other_text and "PA-003" in other_text
    assert "Công khai phí, lệ phí tại quầy" in other_text
    assert "Xã Mường Khến, Chỉ số hài lòng chung:" in other_text    # fell significantly
    assert "Đồng Tiến" not in other_text
    analyst_text, _ = mail["sonoivu@demo.gov.vn"]
    assert "Phường Đồng Tiến: 3 phiếu" in analyst_text and "Xã Mường Khến: 2 phiếu" in analyst_text
    message = smtp.sent[0]
    assert message["Subject"] == "Tin tổng hợp ngày 07/12/2026: khảo sát sự hài lòng"
    assert "khaosat@tinh.gov.vn" in message["From"]
    assert "Kính gửi" in own_text and "Phản ánh, kiến nghị mới" in own_text


def test_a_rerun_the_same_day_sends_nothing(app, news, smtp, runner):
    app.config.update(MAIL_SERVER="smtp.test")
    first = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert first.exit_code == 0, first.output
    assert f"{OFFICIAL}: đã gửi" in first.output
    assert len(smtp.sent) == 4
    second = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert second.exit_code == 0, second.output
    assert len(smtp.sent) == 4
    assert f"{OFFICIAL}: bỏ qua (đã gửi tin ngày 07/12/2026)" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DigestSent)) == 4
    # The next day is a new digest (its window has no new ratings, but the overdue task remains).
    runner.invoke(args=["digest", "--day", "2026-12-08"])
    assert len(smtp.sent) > 4


def test_without_mail_server_the_message_goes_to_the_log(app, news, smtp, runner, caplog):
    app.config.update(MAIL_SERVER=None)
    with caplog.at_level(logging.WARNING, logger="survey.progress.digest_mail"):
        result = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert result.exit_code == 0, result.output
    assert smtp.sent == [] and smtp.calls == []
    assert f"{OFFICIAL}: đã in ra nhật ký" in result.output
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Kính gửi Cán bộ Phường Đồng Tiến" in logged and "Phường Đồng Tiến: 3 phiếu" in logged
    # Printed counts as delivered: a re-run does not print it again.
    caplog.clear()
    again = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert "Kính gửi" not in "\n".join(r.getMessage() for r in caplog.records)
    assert f"{OFFICIAL}: bỏ qua" in again.output


def test_dry_run_sends_and_records_nothing(app, news, smtp, runner):
    app.config.update(MAIL_SERVER="smtp.test")
    result = runner.invoke(args=["digest", "--day", "2026-12-07", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert smtp.sent == [] and "chạy thử" in result.output and "Phường Đồng Tiến: 3 phiếu" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DigestSent)) == 0


def test_a_failed_send_is_retried_by_the_next_run(app, news, smtp, runner):
    app.config.update(MAIL_SERVER="smtp.test")
    smtp.fail_for = {OFFICIAL}
    result = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert f"{OFFICIAL}: lỗi khi gửi" in result.output and len(smtp.sent) == 3
    smtp.fail_for = set()
    result = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert [m["To"] for m in smtp.sent[3:]] == [OFFICIAL], result.output


def test_inactive_and_unassigned_accounts(app, news, smtp, runner):
    app.config.update(MAIL_SERVER="smtp.test")
    with app.app_context():
        db.session.execute(User.__table__.update().where(User.email == OTHER_OFFICIAL).values(active=False))
        db.session.execute(User.__table__.update().where(User.email == OFFICIAL).values(unit_id=None))
        db.session.commit()
    result = runner.invoke(args=["digest", "--day", "2026-12-07"])
    assert {m["To"] for m in smtp.sent} == {"quantri@demo.gov.vn", "sonoivu@demo.gov.vn"}
    assert f"{OFFICIAL}: bỏ qua (tài khoản chưa được gán đơn vị)" in result.output
    assert OTHER_OFFICIAL not in result.output


def test_bad_day_is_refused(runner):
    result = runner.invoke(args=["digest", "--day", "07/12/2026"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output


def test_never_inside_a_request(app):
    with app.test_request_context(), pytest.raises(RuntimeError):
        run_digest(DAY)
