"""Questionnaire versioning, signed counter tokens, periods, and the operator commands."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from survey.catalog.instrument import SIPAS_STANDING, publish_questions
from survey.catalog.periods import period_of
from survey.extensions import db
from survey.intake.tokens import make_token, read_token
from survey.models import Counter, Question, Response, Survey, SurveyVersion
from tests.conftest import full_answers, open_form


def standing(app) -> Survey:
    return db.session.scalar(select(Survey).where(Survey.code == "SIPAS"))


def reworded() -> list:
    specs = list(SIPAS_STANDING)
    specs[0] = dataclasses.replace(specs[0], text_vi="Dễ dàng tìm thấy nơi làm thủ tục")
    return specs


def test_publishing_the_same_questions_changes_nothing(app):
    with app.app_context():
        survey = standing(app)
        before = survey.current_version.id
        assert publish_questions(survey, SIPAS_STANDING).id == before
        assert db.session.scalar(select(func.count()).select_from(SurveyVersion)) == 1


def test_unanswered_version_is_edited_in_place(app):
    with app.app_context():
        survey = standing(app)
        version = publish_questions(survey, reworded())
        db.session.commit()
        assert version.number == 1 and not version.frozen
        assert version.questions[0].text_vi == "Dễ dàng tìm thấy nơi làm thủ tục"


def test_answered_version_is_frozen_and_a_change_makes_a_new_one(app, client, counter):
    fields_v1 = open_form(client, counter.url)  # a citizen opens the form on version 1 …
    assert client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code == 303
    with app.app_context():
        survey = standing(app)
        v1 = survey.current_version
        assert v1.frozen
        v1_text = [q.text_vi for q in v1.questions]
        v2 = publish_questions(survey, reworded())
        db.session.commit()
        assert (v1.number, v2.number) == (1, 2) and v2.id != v1.id
        assert [q.text_vi for q in db.session.get(SurveyVersion, v1.id).questions] == v1_text
        old_response = db.session.scalar(select(Response))
        assert old_response.survey_version_id == v1.id
        v1_id, v2_id = v1.id, v2.id
    # … and submits after the administrator published version 2: stored against what was read.
    assert client.post(counter.url, data={**fields_v1, **full_answers()}).status_code == 303
    new_form = client.get(counter.url).get_data(as_text=True)
    assert "Dễ dàng tìm thấy nơi làm thủ tục" in new_form
    assert client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code == 303
    with app.app_context():
        versions = db.session.scalars(select(Response.survey_version_id).order_by(Response.id)).all()
        assert versions == [v1_id, v1_id, v2_id]
        assert db.session.scalar(select(func.count()).select_from(Question)) == 2 * len(SIPAS_STANDING)


def test_token_round_trip_and_tampering(app):
    with app.test_request_context():
        token = make_token(7, 1, 3)
        parsed = read_token(token)
        assert (parsed.counter_id, parsed.survey_id, parsed.token_version) == (7, 1, 3)
        payload, signature = token.split(".")
        other = make_token(8, 1, 3).split(".")[0]
        assert read_token(f"{other}.{signature}") is None  # payload swapped, signature kept
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        assert read_token(f"{payload}.{flipped}") is None
        assert read_token("") is None and read_token("....") is None and read_token("a" * 500) is None
    app.config["SECRET_KEY"] = "another-province"
    with app.test_request_context():
        assert read_token(token) is None


@pytest.mark.parametrize("kind", ["garbage", "altered", "other_secret", "no_counter", "no_survey",
                                  "old_version", "wrong_shape"])
def test_forged_or_altered_tokens_never_open_a_form(app, client, counter, kind):
    from itsdangerous import URLSafeSerializer

    with app.app_context():
        c = db.session.get(Counter, counter.id)
        survey_id = standing(app).id
        tokens = {
            "garbage": "not-a-token",
            "altered": counter.token[:-2] + ("xx" if not counter.token.endswith("xx") else "yy"),
            "other_secret": URLSafeSerializer("guess", salt="counter-qr-v1").dumps([c.id, survey_id, 1]),
            "no_counter": make_token(99_999, survey_id, 1),
            "no_survey": make_token(c.id, 99_999, 1),
            "old_version": make_token(c.id, survey_id, c.token_version + 1),
            "wrong_shape": URLSafeSerializer("test-secret", salt="counter-qr-v1").dumps({"c": c.id}),
        }
    url = f"/s/{tokens[kind]}"
    for response in (client.get(url), client.post(url, data=full_answers())):
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "Mã QR không hợp lệ" in html and "<form" not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_rotating_a_counter_token_retires_printed_codes(app, client, counter):
    with app.app_context():
        db.session.get(Counter, counter.id).token_version += 1
        db.session.commit()
    response = client.get(counter.url)
    assert response.status_code == 410 and "<form" not in response.get_data(as_text=True)


@pytest.mark.parametrize("utc,expected", [
    (datetime(2026, 6, 30, 16, 59, tzinfo=timezone.utc), "2026-H1"),  # 23:59 on 30/06 in Hà Nội
    (datetime(2026, 6, 30, 17, 0, tzinfo=timezone.utc), "2026-H2"),   # 00:00 on 01/07 in Hà Nội
    (datetime(2026, 12, 31, 16, 59, tzinfo=timezone.utc), "2026-H2"),
    (datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc), "2027-H1"),
])
def test_period_follows_vietnam_time(utc, expected):
    assert period_of(utc) == expected


def test_qr_codes_command_writes_png_and_svg_for_each_active_counter(app, runner, client, tmp_path):
    with app.app_context():
        retired = db.session.scalar(select(Counter).order_by(Counter.id.desc()))
        retired.active = False
        retired_code = retired.code
        db.session.commit()
        active = db.session.scalar(select(func.count()).select_from(Counter).where(Counter.active))
    result = runner.invoke(args=["qr-codes", "-o", str(tmp_path / "qr")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if "\t" in line]
    assert len(lines) == active == 19
    assert retired_code not in result.stdout
    for line in lines:
        code, url, short = line.split("\t")
        assert short.startswith(f"http://survey.test/q/{code}/")
        png, svg = tmp_path / "qr" / f"{code}.png", tmp_path / "qr" / f"{code}.svg"
        assert Image.open(png).size[0] >= 250
        assert svg.read_text().startswith("<?xml") and "<path" in svg.read_text()
        assert url.startswith("http://survey.test/s/")
        assert client.get(url.removeprefix("http://survey.test")).status_code == 200


def test_qr_codes_for_an_unknown_unit_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(args=["qr-codes", "--unit", "NOPE", "-o", str(tmp_path)])
    assert result.exit_code != 0 and "Không có đơn vị mã NOPE" in result.output


def test_cli_units_are_read_by_the_one_parser(runner, tmp_path):
    # survey/args.py: spaces forgiven, an unknown code is the same message for every command.
    padded = runner.invoke(args=["qr-codes", "--unit", " 00157 ", "-o", str(tmp_path)])
    assert padded.exit_code == 0, padded.output
    written = sorted(path.stem for path in tmp_path.glob("*.png"))
    assert written and all(code.startswith("00157-") for code in written), written
    created = runner.invoke(args=["create-user", "--email", "x@demo.gov.vn", "--name", "X",
                                  "--role", "official", "--unit", " 00157 ",
                                  "--password", "mat-khau-dai-2026"])
    assert created.exit_code == 0, created.output
    unknown = runner.invoke(args=["create-user", "--email", "y@demo.gov.vn", "--name", "Y",
                                  "--role", "official", "--unit", "NOPE",
                                  "--password", "mat-khau-dai-2026"])
    assert unknown.exit_code != 0 and "Không có đơn vị mã NOPE" in unknown.output


def test_seed_demo_is_a_believable_province_and_idempotent(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        from survey.models import Unit

        units = db.session.scalars(select(Unit)).all()
        local = [u for u in units if u.kind in ("commune", "ward")]
        assert len(local) >= 5 and any(u.kind == "centre" for u in units)
        assert all(2 <= len(u.counters) <= 4 for u in units if u.kind != "province")
        assert db.session.scalar(select(func.count()).select_from(SurveyVersion)) == 1
        codes = [q.code for q in standing(app).current_version.questions]
        assert {f"A{i}" for i in range(1, 7)} <= {c.split(".")[0] for c in codes}
        assert {"OVERALL", "COMMENT"} <= set(codes)
