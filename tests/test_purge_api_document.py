"""The purge API's OpenAPI document (docs/partner-api/openapi.yaml) is valid, its examples are what
its schemas say, and the limits it states are the ones the function keeps."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from jsonschema import ValidationError
from openapi_spec_validator import validate

from lambda_shared.s3_names import is_valid_bucket_name
from purge_api_document import (
    assert_documented,
    document,
    documented_statuses,
    examples_of,
    operations,
    resolved,
    validate_against,
)
from purge_bucket.api import request as purge_request
from purge_bucket.api import responses

SCHEMAS = document()["components"]["schemas"]


def test_the_document_is_valid_openapi():
    validate(document())


def test_the_document_describes_the_two_routes_the_module_deploys():
    assert operations() == {"/purge": {"POST"}, "/purge/status": {"POST"}}


def test_every_request_example_is_a_valid_request():
    for path, item in document()["paths"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        examples = examples_of(content)
        assert examples, f"{path} has no request example"
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        for value in examples:
            validate_against(SCHEMAS[name], value)
            parsed = purge_request.parse_request(value)
            assert type(parsed).__name__ == name


def test_every_response_example_matches_its_status_schema():
    checked = 0
    for path, item in document()["paths"].items():
        for status, response in item["post"]["responses"].items():
            for value in examples_of(resolved(response)["content"]["application/json"]):
                assert_documented(path, int(status), value)
                checked += 1
    assert checked >= 20


def test_the_stated_limits_are_the_functions():
    purge = SCHEMAS["PurgeRequest"]
    assert tuple(purge["properties"]) == purge_request.FIELDS
    assert tuple(purge["required"]) == purge_request.REQUIRED_FIELDS
    status = SCHEMAS["StatusRequest"]
    assert tuple(status["properties"]) == tuple(status["required"]) == purge_request.STATUS_FIELDS
    assert SCHEMAS["Password"]["maxLength"] == purge_request.MAX_PASSWORD_CHARS
    assert SCHEMAS["Prefix"]["maxLength"] == purge_request.MAX_PREFIX_BYTES
    assert f"At most {purge_request.MAX_PREFIX_BYTES:,} bytes as UTF-8" in SCHEMAS["Prefix"]["description"]
    assert SCHEMAS["BucketName"]["maxLength"] == purge_request.MAX_BUCKET_CHARS
    assert SCHEMAS["JobId"]["pattern"] == f"^{purge_request.JOB_ID.pattern}$"
    body_limit = document()["components"]["responses"]["BadRequest"]["description"]
    assert f"over {purge_request.MAX_BODY_BYTES:,} bytes" in body_limit


def python_pattern(ecma: str) -> re.Pattern[str]:
    """The document's ECMA pattern as Python reads it: ``$`` is the end, not before a last newline."""
    return re.compile(ecma.replace("$", r"\Z"))


BUCKET_PATTERN = python_pattern(SCHEMAS["BucketName"]["pattern"])
BUCKET_CHARACTERS = st.sampled_from("abcz0189.-_A\n")
RESERVED = ["xn--", "sthree-", "amzn-s3-demo-", "-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]


@given(
    st.one_of(
        st.text(BUCKET_CHARACTERS, max_size=70),
        st.builds(
            lambda a, b, c: a + b + c,
            st.text(BUCKET_CHARACTERS, max_size=5),
            st.sampled_from(RESERVED),
            st.text(BUCKET_CHARACTERS, max_size=5),
        ),
        st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){3}\Z"),
    )
)
@example("192.168.5.4")
@example("xn--abc")
@example("abc.mrap")
@example("a..b")
@example("abc\n")
@example("a" * 63)
@example("a" * 64)
def test_the_bucket_name_pattern_is_the_functions_rule(name):
    assert (BUCKET_PATTERN.search(name) is not None) == is_valid_bucket_name(name)


def test_every_status_the_function_refuses_with_is_documented():
    """API Gateway answers a method other than POST itself (403), so 405 reaches no partner."""
    refusals = [
        responses.BadRequest,
        responses.Unauthorized,
        responses.Forbidden,
        responses.NotFound,
        responses.Conflict,
        responses.Unavailable,
        responses.Failed,
    ]
    for refusal in refusals:
        assert int(refusal.status) in documented_statuses("/purge")
    assert {400, 401, 404, 503} <= documented_statuses("/purge/status")


#: Statuses only API Gateway answers with (the function never does): a message is all they hold.
GATEWAY_ONLY = {413, 429, 502, 504}


def minimal(path: str, status: int) -> dict[str, Any]:
    """The smallest answer the function gives with ``status``."""
    job = {"job_id": "20261202T185000Z-0123456789abcdef"}
    bucket = {"bucket_name": "partner-data"}
    counts = {"deleted": {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}}
    started = {**job, **bucket, "prefix": "", **counts}
    bodies = {
        ("/purge", 200): started,
        ("/purge", 202): {
            **started,
            "status_request": {"method": "POST", "path": None, "fields": ["job_id"]},
        },
        ("/purge", 401): {"message": "Unauthorized"},
        ("/purge", 404): bucket,
        ("/purge", 409): {**job, **bucket, "prefix": "", "retry_after_seconds": 1},
        ("/purge", 500): bucket,
        ("/purge/status", 200): {
            **started,
            "state": "running",
            "started_at": "2026-12-02T18:50:00Z",
            "ended_at": None,
        },
        ("/purge/status", 401): {"message": "Unauthorized"},
        ("/purge/status", 404): job,
    }
    return {"message": "x", **bodies.get((path, status), {})}


@pytest.mark.parametrize("path", ["/purge", "/purge/status"])
def test_every_answer_is_a_json_object_with_a_message(path):
    for status in documented_statuses(path):
        assert_documented(path, status, {"message": "x"} if status in GATEWAY_ONLY else minimal(path, status))
        with pytest.raises(ValidationError):
            assert_documented(path, status, {"text": "x"})
