"""The optional contact: only with consent, encrypted at rest, readable by officials on an
audited request, gone when the case closes or at `flask purge`; key rotation keeps it readable."""
from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select

from survey.extensions import db
from survey.feedback import cases, contact
from survey.models import AuditLog, FeedbackCase, User
from survey.services import retention
from tests.conftest import csrf_of, login
from tests.feedback.conftest import csrf_in, only_case, open_case_via_form

PHONE = "0912 345 678"


def leave(client, token: str, data: dict, csrf: str | None = None):
    page = client.get(f"/phan-anh/{token}").get_data(as_text=True)
    return client.post(f"/phan-anh/{token}/lien-he", data={"csrf_token": csrf or csrf_in(page), **data})


def test_contact_needs_consent_and_a_real_phone_or_email(app, client, counter):
    token = open_case_via_form(client, counter.url)
    assert leave(client, token, {"contact": PHONE}).status_code == 400
    bad = leave(client, token, {"contact": "gọi tôi nhé", "consent": "y"})
    assert bad.status_code == 400 and "9–12 chữ số" in bad.get_data(as_text=True)
    assert leave(client, token, {"contact": "12345", "consent": "y"}).status_code == 400
    assert only_case(app).contact_encrypted is None


def test_contact_is_stored_encrypted_and_shown_to_officials_only_on_request(app, client, ward_counter):
    citizen = app.test_client()
    token = open_case_via_form(citizen, ward_counter)
    assert leave(citizen, token, {"contact": PHONE, "consent": "y"}).status_code == 303
    case = only_case(app)
    assert case.contact_consent is True
    assert PHONE.encode() not in case.contact_encrypted and b"0912" not in case.contact_encrypted
    with app.app_context():
        assert contact.decrypt(case.contact_encrypted) == PHONE
    assert "Ông/Bà đã để lại thông tin liên hệ" in citizen.get(f"/phan-anh/{token}").get_data(as_text=True)
    login(client, "official")
    page = client.get(f"/quan-ly/phan-anh/{case.id}").get_data(as_text=True)
    assert PHONE not in page and "Xem thông tin liên hệ" in page
    shown = client.post(f"/quan-ly/phan-anh/{case.id}/lien-he", data={"csrf_token": csrf_in(page)})
    assert shown.status_code == 200 and PHONE in shown.get_data(as_text=True)
    with app.app_context():
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "case_contact_read")).one()
        assert audit.target == f"case:{case.code}" and PHONE not in str(audit.details)


def test_closing_forgets_the_contact_and_refuses_a_new_one(app, client, counter):
    token = open_case_via_form(client, counter.url)
    leave(client, token, {"contact": "nguoidan@example.vn", "consent": "y"})
    with app.app_context():
        case = db.session.scalars(select(FeedbackCase)).one()
        assert case.contact_encrypted is not None
        cases.close(case, db.session.scalar(select(User).where(User.role == "admin")))
        db.session.commit()
    assert only_case(app).contact_encrypted is None
    csrf = csrf_of(client, "/dang-nhap")  # the closed page has no form left: a session token
    assert leave(client, token, {"contact": PHONE, "consent": "y"}, csrf).status_code == 409
    assert only_case(app).contact_encrypted is None


def test_purge_clears_contacts_of_closed_cases_only(app, client, counter, runner):
    open_case_via_form(client, counter.url)
    open_case_via_form(client, counter.url, {"idem": "b" * 32})
    with app.app_context():
        first, second = db.session.scalars(select(FeedbackCase).order_by(FeedbackCase.id)).all()
        for case in (first, second):
            case.contact_encrypted = contact.encrypt(PHONE)
        first.status = "closed"  # closed by hand, contact left behind
        db.session.commit()
        report = retention.purge(retention.Retention.from_config(app.config), dry_run=True)
        assert report.removed["feedback_case.contact"] == 1
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        first, second = db.session.scalars(select(FeedbackCase).order_by(FeedbackCase.id)).all()
        assert first.contact_encrypted is None and contact.decrypt(second.contact_encrypted) == PHONE


def test_keys_rotate_without_losing_contacts(app):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with app.app_context():
        derived = contact.encrypt(PHONE)  # no CONTACT_KEY: derived from SECRET_KEY
        assert contact.derive_key("test-secret") != "test-secret".encode()
        app.config["SECRET_KEY_FALLBACKS"] = ["test-secret"]
        app.config["SECRET_KEY"] = "a-new-session-key-" + "x" * 20
        assert contact.decrypt(derived) == PHONE  # the old SECRET_KEY's derived key still reads
        app.config["CONTACT_KEY"] = old
        blob = contact.encrypt(PHONE)
        app.config.update(CONTACT_KEY=new, CONTACT_KEY_FALLBACKS=[old])
        assert contact.decrypt(blob) == PHONE
        assert Fernet(new.encode()).decrypt(contact.encrypt(PHONE)) == PHONE.encode()  # newest encrypts
        app.config["CONTACT_KEY_FALLBACKS"] = []
        assert contact.decrypt(blob) is None  # its key dropped: unreadable, not a crash
