"""Hostile input, generated: nothing a caller without the password sends deletes anything or
makes the function fail with a 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purge_bucket import handler
from stand_ins.api_gateway_events import proxy_event
from stand_ins.s3_inventory import bucket_contents
from support import lambda_context, put_versions

BUCKET = "partner-data-test"
PASSWORD = "correct horse battery staple"
PARAMETER = "/partner-data/purge-password"
CLIENT_ERRORS = {400, 401, 403, 404, 405}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
request_like = st.fixed_dictionaries(
    {
        "bucket_name": st.one_of(st.just(BUCKET), st.text(max_size=70), json_values),
        "password": json_values | st.text(),
    },
    optional={"prefix": json_values | st.text(), "extra": json_values},
)
hostile_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def guarded_bucket(s3, ssm, monkeypatch):
    ssm.put_parameter(Name=PARAMETER, Value=PASSWORD, Type="SecureString")
    monkeypatch.setenv("PASSWORD_PARAMETER", PARAMETER)
    monkeypatch.setenv("ALLOWED_BUCKETS", BUCKET)
    s3.create_bucket(Bucket=BUCKET)
    put_versions(BUCKET, ["keep/me.csv"])
    return s3


def assert_refused_and_untouched(response, s3):
    assert response["statusCode"] in CLIENT_ERRORS, response
    assert isinstance(json.loads(response["body"])["message"], str)
    assert bucket_contents(s3, BUCKET)["versions"] == 1


@hostile_settings
@given(body=st.binary(max_size=600), base64=st.booleans())
def test_arbitrary_bytes(guarded_bucket, body, base64):
    event = proxy_event(body=body, binary=base64 or None)
    assert_refused_and_untouched(handler.lambda_handler(event, lambda_context("p")), guarded_bucket)


@hostile_settings
@given(payload=json_values)
def test_arbitrary_json_bodies(guarded_bucket, payload):
    event = proxy_event(body=json.dumps(payload).encode())
    assert_refused_and_untouched(handler.lambda_handler(event, lambda_context("p")), guarded_bucket)


@hostile_settings
@given(payload=request_like)
def test_request_shaped_bodies_without_the_password(guarded_bucket, payload):
    event = proxy_event(body=json.dumps(payload).encode())
    assert_refused_and_untouched(handler.lambda_handler(event, lambda_context("p")), guarded_bucket)


@hostile_settings
@given(event=json_values | request_like)
def test_arbitrary_direct_invocation_events(guarded_bucket, event):
    assert_refused_and_untouched(handler.lambda_handler(event, lambda_context("p")), guarded_bucket)


status_like = st.fixed_dictionaries(
    {
        "job_id": st.one_of(
            st.from_regex(r"\A[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}\Z"), st.text(max_size=40), json_values
        ),
        "password": json_values | st.text(),
    },
    optional={"extra": json_values},
)


@hostile_settings
@given(payload=status_like | json_values, body=st.binary(max_size=200), raw=st.booleans())
def test_status_requests_without_the_password(guarded_bucket, payload, body, raw):
    """The status route: whatever arrives, a client error, and no job is read without the password
    (no job table is configured here: reading one would be a 503)."""
    sent = body if raw else json.dumps(payload).encode()
    event = proxy_event(body=sent, resource="/purge/status")
    assert_refused_and_untouched(handler.lambda_handler(event, lambda_context("p")), guarded_bucket)
