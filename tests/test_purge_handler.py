import json
import time

import pytest
from botocore.stub import ANY, Stubber

from apigw_events import proxy_event
from aws_faults import fail_requests, s3_error_xml
from lambda_shared import aws, parameters
from purge_bucket import continuation, handler
from purge_bucket.continuation import Continuation
from purge_bucket.deletion import PurgeCounts
from support import bucket_contents, lambda_context, response_body, seed_versions

BUCKET = "partner-data-test"
OTHER_ALLOWED = "partner-data-other"
PASSWORD = "correct horse battery staple"
PARAMETER = "/partner-data/purge-password"


@pytest.fixture
def purge_env(s3, ssm, monkeypatch):
    ssm.put_parameter(Name=PARAMETER, Value=PASSWORD, Type="SecureString")
    monkeypatch.setenv("PASSWORD_PARAMETER", PARAMETER)
    monkeypatch.setenv("ALLOWED_BUCKETS", f"{BUCKET}, {OTHER_ALLOWED}")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def call(payload, *, raw: bytes | None = None, context=None, **event_kwargs):
    body = raw if raw is not None else json.dumps(payload).encode()
    context = context or lambda_context("purge-bucket")
    return handler.lambda_handler(proxy_event(body=body, **event_kwargs), context)


def request(password=PASSWORD, bucket=BUCKET, **extra):
    return {"bucket_name": bucket, "password": password, **extra}


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


EMPTY = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}


def test_right_password_empties_the_bucket_and_reports_counts(purge_env, capsys):
    seed_versions(BUCKET, [f"sale/{i}.csv" for i in range(30)], versions=2)
    purge_env.delete_object(Bucket=BUCKET, Key="sale/0.csv")
    purge_env.create_multipart_upload(Bucket=BUCKET, Key="sale/big.csv")

    response = call(request(), source_ip="198.51.100.9", request_id="req-42")

    assert response["statusCode"] == 200
    body = response_body(response)
    assert body["deleted"] == {"versions": 60, "delete_markers": 1, "multipart_uploads": 1}
    assert body["message"] == f"Bucket {BUCKET!r} is now empty"
    assert bucket_contents(purge_env, BUCKET) == EMPTY
    (line,) = log_lines(capsys)
    assert line["message"] == "purge request"
    assert line["request_id"] == "req-42"
    assert line["source_ip"] == "198.51.100.9"
    assert line["bucket"] == BUCKET
    assert line["outcome"] == "purged"
    assert line["status"] == 200
    assert line["deleted"] == body["deleted"]
    assert isinstance(line["duration_ms"], int)


def test_prefix_purges_only_that_prefix(purge_env):
    seed_versions(BUCKET, ["sale/1.csv", "sale/2.csv", "category/1.csv"])
    response = call(request(prefix="sale/"))
    assert response["statusCode"] == 200
    assert "Prefix 'sale/'" in response_body(response)["message"]
    remaining = purge_env.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [item["Key"] for item in remaining] == ["category/1.csv"]


def test_direct_invocation_shape_works(purge_env):
    seed_versions(BUCKET, ["a.csv"])
    response = handler.lambda_handler(request(), lambda_context("purge-bucket"))
    assert response["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY


def test_base64_encoded_body_works(purge_env):
    seed_versions(BUCKET, ["a.csv"])
    response = call(request(), binary=True)
    assert response["statusCode"] == 200


@pytest.mark.parametrize("bucket", [BUCKET, "not-allowed-bucket", OTHER_ALLOWED, "no-such-bucket-anywhere"])
def test_wrong_password_gets_the_same_401_whatever_the_bucket(purge_env, bucket, capsys):
    seed_versions(BUCKET, ["a.csv"])
    response = call(request(password="wrong horse", bucket=bucket))
    assert response["statusCode"] == 401
    assert response["body"] == json.dumps({"message": "Unauthorized"})
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    (line,) = log_lines(capsys)
    assert line["outcome"] == "unauthorized"
    assert "bucket" not in line


def test_bucket_not_on_the_allowlist_gets_403(purge_env):
    purge_env.create_bucket(Bucket="someone-elses-bucket")
    seed_versions("someone-elses-bucket", ["a.csv"])
    response = call(request(bucket="someone-elses-bucket"))
    assert response["statusCode"] == 403
    assert bucket_contents(purge_env, "someone-elses-bucket")["versions"] == 1


def test_allowed_bucket_that_does_not_exist_gets_404(purge_env):
    response = call(request(bucket=OTHER_ALLOWED))
    assert response["statusCode"] == 404
    assert response_body(response)["bucket_name"] == OTHER_ALLOWED


def test_empty_allowlist_allows_nothing(purge_env, monkeypatch):
    monkeypatch.setenv("ALLOWED_BUCKETS", " , ")
    seed_versions(BUCKET, ["a.csv"])
    assert call(request())["statusCode"] == 403
    monkeypatch.delenv("ALLOWED_BUCKETS")
    assert call(request())["statusCode"] == 403
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


def test_bad_request_gets_400_before_the_password_is_read(purge_env, monkeypatch):
    monkeypatch.setenv("PASSWORD_PARAMETER", "/does/not/matter")
    response = call(None, raw=b"{not json")
    assert response["statusCode"] == 400
    assert response_body(response)["message"] == "The request body is not valid JSON"


def test_get_gets_405(purge_env):
    assert call(request(), method="GET")["statusCode"] == 405


@pytest.mark.parametrize("stored", ["", "   "])
def test_empty_stored_password_denies_everything(purge_env, ssm, stored, capsys):
    ssm.put_parameter(Name=PARAMETER, Value=stored or " ", Type="SecureString", Overwrite=True)
    seed_versions(BUCKET, ["a.csv"])
    assert call(request(password=stored or " "))["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    assert any(line["message"].startswith("password parameter is empty") for line in log_lines(capsys))


def test_missing_stored_password_denies_everything(purge_env, ssm, capsys):
    ssm.delete_parameter(Name=PARAMETER)
    assert call(request())["statusCode"] == 401
    errors = [line for line in log_lines(capsys) if line["level"] == "ERROR"]
    assert errors[0]["message"].startswith("password parameter missing")


def test_unset_password_parameter_denies_everything(purge_env, monkeypatch):
    monkeypatch.delenv("PASSWORD_PARAMETER")
    assert call(request())["statusCode"] == 401


def test_ssm_unavailable_denies_with_503_and_a_logged_error(purge_env, capsys):
    ssm = aws.client("ssm")
    fail_requests(
        ssm,
        "ssm.GetParameter",
        status=400,
        body=b'{"__type": "AccessDeniedException"}',
        headers={"Content-Type": "application/x-amz-json-1.1"},
    )
    seed_versions(BUCKET, ["a.csv"])
    response = call(request())
    assert response["statusCode"] == 503
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    errors = [line for line in log_lines(capsys) if line["level"] == "ERROR"]
    assert "AccessDeniedException" in errors[0]["error"]


def test_password_rotation_takes_effect_after_the_cache_expires(purge_env, ssm, monkeypatch):
    assert call(request(password="wrong"))["statusCode"] == 401
    ssm.put_parameter(Name=PARAMETER, Value="rotated", Type="SecureString", Overwrite=True)
    assert call(request(password="rotated"))["statusCode"] == 401, "cached value still in use"
    parameter = parameters.secure_parameter(PARAMETER)
    monkeypatch.setattr(parameter, "_expires_at", time.monotonic() - 1)
    assert call(request(password="rotated"))["statusCode"] == 200


def test_the_password_never_appears_in_logs_or_responses(purge_env, capsys):
    seed_versions(BUCKET, ["a.csv"])
    responses = [
        call(request()),
        call(request(password=PASSWORD + "x")),
        call(request(bucket="Invalid_Bucket")),
        call(None, raw=json.dumps(request(extra=1)).encode()),
    ]
    output = capsys.readouterr().out
    assert output.count("purge request") == 4
    for text in [output, *(r["body"] for r in responses)]:
        assert PASSWORD not in text
        assert "battery" not in text


def test_head_bucket_refused_gets_500_without_a_trace(purge_env):
    fail_requests(aws.client("s3"), "s3.HeadBucket", status=403, body=b"")
    response = call(request())
    assert response["statusCode"] == 500
    assert response_body(response)["message"] == "S3 refused access to the bucket (403)"
    assert "Traceback" not in response["body"]


def test_object_lock_gets_500_with_what_was_and_was_not_deleted(s3, ssm, monkeypatch, capsys):
    locked = "locked-partner-data"
    ssm.put_parameter(Name=PARAMETER, Value=PASSWORD, Type="SecureString")
    monkeypatch.setenv("PASSWORD_PARAMETER", PARAMETER)
    monkeypatch.setenv("ALLOWED_BUCKETS", locked)
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=locked, Key="held.csv", Body=b"x", ObjectLockLegalHoldStatus="ON")
    seed_versions(locked, ["free-1.csv", "free-2.csv"])

    response = call(request(bucket=locked))

    assert response["statusCode"] == 500
    body = response_body(response)
    assert body["deleted"]["versions"] == 2
    assert body["not_deleted"] == {
        "count": 1,
        "by_error_code": {"AccessDenied": 1},
        "sample_keys": ["held.csv"],
    }
    assert "1 entries" in body["message"]
    assert log_lines(capsys)[-1]["level"] == "ERROR"


def test_listing_refused_gets_500(purge_env):
    fail_requests(aws.client("s3"), "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied"))
    response = call(request())
    assert response["statusCode"] == 500
    body = response_body(response)
    assert body["refused"] == "AccessDenied"
    assert body["not_deleted"]["count"] == 0


# The 202 continuation --------------------------------------------------------------------------


def scheduled_continuations(monkeypatch) -> list[dict]:
    """Stubs Lambda's Invoke at the client: returns the events the handler schedules."""
    client = aws.client("lambda")
    sent: list[dict] = []
    client.meta.events.register(
        "provide-client-params.lambda.Invoke", lambda params, **_: sent.append(json.loads(params["Payload"]))
    )
    stubber = Stubber(client)
    for _ in range(5):
        stubber.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:purge-bucket",
                "InvocationType": "Event",
                "Payload": ANY,
            },
        )
    stubber.activate()
    return sent


def test_work_that_does_not_fit_gets_202_and_the_continuation_finishes_it(purge_env, monkeypatch, capsys):
    seed_versions(BUCKET, [f"k{i}" for i in range(40)], versions=2)
    sent = scheduled_continuations(monkeypatch)
    monkeypatch.setattr(handler, "API_TIME_BUDGET_SECONDS", 0.0)

    response = call(request(), request_id="req-202")

    assert response["statusCode"] == 202
    assert "continues in the background" in response_body(response)["message"]
    (event,) = sent
    assert PASSWORD not in json.dumps(event)
    assert event[continuation.EVENT_KEY]["bucket_name"] == BUCKET
    assert bucket_contents(purge_env, BUCKET)["versions"] == 80

    finished = handler.lambda_handler(event, lambda_context("purge-bucket"))

    assert finished["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY
    done = log_lines(capsys)[-1]
    assert done["message"] == "purge complete"
    assert done["request_id"] == "req-202"
    assert done["deleted"] == {"versions": 80, "delete_markers": 0, "multipart_uploads": 0}


def test_a_continuation_that_runs_out_of_time_schedules_the_next_hop(purge_env, monkeypatch):
    seed_versions(BUCKET, ["a.csv"])
    sent = scheduled_continuations(monkeypatch)
    monkeypatch.setattr(handler, "API_TIME_BUDGET_SECONDS", 0.0)
    call(request())
    short_context = lambda_context("purge-bucket", timeout_seconds=handler.SAFETY_MARGIN_SECONDS)
    response = handler.lambda_handler(sent[0], short_context)
    assert response["statusCode"] == 202
    assert sent[1][continuation.EVENT_KEY]["hop"] == 2
    assert handler.lambda_handler(sent[1], lambda_context("purge-bucket"))["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY


def test_a_failed_continuation_schedule_gets_500(purge_env, monkeypatch):
    seed_versions(BUCKET, ["a.csv"])
    monkeypatch.setattr(handler, "API_TIME_BUDGET_SECONDS", 0.0)
    stubber = Stubber(aws.client("lambda"))
    stubber.add_client_error("invoke", "AccessDeniedException", http_status_code=403)
    stubber.activate()
    response = call(request())
    assert response["statusCode"] == 500
    assert "could not continue" in response_body(response)["message"]


def signed(password=PASSWORD, **changes) -> dict:
    job = Continuation(BUCKET, "", "req-1", 1, int(time.time()), PurgeCounts())
    event = job.to_event(password)
    event[continuation.EVENT_KEY].update(changes)
    return event


@pytest.mark.parametrize(
    "event",
    [
        signed(password="not the stored one"),
        signed(bucket_name=OTHER_ALLOWED),
        signed(hop=2),
        signed(signature="0" * 64),
        signed(signature="not hex"),
        {continuation.EVENT_KEY: "junk"},
        {continuation.EVENT_KEY: {}, "extra": 1},
    ],
)
def test_forged_or_tampered_continuations_delete_nothing(purge_env, event, capsys):
    seed_versions(BUCKET, ["a.csv"])
    response = handler.lambda_handler(event, lambda_context("purge-bucket"))
    assert response["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    assert log_lines(capsys)[-1]["message"] == "purge continuation rejected"


def test_expired_continuation_is_rejected(purge_env):
    job = Continuation(
        BUCKET, "", "req-1", 1, int(time.time()) - continuation.MAX_AGE_SECONDS - 5, PurgeCounts()
    )
    assert handler.lambda_handler(job.to_event(PASSWORD), lambda_context("p"))["statusCode"] == 401


def test_continuation_past_the_hop_limit_is_rejected(purge_env):
    job = Continuation(BUCKET, "", "req-1", continuation.MAX_HOPS + 1, int(time.time()), PurgeCounts())
    assert handler.lambda_handler(job.to_event(PASSWORD), lambda_context("p"))["statusCode"] == 401


def test_continuation_for_a_bucket_removed_from_the_allowlist_is_refused(purge_env, monkeypatch):
    seed_versions(BUCKET, ["a.csv"])
    event = signed()
    monkeypatch.setenv("ALLOWED_BUCKETS", OTHER_ALLOWED)
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 403
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


def test_continuation_sent_through_the_api_is_just_a_bad_request(purge_env):
    response = call(None, raw=json.dumps(signed()).encode())
    assert response["statusCode"] == 400


def test_continuation_that_meets_a_refusal_logs_the_failure(purge_env, capsys):
    fail_requests(aws.client("s3"), "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied"))
    response = handler.lambda_handler(signed(), lambda_context("p"))
    assert response["statusCode"] == 500
    assert log_lines(capsys)[-1]["message"] == "purge failed"


def test_last_allowed_hop_gives_up_instead_of_chaining(purge_env, monkeypatch, capsys):
    seed_versions(BUCKET, ["a.csv"])
    job = Continuation(BUCKET, "", "req-1", continuation.MAX_HOPS, int(time.time()), PurgeCounts())
    context = lambda_context("p", timeout_seconds=handler.SAFETY_MARGIN_SECONDS)
    response = handler.lambda_handler(job.to_event(PASSWORD), context)
    assert response["statusCode"] == 500
    assert log_lines(capsys)[-1]["outcome"] == "too_many_hops"


def test_continuation_that_cannot_chain_logs_it(purge_env, capsys):
    seed_versions(BUCKET, ["a.csv"])
    stubber = Stubber(aws.client("lambda"))
    stubber.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    stubber.activate()
    context = lambda_context("p", timeout_seconds=handler.SAFETY_MARGIN_SECONDS)
    response = handler.lambda_handler(signed(), context)
    assert response["statusCode"] == 500
    assert log_lines(capsys)[-1]["outcome"] == "continuation_failed"
