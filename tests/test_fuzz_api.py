"""Generated requests against /api/v1: schemathesis from survey/api/openapi.yaml (valid and invalid
inputs for every operation, responses checked against the file), plus Hypothesis for what the
file cannot say: an official's token never returns another commune's rows, and a refused volume
import writes nothing. Example counts follow FUZZ_EXAMPLES (test_fuzz_common).
"""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from survey.services.imports import FIELD_CODES
from tests.indices.test_exports import OTHER, OWN, add_response, unit_id
from tests.test_api import auth, make_token
from tests.test_fuzz_common import FUZZ, TEXT, assert_no_server_error, changed_tables, last_state, no_limits, snapshot

__all__ = ["no_limits"]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def analyst_token(app):
    add_response(app, f"{OWN}-Q1")
    add_response(app, f"{OTHER}-Q1", period="2026-H2")
    return make_token(app, "analyst")


def _operations(app) -> list:
    # Loaded from the file the app serves, run through the WSGI app (no server, no network).
    # schemathesis.pytest.from_fixture fails under pytest 9 ('Function' object has no attribute
    # '_nodeid'), so the operations' strategies are driven by Hypothesis directly.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.yaml", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_api_follows_its_openapi_file(app, analyst_token, no_limits, mode):
    # The analyst sees the whole province and may import volumes: the widest set of paths.
    operations = _operations(app)
    assert {op.label for op in operations} >= {"GET /units", "POST /volumes", "GET /responses/counts"}
    for operation in operations:
        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            before = last_state(app)
            response = case.call(headers={**(case.headers or {}), **auth(analyst_token)})
            after = snapshot(app)
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                assert changed_tables(before, after) == [], (case.path, response.status_code)

        check()


# ---------------------------------------------------------------- what the file cannot say

OFFICIAL_UNITS = {OWN}  # Phường Đồng Tiến has no units below it in the demo province
IDS = st.one_of(st.integers(-2, 200), st.sampled_from([2**31, 2**63, 10**20]))
PARAMS = st.fixed_dictionaries({}, optional={
    "period": st.one_of(st.sampled_from(["2026-H1", "2026-H2", "2026-h1", "2026-H3"]), TEXT),
    "survey": st.one_of(st.just("SIPAS"), TEXT),
    "unit": st.one_of(IDS.map(str), TEXT),
    "after": st.one_of(IDS.map(str), TEXT),
    "limit": st.one_of(IDS.map(str), TEXT),
})


def test_official_token_never_reads_another_unit(app, client, no_limits):
    add_response(app, f"{OWN}-Q1")
    add_response(app, f"{OTHER}-Q1", values={"A1.1": 1, "COMMENT": "bí mật của xã khác"})
    token = make_token(app, "official")
    other = unit_id(app, OTHER)

    @FUZZ
    @given(path=st.one_of(st.just("/api/v1/responses/counts"), st.just("/api/v1/units"),
                          st.one_of(IDS, st.just(other)).map(lambda i: f"/api/v1/units/{i}/responses")),
           params=PARAMS)
    def check(path, params):
        response = client.get(path, query_string=params, headers=auth(token))
        assert_no_server_error(response, f"{path} {params}")
        assert response.is_json
        body = response.get_json()
        assert "bí mật" not in json.dumps(body, ensure_ascii=False)
        if response.status_code == 200:
            codes = {u["code"] for u in body.get("units", ())}
            codes |= {c["unit_code"] for c in body.get("counts", ())}
            codes |= {r["unit_code"] for r in body.get("responses", ())}
            assert codes <= OFFICIAL_UNITS, codes

    check()


VOLUME = st.fixed_dictionaries({
    "unit_code": st.one_of(st.sampled_from([OWN, OTHER, "XX"]), TEXT),
    "period": st.one_of(st.sampled_from(["2026-H1", "2026-H3"]), TEXT),
    "field": st.one_of(st.sampled_from(list(FIELD_CODES)), TEXT),
    "dossiers": st.one_of(st.integers(-5, 2**40), TEXT, st.none(), st.floats(allow_nan=True)),
})
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | TEXT,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                       max_leaves=8)


def test_volume_import_writes_all_or_nothing(app, client, no_limits):
    token = make_token(app, "analyst")

    @FUZZ
    @given(payload=st.one_of(st.lists(VOLUME, min_size=1, max_size=4), JSONISH),
           how=st.sampled_from(["json", "json", "csv", "bytes"]))
    def check(payload, how):
        before = last_state(app)
        if how == "json":
            response = client.post("/api/v1/volumes", data=json.dumps(payload, allow_nan=True),
                                   content_type="application/json", headers=auth(token))
        elif how == "csv" and isinstance(payload, list) and all(isinstance(r, dict) for r in payload):
            lines = ["unit_code,period,field,dossiers"] + [
                ",".join(str(r.get(k, "")).replace(",", " ").replace("\n", " ")
                         for k in ("unit_code", "period", "field", "dossiers")) for r in payload]
            response = client.post("/api/v1/volumes", data="\n".join(lines).encode(), content_type="text/csv",
                                   headers=auth(token))
        else:
            response = client.post("/api/v1/volumes", data=repr(payload).encode("utf-8", "replace"),
                                   content_type="application/octet-stream", headers=auth(token))
        after = snapshot(app)
        assert_no_server_error(response, repr(payload)[:300])
        assert response.is_json
        if response.status_code >= 400:
            assert changed_tables(before, after) == []
        else:
            assert response.status_code == 200 and set(response.get_json()) >= {"created", "updated"}

    check()


# ---------------------------------------------------------------- found by fuzzing

def test_api_path_with_a_newline_answers_json(app, client):
    # Found by schemathesis: werkzeug's path converter stops at a newline, so the API's catch-all
    # route missed it and the HTML 404 page came back from /api/v1.
    response = client.get("/api/v1/units/%0A/responses", headers=auth(make_token(app, "analyst")))
    assert response.status_code == 404 and response.is_json and "error" in response.get_json()


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "2147483648"])
def test_odd_unit_numbers_in_api_counts_are_400(app, client, value):
    response = client.get("/api/v1/responses/counts", query_string={"unit": value},
                          headers=auth(make_token(app, "analyst")))
    assert response.status_code == 400 and response.is_json
