"""Generated inputs against the officials' forms: sign-in, units, counters, accounts, API keys, CSV
imports, campaigns, and the downloads' filters (see test_fuzz_common for the invariants).

A refused form (4xx) leaves every table as it was; an official of one ward never sees another
commune's rows, whatever the filters say.
"""
from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from survey.extensions import db
from survey.models import Unit
from survey.services.imports import FIELD_CODES, UNIT_COLUMNS, VOLUME_COLUMNS
from tests.conftest import DEMO_PASSWORDS, csrf_of, login
from tests.indices.test_exports import OTHER, OWN, add_response
from tests.test_fuzz_common import (
    FUZZ,
    TEXT,
    assert_no_server_error,
    changed_tables,
    extra_fields,
    form_body,
    last_state,
    no_limits,
    post_form,
    snapshot,
    sometimes,
)

__all__ = ["no_limits"]

NUMBERS = st.one_of(st.integers(-3, 40).map(str),
                    st.sampled_from(["99999999999999999999", "2147483648", "²", "٣", "1.5", " 7"]))
KINDS = st.sampled_from(["province", "agency", "commune", "ward", "centre", "PROVINCE", "city", ""])
CSRF_BAD = st.one_of(st.none(), TEXT)


def csrf_choice(token: str):
    """Mostly the valid CSRF token (so the form's own validation is reached), sometimes not."""
    return st.one_of(st.just(token), st.just(token), st.just(token), CSRF_BAD)


def check_post(app, client, path: str, body, allowed_ok=(200, 302, 303)):
    before = last_state(app)
    response = post_form(client, path, body)
    after = snapshot(app)
    assert_no_server_error(response, f"POST {path} {body!r}"[:600])
    if response.status_code >= 400:
        assert changed_tables(before, after) == [], (path, body, response.status_code)
    else:
        assert response.status_code in allowed_ok, response.status_code
    return response


def _unit_ids(app) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(Unit.id).order_by(Unit.id)))
        db.session.remove()
        return ids


# ---------------------------------------------------------------- sign-in

def test_fuzzed_sign_in_never_fails_or_writes(app, client, no_limits):
    token = csrf_of(client, "/dang-nhap")
    email, password = DEMO_PASSWORDS["official"]

    @FUZZ
    @given(fields=st.fixed_dictionaries({
        "csrf_token": csrf_choice(token),
        "email": sometimes(st.one_of(TEXT, st.just(email), st.just(email.upper() + "\x00"))),
        "password": sometimes(st.one_of(TEXT, st.just(password + " "), st.text(min_size=190, max_size=260))),
    }), extras=extra_fields(), nxt=sometimes(TEXT))
    def check(fields, extras, nxt):
        path = "/dang-nhap" + (f"?next={nxt}" if nxt is not None else "")
        response = check_post(app, client, path, form_body(fields, extras), allowed_ok=(200,))
        assert response.status_code in (200, 400, 401, 422)

    check()


# ---------------------------------------------------------------- units and counters (admin)

def test_fuzzed_unit_forms_refuse_or_save_valid_units(app, client, no_limits):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/don-vi/moi")
    ids = _unit_ids(app)

    @FUZZ
    @given(fields=st.fixed_dictionaries({
        "csrf_token": csrf_choice(token),
        "code": sometimes(st.one_of(TEXT, st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", fullmatch=True))),
        "name": sometimes(st.one_of(TEXT, st.text(min_size=250, max_size=300))),
        "name_en": sometimes(TEXT),
        "kind": sometimes(KINDS),
        "parent_id": sometimes(st.one_of(st.sampled_from([str(i) for i in ids] + [""]), NUMBERS, TEXT)),
    }), extras=extra_fields(), target=st.one_of(st.just("moi"), st.sampled_from(ids).map(str), NUMBERS))
    def check(fields, extras, target):
        path = f"/quan-tri/don-vi/{target}"
        check_post(app, client, path, form_body(fields, extras), allowed_ok=(200, 302))

    check()


def test_fuzzed_counter_form(app, client, no_limits):
    login(client, "admin")
    ids = _unit_ids(app)
    token = csrf_of(client, f"/quan-tri/don-vi/{ids[0]}/quay-moi")

    @FUZZ
    @given(fields=st.fixed_dictionaries({
        "csrf_token": csrf_choice(token),
        "name": sometimes(TEXT),
        "code": sometimes(st.one_of(TEXT, st.from_regex(r"[A-Z0-9][A-Z0-9._-]{0,50}", fullmatch=True))),
    }), extras=extra_fields(), unit=st.one_of(st.sampled_from(ids).map(str), NUMBERS),
        action=st.sampled_from(["quay-moi", "quay-moi", "ngung", "doi-ma"]))
    def check(fields, extras, unit, action):
        path = f"/quan-tri/don-vi/{unit}/quay-moi" if action == "quay-moi" else f"/quan-tri/quay/{unit}/{action}"
        check_post(app, client, path, form_body(fields, extras), allowed_ok=(200, 302))

    check()


# ---------------------------------------------------------------- accounts and API keys

def test_fuzzed_account_form(app, client, no_limits):
    login(client, "admin")
    token = csrf_of(client, "/quan-tri/tai-khoan/moi")

    @FUZZ
    @given(fields=st.fixed_dictionaries({
        "csrf_token": csrf_choice(token),
        "email": sometimes(st.one_of(TEXT, st.emails().map(str), st.just(DEMO_PASSWORDS["official"][0].upper()))),
        "name": sometimes(TEXT),
        "role": sometimes(st.one_of(st.sampled_from(["admin", "analyst", "official"]), TEXT)),
        "unit_code": sometimes(st.one_of(st.sampled_from([OWN, OTHER, ""]), TEXT)),
    }), extras=extra_fields(), user=st.one_of(NUMBERS, st.just("1")),
        action=st.sampled_from(["moi", "moi", "dat-lai-mat-khau", "khoa", "mo-khoa"]))
    def check(fields, extras, user, action):
        path = "/quan-tri/tai-khoan/moi" if action == "moi" else f"/quan-tri/tai-khoan/{user}/{action}"
        check_post(app, client, path, form_body(fields, extras), allowed_ok=(200, 302))

    check()


def test_fuzzed_api_key_forms_touch_only_own_keys(app, client, no_limits):
    login(client, "official")
    token = csrf_of(client, "/quan-tri/khoa-api")

    @FUZZ
    @given(fields=st.fixed_dictionaries({"csrf_token": csrf_choice(token), "name": sometimes(TEXT)}),
           extras=extra_fields(), revoke=st.one_of(st.none(), NUMBERS))
    def check(fields, extras, revoke):
        path = "/quan-tri/khoa-api" if revoke is None else f"/quan-tri/khoa-api/{revoke}/thu-hoi"
        check_post(app, client, path, form_body(fields, extras), allowed_ok=(200, 302))

    check()


# ---------------------------------------------------------------- CSV imports

def csv_files(columns: tuple[str, ...], values: dict):
    """Whole files: a header (right, shuffled, missing or doubled columns) and generated rows."""
    header = st.one_of(st.just(list(columns)), st.permutations(list(columns)),
                       st.lists(st.one_of(st.sampled_from(columns), TEXT), max_size=6))
    row = st.fixed_dictionaries({c: st.one_of(values.get(c, TEXT), TEXT) for c in columns})

    @st.composite
    def build(draw):
        head = draw(header)
        rows = draw(st.lists(row, max_size=6))
        delimiter = draw(st.sampled_from([",", ";", "\t"]))
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(head)
        for r in rows:
            writer.writerow([r.get(c, "") for c in head])
        text = out.getvalue()
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258-ish", "raw"]))
        if encoding == "raw":
            return draw(st.binary(max_size=200))
        if encoding == "cp1258-ish":
            return text.encode("utf-8") + b"\xd0\xe3\xff"
        return text.encode(encoding)

    return build()


UNIT_VALUES = {"code": st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True), "kind": KINDS,
               "parent_code": st.sampled_from(["", OWN, OTHER, "00157", "XX"])}
VOLUME_VALUES = {"unit_code": st.sampled_from([OWN, OTHER, "XX", ""]),
                 "period": st.sampled_from(["2026-H1", "2026-H2", "2026-H3", "1999-H1", "2026h1"]),
                 "field": st.sampled_from(list(FIELD_CODES) + ["other"]), "dossiers": NUMBERS}


@pytest.mark.parametrize("who,path,columns,values", [
    ("admin", "/quan-tri/don-vi/nhap", UNIT_COLUMNS, UNIT_VALUES),
    ("analyst", "/quan-tri/du-lieu/khoi-luong-ho-so", VOLUME_COLUMNS, VOLUME_VALUES),
], ids=["units", "volumes"])
def test_fuzzed_csv_imports_write_all_or_nothing(app, client, no_limits, who, path, columns, values):
    login(client, who)
    token = csrf_of(client, "/quan-tri/don-vi" if who == "admin" else "/quan-tri/du-lieu")

    @FUZZ
    @given(data=csv_files(columns, values), csrf=csrf_choice(token),
           name=st.one_of(st.just("tep.csv"), TEXT), field=st.sampled_from(["file", "file", "tep", ""]))
    def check(data, csrf, name, field):
        form = {field: (io.BytesIO(data), name)}
        if csrf is not None:
            form["csrf_token"] = csrf
        before = last_state(app)
        response = client.post(path, data=form, content_type="multipart/form-data")
        after = snapshot(app)
        assert_no_server_error(response, repr(data)[:300])
        if response.status_code >= 400:
            assert changed_tables(before, after) == []
        else:
            assert response.status_code == 200

    check()


# ---------------------------------------------------------------- campaigns (analyst)

def test_fuzzed_campaign_form(app, client, no_limits):
    login(client, "analyst")
    token = csrf_of(client, "/quan-ly/chuyen-de/moi")
    ids = [str(i) for i in _unit_ids(app)]
    day = st.one_of(st.dates().map(lambda d: d.strftime("%d/%m/%Y")), TEXT,
                    st.sampled_from(["31/02/2026", "01/13/2026"]))

    @FUZZ
    @given(fields=st.fixed_dictionaries({
        "csrf_token": csrf_choice(token),
        "title": sometimes(TEXT),
        "purpose": sometimes(TEXT),
        "opens_on": sometimes(day),
        "closes_on": sometimes(day),
        "units": sometimes(st.lists(st.one_of(st.sampled_from(ids), NUMBERS), max_size=4)),
        "a_codes": sometimes(st.lists(st.one_of(st.sampled_from(["A1.1", "A2.3", "A4.1"]), TEXT), max_size=3)),
        "area": sometimes(st.one_of(st.just(""), TEXT)),
        "b_codes": sometimes(st.lists(TEXT, max_size=2)),
        "demographics": sometimes(st.sampled_from(["y", "on", "", "\x00"])),
        "custom-0-type": sometimes(st.one_of(st.sampled_from(["likert5", "yesno", "choice", "multi", "text"]), TEXT)),
        "custom-0-text_vi": sometimes(TEXT),
        "custom-0-choices": sometimes(TEXT),
        "custom-0-code": sometimes(TEXT),
        "custom-99-text_vi": sometimes(TEXT),
    }), extras=extra_fields(), quota=st.tuples(st.sampled_from(ids), NUMBERS),
        target=st.one_of(st.just("moi"), NUMBERS.map(lambda n: f"{n}/sua"),
                         st.sampled_from(["1/phat-hanh", "1/ket-thuc", "99/phat-hanh"])))
    def check(fields, extras, quota, target):
        body = form_body(fields, extras) + [(f"quota_{quota[0]}", quota[1])]
        check_post(app, client, f"/quan-ly/chuyen-de/{target}", body, allowed_ok=(200, 302, 303))

    check()


# ---------------------------------------------------------------- downloads' filters (official)

OTHER_NAME = "Mường Khến"


def test_fuzzed_download_filters_never_show_another_unit(app, client, no_limits):
    add_response(app, f"{OWN}-Q1")
    add_response(app, f"{OTHER}-Q1", values={"A1.1": 2, "COMMENT": "bí mật của xã khác"})
    login(client, "official")
    other_id = str(_unit_ids_by_code(app)[OTHER])
    unit_values = st.one_of(st.just(other_id), st.just(str(_unit_ids_by_code(app)[OWN])), NUMBERS, TEXT)

    @FUZZ
    @given(path=st.sampled_from([
        "/quan-tri/du-lieu/phieu-tra-loi.csv", "/quan-tri/du-lieu/so-phieu.csv", "/quan-tri/du-lieu",
        "/quan-ly/bang-dieu-khien/", "/quan-tri/du-lieu/phieu-tra-loi.xlsx",
    ]), params=st.fixed_dictionaries({
        "unit": sometimes(unit_values), "period": sometimes(st.one_of(st.sampled_from(["2026-H1", "2026-h1"]), TEXT)),
        "survey": sometimes(st.one_of(st.just("SIPAS"), TEXT)),
    }))
    def check(path, params):
        query = [(k, v) for k, v in params.items() if v is not None]
        before = last_state(app)
        response = client.get(path, query_string=query)
        assert_no_server_error(response, f"{path} {query!r}")
        body = response.get_data()
        after = snapshot(app)
        assert "bí mật".encode() not in body and OTHER_NAME.encode() not in body
        if path.endswith(".csv") and response.status_code == 200:
            assert OTHER.encode() not in body
        assert changed_tables(before, after) == []

    check()


def _unit_ids_by_code(app) -> dict[str, int]:
    with app.app_context():
        ids = dict(db.session.execute(select(Unit.code, Unit.id)).all())
        db.session.remove()
        return ids


# ---------------------------------------------------------------- found by fuzzing

def test_options_request_on_admin_pages_signed_out_is_not_a_server_error(client):
    # login_required lets OPTIONS through without a user; the admin blueprint then read
    # current_user.must_change_password on the anonymous user (AttributeError, a 500).
    response = client.open("/quan-tri/don-vi", method="OPTIONS")
    assert response.status_code < 500
    assert "don-vi" not in response.get_data(as_text=True)


def test_options_on_officials_home_is_not_a_server_error(client):
    assert client.open("/quan-ly/", method="OPTIONS").status_code < 500


def test_dashboard_unit_filter_with_a_superscript_digit(app, client):
    # Found by the fuzzer ('²'.isdigit() is True, int('²') raises); fixed in 8b0b53d.
    login(client, "official")
    assert client.get("/quan-ly/bang-dieu-khien/", query_string={"unit": "²"}).status_code < 500


@pytest.mark.parametrize("value", ["²", "99999999999999999999"])
def test_odd_unit_numbers_in_download_filters_are_refused(app, client, value):
    # "²".isdigit() is True but int("²") raises; 20 digits overflow the database integer.
    login(client, "official")
    response = client.get("/quan-tri/du-lieu/so-phieu.csv", query_string={"unit": value})
    assert response.status_code in (400, 404)


@pytest.mark.parametrize("path", ["/quan-tri/don-vi/99999999999999999999", "/quan-tri/don-vi/2147483648/quay-moi"])
def test_ids_past_the_database_integer_are_refused_not_a_server_error(app, client, path):
    # Found by the fuzzer: SQLite's driver raises a bare OverflowError past 64 bits, PostgreSQL a
    # DataError past 32; both were 500s on every <int:...> route.
    login(client, "admin")
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert "Yêu cầu không hợp lệ" in response.get_data(as_text=True) or response.status_code == 404
