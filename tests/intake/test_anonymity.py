"""Anonymity against the rated unit (docs/anonymity.md): what officials, exports and the API may
say about one response, what a failed sign-in leaves behind, and `flask purge`.

Responses are inserted directly with the times chosen here (the citizen path coarsens its own).
"""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from survey.catalog.instrument import STANDING_CODE
from survey.catalog.periods import in_vietnam, period_of
from survey.cli import PURGE_LABELS
from survey.extensions import db
from survey.indices import rollups
from survey.models import Answer, AuditLog, Counter, Response, RollupStratum, Survey, Unit, User
from survey.models.integrity import ClientSalt, DossierLink, UsedDossier
from survey.services import retention
from tests.conftest import DEMO_PASSWORDS, csrf_of, login

OWN = "00157"  # the demo official's ward
UTC = timezone.utc
# 08:07 and 08:52 on the clock in Vietnam, one past hour: what must never show is the minute.
AT_07 = datetime(2026, 3, 2, 1, 7, 31, tzinfo=UTC)
AT_52 = datetime(2026, 3, 2, 1, 52, 9, tzinfo=UTC)
FIRST_ID = 1001  # response ids far from any row number, answer value or version a file may hold
LINK_IDS = (7001, 7002)


def insert_response(app, submitted_at: datetime, *, response_id: int | None = None, status: str = "counted",
                    client_hash: str | None = None, verified: bool = False,
                    comment: str | None = None, counter_code: str = f"{OWN}-Q1") -> int:
    with app.app_context():
        counter = db.session.scalar(select(Counter).where(Counter.code == counter_code))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        version = survey.current_version
        questions = {q.code: q.id for q in version.questions}
        response = Response(id=response_id, survey_id=survey.id, survey_version_id=version.id,
                            counter_id=counter.id, unit_id=counter.unit_id, submitted_at=submitted_at,
                            period=period_of(submitted_at), channel="link" if verified else "qr",
                            idempotency_key=uuid.uuid4().hex, service_field="ho-tich", status=status,
                            client_hash=client_hash, verified=verified)
        response.answers.append(Answer(question_id=questions["A1.1"], value_int=4))
        response.answers.append(Answer(question_id=questions["OVERALL"], value_int=5))
        if comment:
            response.answers.append(Answer(question_id=questions["COMMENT"], value_text=comment))
        db.session.add(response)
        db.session.commit()
        return response.id


def unit_id(app, code: str = OWN) -> int:
    with app.app_context():
        return db.session.scalar(select(Unit.id).where(Unit.code == code))


# ---------------------------------------------------------------- failed sign-ins

def _failed_login(client, email: str) -> None:
    response = client.post("/dang-nhap", data={"email": email, "password": "sai-mat-khau-han",
                                               "csrf_token": csrf_of(client, "/dang-nhap")})
    assert response.status_code == 401


def _login_failures(app) -> list[AuditLog]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "login_failed")
                                  .order_by(AuditLog.id)).all()
        db.session.expunge_all()
        return rows


def test_failed_sign_in_for_an_unknown_email_keeps_no_address(app, client):
    _failed_login(client, "Nguyen.Van.A@gmail.com")
    _failed_login(client, "  nguyen.van.a@GMAIL.com ")
    _failed_login(client, "tran.thi.b@yahoo.com")
    first, again, other = _login_failures(app)
    for row in (first, again, other):
        stored = json.dumps([row.target, row.details, row.user_id], ensure_ascii=False).lower()
        assert "nguyen" not in stored and "gmail" not in stored and "tran.thi" not in stored and "@" not in stored
        assert row.target.startswith("unknown:") and row.user_id is None
    # One pseudonym per address: repeated attempts on one address still show as repeated.
    assert first.target == again.target != other.target


def test_failed_sign_in_for_an_account_names_the_account_id(app, client):
    email = DEMO_PASSWORDS["official"][0]
    _failed_login(client, email.upper())
    [row] = _login_failures(app)
    with app.app_context():
        account = db.session.scalar(select(User.id).where(User.email == email))
    assert row.target == f"user:{account}"
    assert email not in json.dumps([row.target, row.details])


# ---------------------------------------------------------------- what officials, exports and the API show

@pytest.fixture
def world(app):
    """Responses of one past hour in submission order (ids ascending with the minute), two of them
    verified through dossier links, plus one response of the hour now under way."""
    ids, hashes = [], []
    for n in range(12):
        moment = AT_07 + timedelta(minutes=3 * n, seconds=n)
        ids.append(insert_response(app, moment, response_id=FIRST_ID + n, comment=f"PHIEU-{n:02d}",
                                   verified=n in (3, 8), client_hash=f"{n:02d}" * 32))
    ids.append(insert_response(app, AT_52, response_id=FIRST_ID + 12, comment="PHIEU-12", verified=True))
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        counter = db.session.scalar(select(Counter).where(Counter.code == f"{OWN}-Q1"))
        for link_id in LINK_IDS:
            dossier = f"{link_id:x}".rjust(64, "e")
            hashes.append(dossier)
            db.session.add(DossierLink(id=link_id, survey_id=survey.id, unit_id=counter.unit_id,
                                       counter_id=counter.id, dossier_hash=dossier, service_field="ho-tich",
                                       created_at=AT_07 - timedelta(hours=1), expires_at=AT_52 + timedelta(days=7),
                                       used=True))
            db.session.add(UsedDossier(survey_id=survey.id, dossier_hash=dossier))
        db.session.commit()
    current = insert_response(app, datetime.now(UTC), comment="PHIEU-NOW")
    return {"ids": ids, "hashes": hashes, "current": current}


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.get_data()), read_only=True).active.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def _api_rows(client, app, token: str) -> list[dict]:
    rows, after = [], ""
    while True:  # small pages: the cursor must not carry an id or a time either
        response = client.get(f"/api/v1/units/{unit_id(app)}/responses", query_string={"limit": 5, "after": after},
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        body = response.get_json()
        rows += [dict(r, next_after=body["next_after"]) for r in body["responses"]]
        if body["next_after"] is None:
            return rows
        after = body["next_after"]


def _api_token(app) -> str:
    from survey.services import api_tokens

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS["analyst"][0]))
        _token, plain = api_tokens.create(user, "kiểm thử ẩn danh")
        db.session.commit()
        return plain


def per_response_sources(app, client) -> dict[str, list[dict]]:
    """Every official export and API endpoint that lists responses one by one."""
    login(client, "analyst")
    sources = {
        "csv": _csv_rows(client.get("/quan-tri/du-lieu/phieu-tra-loi.csv")),
        "xlsx": _xlsx_rows(client.get("/quan-tri/du-lieu/phieu-tra-loi.xlsx")),
        "api": _api_rows(client, app, _api_token(app)),
    }
    listing = [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods
               and ("respons" in r.rule or "phieu-tra-loi" in r.rule)]
    walked = {"/quan-tri/du-lieu/phieu-tra-loi.<any(csv, xlsx):fmt>", "/api/v1/units/<int:unit_id>/responses"}
    aggregate = {"/api/v1/responses/counts"}  # numbers per unit and period, no row per response
    # A new per-response route must be added to this walk, not slip past it.
    assert set(listing) <= walked | aggregate, set(listing) - walked - aggregate
    return sources


TIME = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?")


def _cells(row: dict) -> list[object]:
    cells = []
    for value in row.values():
        cells += list(value.values()) if isinstance(value, dict) else [value]
    return cells


def test_no_export_or_api_field_is_finer_than_the_hour_or_an_id_or_a_dossier(app, client, world):
    sources = per_response_sources(app, client)
    forbidden_ids = set(world["ids"]) | set(LINK_IDS)
    for name, rows in sources.items():
        markers = [r.get("COMMENT") or r.get("answers", {}).get("COMMENT") for r in rows]
        assert sorted(markers) == [f"PHIEU-{n:02d}" for n in range(13)], name  # the hour now under way is not out
        for row in rows:
            for cell in _cells(row):
                if isinstance(cell, datetime):
                    assert (cell.minute, cell.second, cell.microsecond) == (0, 0, 0), (name, cell)
                    continue
                text = str(cell)
                for _hour, minute, second in TIME.findall(text):
                    assert minute == "00" and second in ("", "00"), (name, text)
                assert text not in {str(i) for i in forbidden_ids}, (name, text)
                assert cell not in forbidden_ids, (name, cell)
                assert not any(h in text for h in world["hashes"]), (name, text)
                assert "0303030303" not in text, (name, text)  # a client hash
        # The hour is there, in Vietnam time in files and UTC in the API.
        hours = {str(r.get("gio_gui") or r.get("submitted_at")) for r in rows}
        assert hours <= {"02/03/2026 08:00", "2026-03-02 08:00:00", "2026-03-02T01:00:00Z"}, (name, hours)


def test_rows_of_an_hour_are_not_in_submission_order(app, client, world):
    sources = per_response_sources(app, client)
    arrival = [f"PHIEU-{n:02d}" for n in range(13)]
    orders = {}
    for name, rows in sources.items():
        orders[name] = [r.get("COMMENT") or r["answers"]["COMMENT"] for r in rows]
        # 13 rows of one hour: in arrival order (or its reverse) by chance about once in 3e9.
        assert orders[name] not in (arrival, arrival[::-1]), name
    if "stt" in sources["csv"][0]:
        assert [int(r["stt"]) for r in sources["csv"]] == list(range(1, 14))
    # One order for the same rows everywhere: a file and the API cannot be lined up to learn more.
    assert orders["csv"] == orders["xlsx"] == orders["api"]


@pytest.mark.parametrize("view", ["dashboard", "unit report PDF"])
def test_comments_shown_to_officials_have_no_time_finer_than_the_hour(app, client, view):
    insert_response(app, AT_07, comment="Cán bộ quầy một rất nhiệt tình")
    insert_response(app, AT_52, comment="Chờ lâu quá, cần thêm ghế")
    login(client, "official")
    period = period_of(AT_07)
    if view == "dashboard":
        shown = client.get("/quan-ly/bang-dieu-khien/", query_string={"period": period}).get_data(as_text=True)
    else:
        from tests.test_report_wiring import pdf_text

        pdf = client.get(f"/quan-ly/bao-cao/don-vi/{unit_id(app)}.pdf", query_string={"period": period})
        assert pdf.status_code == 200
        shown = " ".join(pdf_text(pdf.data)[0].split())
    assert "Cán bộ quầy một rất nhiệt tình" in shown and "Chờ lâu quá" in shown  # the check can see them
    for moment in (in_vietnam(AT_07), in_vietnam(AT_52)):
        for finer in (f"{moment.hour}:{moment.minute:02d}", f"{moment.hour}h{moment.minute:02d}",
                      f"{moment.hour} giờ {moment.minute}"):
            assert finer not in shown, (view, finer)


# ---------------------------------------------------------------- retention (flask purge)

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
RULES = retention.Retention(failed_login_days=90, dossier_link_days=30, client_hash_days=90, rejected_days=365)


def _count(app, statement) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(statement.subquery()))


def test_purge_deletes_past_days_salts_and_keeps_today(app):
    with app.app_context():
        for day in ("2026-11-18", "2026-11-19", "2026-11-20"):
            db.session.add(ClientSalt(day=day, salt=day * 4))
        db.session.commit()
        report = retention.purge(now=NOW, retention=RULES)
        assert db.session.scalars(select(ClientSalt.day)).all() == ["2026-11-20"]
    assert report.removed["client_salt"] == 2


def test_purge_salt_day_is_the_day_in_vietnam(app):
    with app.app_context():
        db.session.add(ClientSalt(day="2026-11-20", salt="a" * 64))
        db.session.commit()
        # 18:30 UTC on the 19th is already the 20th in Vietnam: today's salt stays.
        retention.purge(now=datetime(2026, 11, 19, 18, 30, tzinfo=UTC), retention=RULES)
        assert db.session.scalars(select(ClientSalt.day)).all() == ["2026-11-20"]


def test_purge_blanks_old_client_hashes_except_under_review(app):
    old, young = NOW - timedelta(days=91), NOW - timedelta(days=89)
    cleared = insert_response(app, old, client_hash="a" * 64)
    rejected = insert_response(app, old, client_hash="b" * 64, status="rejected")
    waiting = insert_response(app, old, client_hash="c" * 64, status="quarantined")
    recent = insert_response(app, young, client_hash="d" * 64)
    with app.app_context():
        report = retention.purge(now=NOW, retention=RULES)
        hashes = dict(db.session.execute(select(Response.id, Response.client_hash)).all())
    assert hashes == {cleared: None, rejected: None, waiting: "c" * 64, recent: "d" * 64}
    assert report.removed["response.client_hash"] == 2


def test_purge_deletes_old_failed_sign_ins_only(app):
    with app.app_context():
        for action, days in (("login_failed", 91), ("login_failed", 89), ("login", 400), ("export", 400)):
            db.session.add(AuditLog(at=NOW - timedelta(days=days), action=action, target="unknown:x", ip="10.0.0.9"))
        db.session.commit()
        report = retention.purge(now=NOW, retention=RULES)
        left = sorted((a, (NOW - retention_at(at)).days) for a, at in db.session.execute(
            select(AuditLog.action, AuditLog.at)))
    assert left == [("export", 400), ("login", 400), ("login_failed", 89)]
    assert report.removed["login_failed"] == 1


def retention_at(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite: naive UTC


def test_purge_deletes_dead_dossier_links_and_keeps_used_dossiers(app):
    with app.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        unit = unit_id(app)
        links = {  # name: (created days ago, expires in days (negative: ago), used)
            "expired_long_ago": (60, -31, False),
            "used_long_ago": (31, 20, True),
            "expired_recently": (40, -29, False),
            "used_recently": (29, 20, True),
            "open_old": (45, 10, False),
        }
        ids = {}
        for name, (created, expires, used) in links.items():
            link = DossierLink(survey_id=survey_id, unit_id=unit, dossier_hash=name.ljust(64, "0"),
                               created_at=NOW - timedelta(days=created), expires_at=NOW + timedelta(days=expires),
                               used=used)
            db.session.add(link)
            db.session.add(UsedDossier(survey_id=survey_id, dossier_hash=name.ljust(64, "0")))
            db.session.flush()
            ids[link.id] = name
        db.session.commit()
        report = retention.purge(now=NOW, retention=RULES)
        left = {ids[i] for i in db.session.scalars(select(DossierLink.id))}
        used = db.session.scalar(select(func.count()).select_from(UsedDossier))
    assert left == {"expired_recently", "used_recently", "open_old"}
    assert used == len(links)  # one response per dossier stays enforced
    assert report.removed["dossier_link"] == 2


def test_purge_deletes_old_rejected_responses_with_answers(app):
    old, young = NOW - timedelta(days=366), NOW - timedelta(days=364)
    gone = insert_response(app, old, status="rejected")
    kept = {insert_response(app, young, status="rejected"), insert_response(app, old, status="counted"),
            insert_response(app, old, status="quarantined")}
    with app.app_context():
        rollups.refresh()               # under the watermark: rejected ones are in no sum all the same
        folded = db.session.scalar(select(func.sum(RollupStratum.responses)))
        report = retention.purge(now=NOW, retention=RULES)
        assert set(db.session.scalars(select(Response.id))) == kept
        assert db.session.scalar(select(func.count()).select_from(Answer).where(Answer.response_id == gone)) == 0
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 2 * len(kept)
        assert db.session.scalar(select(func.sum(RollupStratum.responses))) == folded == 1
    assert report.removed["rejected_response"] == 1


def test_purge_dry_run_changes_nothing(app):
    insert_response(app, NOW - timedelta(days=400), status="rejected", client_hash="e" * 64)
    with app.app_context():
        db.session.add(ClientSalt(day="2026-01-01", salt="f" * 64))
        db.session.commit()
        report = retention.purge(now=NOW, retention=RULES, dry_run=True)
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert db.session.scalar(select(func.count()).select_from(ClientSalt)) == 1
        assert db.session.scalar(select(Response.client_hash)) == "e" * 64
    assert report.removed["client_salt"] == 1 and report.removed["rejected_response"] == 1
    assert report.removed["response.client_hash"] == 1


def test_flask_purge_prints_what_it_removed_and_is_idempotent(app, runner):
    now = datetime.now(UTC)
    insert_response(app, now - timedelta(days=400), status="rejected")
    young = insert_response(app, now - timedelta(days=2), status="rejected")
    with app.app_context():
        db.session.add(ClientSalt(day="2020-01-01", salt="1" * 64))
        db.session.add(AuditLog(at=now - timedelta(days=200), action="login_failed", target="unknown:y"))
        db.session.commit()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Sẽ xóa 1\trejected_response" in dry.output and "Sẽ xóa 1\tclient_salt" in dry.output
    first = runner.invoke(args=["purge"])
    assert first.exit_code == 0, first.output
    assert "Đã xóa 1\trejected_response" in first.output and "Đã xóa 1\tlogin_failed" in first.output
    second = runner.invoke(args=["purge"])
    assert second.exit_code == 0 and "Đã xóa 1" not in second.output, second.output
    assert second.output.count("Đã xóa 0\t") == len(PURGE_LABELS)
    with app.app_context():
        assert db.session.scalars(select(Response.id)).all() == [young]
        purges = db.session.scalars(select(AuditLog.details).where(AuditLog.action == "purge")).all()
    assert [p["rejected_response"] for p in purges] == [1, 0]
