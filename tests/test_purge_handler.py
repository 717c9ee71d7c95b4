import base64
import io
import json
import logging
import time

import pytest
from botocore.stub import ANY, Stubber

from aws_faults import fail_requests, s3_error_xml
from lambda_shared import aws, logs, parameters
from purge_bucket import continuation, handler
from purge_bucket.continuation import Continuation, SessionKeys
from purge_bucket.deletion import REQUEST_SECONDS, Failure, PurgeCounts, PurgeResult
from stand_ins.api_gateway_events import http_event, proxy_event
from stand_ins.s3_inventory import bucket_contents
from support import EMPTY, lambda_context, put_versions, response_body

BUCKET = "partner-data-test"
OTHER_ALLOWED = "partner-data-other"
PASSWORD = "correct horse battery staple"
PARAMETER = "/partner-data/purge-password"
KEYS_PATH = "/partner-data/purge-continuations"


def purge_client(service):
    """The client the handler uses for ``service``."""
    return handler.purge_s3_client() if service == "s3" else aws.client(service, **handler.BOUNDED)


@pytest.fixture
def purge_env(s3, ssm, monkeypatch):
    ssm.put_parameter(Name=PARAMETER, Value=PASSWORD, Type="SecureString")
    monkeypatch.setenv("PASSWORD_PARAMETER", PARAMETER)
    monkeypatch.setenv("ALLOWED_BUCKETS", f"{BUCKET}, {OTHER_ALLOWED}")
    monkeypatch.setenv("CONTINUATION_KEYS_PATH", KEYS_PATH)
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


def test_right_password_empties_the_bucket_and_reports_counts(purge_env, capsys):
    put_versions(BUCKET, [f"sale/{i}.csv" for i in range(30)], versions=2)
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
    put_versions(BUCKET, ["sale/1.csv", "sale/2.csv", "category/1.csv"])
    response = call(request(prefix="sale/"))
    assert response["statusCode"] == 200
    assert (
        response_body(response)["message"] == f"Nothing is left under the prefix 'sale/' of bucket {BUCKET!r}"
    )
    remaining = purge_env.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [item["Key"] for item in remaining] == ["category/1.csv"]


def test_direct_invocation_shape_works(purge_env):
    put_versions(BUCKET, ["a.csv"])
    response = handler.lambda_handler(request(), lambda_context("purge-bucket"))
    assert response["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY


@pytest.mark.parametrize(
    ("through_http", "budget"),
    [(True, handler.API_DEADLINE_SECONDS), (False, handler.DIRECT_DEADLINE_SECONDS)],
    ids=["API Gateway: its 29 s", "direct: below the SDKs' 60 s read timeout"],
)
def test_the_purge_runs_for_what_its_caller_waits(purge_env, monkeypatch, through_http, budget):
    deadlines = []
    monkeypatch.setattr(
        handler.BucketPurger, "run", lambda _self, deadline: deadlines.append(deadline) or PurgeResult()
    )
    started = time.monotonic()
    event = proxy_event(body=json.dumps(request()).encode()) if through_http else request()
    assert handler.lambda_handler(event, lambda_context("purge-bucket"))["statusCode"] == 200
    (deadline,) = deadlines
    assert deadline - started == pytest.approx(budget - handler.RESERVE_SECONDS, abs=0.5)
    assert handler.DIRECT_DEADLINE_SECONDS < 60


def test_base64_encoded_body_works(purge_env):
    put_versions(BUCKET, ["a.csv"])
    response = call(request(), binary=True)
    assert response["statusCode"] == 200


@pytest.mark.parametrize("bucket", [BUCKET, "not-allowed-bucket", OTHER_ALLOWED, "no-such-bucket-anywhere"])
def test_wrong_password_gets_the_same_401_whatever_the_bucket(purge_env, bucket, capsys):
    put_versions(BUCKET, ["a.csv"])
    response = call(request(password="wrong horse", bucket=bucket))
    assert response["statusCode"] == 401
    assert response["body"] == json.dumps({"message": "Unauthorized"})
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    (line,) = log_lines(capsys)
    assert line["outcome"] == "unauthorized"
    assert "bucket" not in line


def test_bucket_not_on_the_allowlist_gets_403(purge_env):
    purge_env.create_bucket(Bucket="someone-elses-bucket")
    put_versions("someone-elses-bucket", ["a.csv"])
    response = call(request(bucket="someone-elses-bucket"))
    assert response["statusCode"] == 403
    assert bucket_contents(purge_env, "someone-elses-bucket")["versions"] == 1


def test_allowed_bucket_that_does_not_exist_gets_404(purge_env):
    response = call(request(bucket=OTHER_ALLOWED))
    assert response["statusCode"] == 404
    assert response_body(response)["bucket_name"] == OTHER_ALLOWED


def test_empty_allowlist_allows_nothing(purge_env, monkeypatch):
    monkeypatch.setenv("ALLOWED_BUCKETS", " , ")
    put_versions(BUCKET, ["a.csv"])
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
    put_versions(BUCKET, ["a.csv"])
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
    ssm = aws.client("ssm", **parameters.SSM_CLIENT)
    fail_requests(
        ssm,
        "ssm.GetParameter",
        status=400,
        body=b'{"__type": "AccessDeniedException"}',
        headers={"Content-Type": "application/x-amz-json-1.1"},
    )
    put_versions(BUCKET, ["a.csv"])
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
    put_versions(BUCKET, ["a.csv"])
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
    fail_requests(purge_client("s3"), "s3.HeadBucket", status=403, body=b"")
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
    put_versions(locked, ["free-1.csv", "free-2.csv"])

    response = call(request(bucket=locked))

    assert response["statusCode"] == 500
    body = response_body(response)
    assert body["deleted"]["versions"] == 2
    assert body["not_deleted"] == {
        "count": 1,
        "by_error_code": {"AccessDenied": 1},
        "sample_keys": ["held.csv"],
    }
    assert body["message"] == (
        "S3 refused to delete 1 entries (AccessDenied 1): 2 versions, 0 delete markers,"
        " 0 multipart uploads deleted; nothing else remains"
    )
    line = log_lines(capsys)[-1]
    assert line["level"] == "ERROR"
    assert line["not_deleted"] == body["not_deleted"]


def test_listing_refused_gets_500_saying_what_was_not_reached(purge_env):
    fail_requests(purge_client("s3"), "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied"))
    response = call(request())
    assert response["statusCode"] == 500
    body = response_body(response)
    assert body["refused"] == "AccessDenied"
    assert body["message"].startswith("S3 refused to list the bucket (AccessDenied)")
    assert body["message"].endswith("the rest was not reached")


# The 202 continuation --------------------------------------------------------------------------


@pytest.fixture
def scheduled(purge_env) -> list[dict]:
    """Stubs Lambda's Invoke on the handler's client: the events the handler schedules."""
    client = purge_client("lambda")
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


@pytest.fixture
def api_out_of_time(monkeypatch):
    """An API request that has time to check the bucket and none to purge it."""
    # 5 s for what comes before the bucket check (a loaded machine took 1.4 s), less than the
    # reserve kept for scheduling the next hop, so the purge itself gets no time.
    assert REQUEST_SECONDS + 5 < handler.RESERVE_SECONDS
    monkeypatch.setattr(handler, "API_DEADLINE_SECONDS", REQUEST_SECONDS + 5)


def short_hop() -> object:
    """A background hop with no time to purge: it can only schedule the next one."""
    return lambda_context("purge-bucket", timeout_seconds=handler.RESERVE_SECONDS + 1)


def stored_key(ssm, request_id="req-1"):
    return ssm.get_parameter(Name=f"{KEYS_PATH}/{request_id}", WithDecryption=True)["Parameter"]["Value"]


def test_work_that_does_not_fit_gets_202_and_the_continuation_finishes_it(
    purge_env, ssm, scheduled, api_out_of_time, capsys
):
    put_versions(BUCKET, [f"k{i}" for i in range(40)], versions=2)

    response = call(request(), request_id="req-202")

    assert response["statusCode"] == 202
    assert "continues in the background" in response_body(response)["message"]
    (event,) = scheduled
    assert PASSWORD not in json.dumps(event)
    assert event[continuation.EVENT_KEY]["bucket_name"] == BUCKET
    assert stored_key(ssm, "req-202"), "the hop's key is stored while the purge runs"
    assert bucket_contents(purge_env, BUCKET)["versions"] == 80

    finished = handler.lambda_handler(event, lambda_context("purge-bucket"))

    assert finished["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY
    done = log_lines(capsys)[-1]
    assert done["message"] == "purge complete"
    assert done["request_id"] == "req-202"
    assert done["deleted"] == {"versions": 80, "delete_markers": 0, "multipart_uploads": 0}
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        stored_key(ssm, "req-202")


def test_a_replayed_continuation_is_useless_once_the_purge_ended(
    purge_env, scheduled, api_out_of_time, capsys
):
    put_versions(BUCKET, ["a.csv"])
    call(request())
    (event,) = scheduled
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 200
    put_versions(BUCKET, ["written-after-the-purge.csv"])

    replayed = handler.lambda_handler(event, lambda_context("p"))

    assert replayed["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    assert log_lines(capsys)[-1]["reason"] == "no purge is running under this continuation's request id"


def test_a_hop_that_runs_out_of_time_schedules_the_next_and_its_own_event_stops_working(
    purge_env, scheduled, api_out_of_time
):
    put_versions(BUCKET, ["a.csv"])
    call(request())
    response = handler.lambda_handler(scheduled[0], short_hop())
    assert response["statusCode"] == 202
    assert scheduled[1][continuation.EVENT_KEY]["hop"] == 2
    # The first hop's event is stale now: its key was replaced by the second hop's.
    assert handler.lambda_handler(scheduled[0], lambda_context("p"))["statusCode"] == 401
    assert handler.lambda_handler(scheduled[1], lambda_context("p"))["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY


def test_the_continuation_does_not_depend_on_the_password(
    purge_env, ssm, scheduled, api_out_of_time, monkeypatch
):
    put_versions(BUCKET, ["a.csv"])
    call(request())
    ssm.put_parameter(Name=PARAMETER, Value="a different password now", Type="SecureString", Overwrite=True)
    parameters.secure_parameter.cache_clear()
    (event,) = scheduled
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 200


def test_a_failed_continuation_schedule_gets_500_and_leaves_no_key(purge_env, ssm, api_out_of_time):
    put_versions(BUCKET, ["a.csv"])
    stubber = Stubber(purge_client("lambda"))
    stubber.add_client_error("invoke", "AccessDeniedException", http_status_code=403)
    stubber.activate()
    response = call(request(), request_id="req-x")
    assert response["statusCode"] == 500
    assert "could not continue" in response_body(response)["message"]
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        stored_key(ssm, "req-x")


def test_refused_entries_do_not_stop_the_background_continuation():
    result = PurgeResult(
        deleted=PurgeCounts(versions=4000),
        failures=[Failure("held.csv", "AccessDenied", version_id="v1")],
        out_of_time=True,
    )
    job = Continuation(BUCKET, "", "req-1", 0, int(time.time()), PurgeCounts())
    sent = []
    settings = handler.Settings("p", frozenset({BUCKET}), KEYS_PATH, "")
    original = handler._schedule
    try:
        handler._schedule = lambda _context, _keys, next_job: sent.append(next_job) or True
        answer = handler._after_purge(job, result, None, settings)
    finally:
        handler._schedule = original
    assert answer.status == 202
    assert "1 refused so far, tried again later" in answer.message
    assert answer.fields["not_deleted"]["sample_keys"] == ["held.csv"]
    assert sent[0].deleted_so_far == PurgeCounts(versions=4000)


def signed(ssm, **changes) -> dict:
    """A continuation of purge "req-1" with its key stored, then ``changes`` made to its claims."""
    key = SessionKeys(ssm, KEYS_PATH).new("req-1")
    job = Continuation(BUCKET, "", "req-1", 1, int(time.time()), PurgeCounts())
    event = job.to_event(key)
    event[continuation.EVENT_KEY].update(changes)
    return event


@pytest.mark.parametrize(
    "changes",
    [
        {"bucket_name": OTHER_ALLOWED},
        {"prefix": "sale/"},
        {"hop": 2},
        {"issued_at": 0},
        {"deleted_so_far": {"versions": 1, "delete_markers": 0, "multipart_uploads": 0}},
        {"request_id": "req-2"},
        {"signature": "0" * 64},
        {"signature": "not hex"},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_tampered_continuations_delete_nothing(purge_env, ssm, changes, capsys):
    put_versions(BUCKET, ["a.csv"])
    response = handler.lambda_handler(signed(ssm, **changes), lambda_context("purge-bucket"))
    assert response["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    assert log_lines(capsys)[-1]["message"] == "purge continuation rejected"


def test_a_continuation_signed_with_another_key_deletes_nothing(purge_env, ssm):
    put_versions(BUCKET, ["a.csv"])
    SessionKeys(ssm, KEYS_PATH).new("req-1")
    forged = Continuation(BUCKET, "", "req-1", 1, int(time.time()), PurgeCounts()).to_event(b"k" * 32)
    assert handler.lambda_handler(forged, lambda_context("p"))["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


@pytest.mark.parametrize(
    "event",
    [
        {continuation.EVENT_KEY: "junk"},
        {continuation.EVENT_KEY: {}, "extra": 1},
        {continuation.EVENT_KEY: {}},
    ],
)
def test_malformed_continuations_delete_nothing(purge_env, event):
    put_versions(BUCKET, ["a.csv"])
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


def test_a_request_id_that_cannot_name_a_key_is_rejected(purge_env, ssm):
    job = Continuation(BUCKET, "", "../../partner-data/purge-password", 1, int(time.time()), PurgeCounts())
    assert handler.lambda_handler(job.to_event(b"k" * 32), lambda_context("p"))["statusCode"] == 401


def test_continuations_are_refused_when_no_key_path_is_configured(purge_env, ssm, monkeypatch):
    event = signed(ssm)
    monkeypatch.delenv("CONTINUATION_KEYS_PATH")
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 401


def test_an_unreadable_key_store_raises_so_lambda_retries(purge_env, ssm, capsys):
    event = signed(ssm)
    fail_requests(
        purge_client("ssm"), "ssm.GetParameter", status=400, body=b'{"__type":"AccessDeniedException"}'
    )
    with pytest.raises(continuation.SessionError):
        handler.lambda_handler(event, lambda_context("p"))
    assert log_lines(capsys)[-1]["message"] == "purge continuation could not be checked"


def test_expired_continuation_is_rejected(purge_env, ssm):
    event = signed(ssm, issued_at=int(time.time()) - continuation.MAX_AGE_SECONDS - 5)
    key = base64.b64decode(stored_key(ssm))
    claims = {k: v for k, v in event[continuation.EVENT_KEY].items() if k != "signature"}
    event[continuation.EVENT_KEY]["signature"] = continuation.sign(continuation._canonical(claims), key)
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 401


def test_continuation_past_the_hop_limit_is_rejected(purge_env, ssm):
    key = SessionKeys(ssm, KEYS_PATH).new("req-1")
    job = Continuation(BUCKET, "", "req-1", continuation.MAX_HOPS + 1, int(time.time()), PurgeCounts())
    assert handler.lambda_handler(job.to_event(key), lambda_context("p"))["statusCode"] == 401


def test_continuation_for_a_bucket_removed_from_the_allowlist_is_refused(purge_env, ssm, monkeypatch):
    put_versions(BUCKET, ["a.csv"])
    event = signed(ssm)
    monkeypatch.setenv("ALLOWED_BUCKETS", OTHER_ALLOWED)
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 403
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


def test_continuation_sent_through_the_api_is_just_a_bad_request(purge_env, ssm):
    response = call(None, raw=json.dumps(signed(ssm)).encode())
    assert response["statusCode"] == 400


def test_continuation_that_meets_a_refusal_logs_the_failure_and_ends_the_purge(purge_env, ssm, capsys):
    event = signed(ssm)
    fail_requests(purge_client("s3"), "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied"))
    response = handler.lambda_handler(event, lambda_context("p"))
    assert response["statusCode"] == 500
    assert log_lines(capsys)[-1]["message"] == "purge failed"
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        stored_key(ssm)


def test_last_allowed_hop_gives_up_instead_of_chaining(purge_env, ssm, capsys):
    put_versions(BUCKET, ["a.csv"])
    key = SessionKeys(ssm, KEYS_PATH).new("req-1")
    job = Continuation(BUCKET, "", "req-1", continuation.MAX_HOPS, int(time.time()), PurgeCounts())
    response = handler.lambda_handler(job.to_event(key), short_hop())
    assert response["statusCode"] == 500
    assert log_lines(capsys)[-1]["outcome"] == "too_many_hops"


def test_continuation_that_cannot_chain_logs_it(purge_env, ssm, capsys):
    put_versions(BUCKET, ["a.csv"])
    event = signed(ssm)
    stubber = Stubber(purge_client("lambda"))
    stubber.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
    stubber.activate()
    response = handler.lambda_handler(event, short_hop())
    assert response["statusCode"] == 500
    assert log_lines(capsys)[-1]["outcome"] == "continuation_failed"


# The password check: near misses, and what the logs never show ---------------------------------


@pytest.mark.parametrize(
    "guess",
    [
        "corr",  # the first four characters
        "corrXXXXXXXXXXXXXXXXXXXXXXXX",  # the first four, then anything, at the same length
        "correct horse",  # a prefix
        "horse battery",  # a substring
        PASSWORD + "x",  # the password and more
        PASSWORD.upper(),
        PASSWORD.title(),
        f" {PASSWORD} ",
        PASSWORD.replace(" ", ""),
        PASSWORD[:-1],
    ],
)
def test_near_misses_of_the_password_are_refused(purge_env, guess):
    put_versions(BUCKET, ["a.csv"])
    assert call(request(password=guess))["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


def test_a_wrong_password_never_reaches_the_logs(purge_env, capsys):
    guess = "zebra tango unrelated guess"
    assert call(request(password=guess))["statusCode"] == 401
    output = capsys.readouterr().out
    assert "zebra" not in output
    assert "unrelated" not in output


def test_a_lone_surrogate_in_the_password_is_just_wrong(purge_env):
    put_versions(BUCKET, ["a.csv"])
    response = handler.lambda_handler(
        {"bucket_name": BUCKET, "password": "\udfff" + PASSWORD}, lambda_context("p")
    )
    assert response["statusCode"] == 401
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1


def test_a_stored_password_with_a_lone_surrogate_still_matches_itself(purge_env, ssm):
    parameters.secure_parameter.cache_clear()
    ssm.put_parameter(
        Name=PARAMETER, Value="surrogate \ud800 in the password", Type="SecureString", Overwrite=True
    )
    body = json.dumps(request(password="surrogate \ud800 in the password")).encode()
    assert call(None, raw=body)["statusCode"] == 200


# Other event shapes ---------------------------------------------------------------------------


def test_an_http_api_or_function_url_event_is_served(purge_env):
    put_versions(BUCKET, ["a.csv"])
    event = http_event(body=json.dumps(request()).encode(), request_id="v2-req", source_ip="198.51.100.1")
    response = handler.lambda_handler(event, lambda_context("p"))
    assert response["statusCode"] == 200
    assert bucket_contents(purge_env, BUCKET) == EMPTY


def test_an_http_api_get_gets_405(purge_env):
    response = handler.lambda_handler(http_event(body=None, method="GET"), lambda_context("p"))
    assert response["statusCode"] == 405


def test_a_body_starting_with_a_byte_order_mark_is_served(purge_env):
    put_versions(BUCKET, ["a.csv"])
    assert call(None, raw=b"\xef\xbb\xbf" + json.dumps(request()).encode())["statusCode"] == 200


def test_the_200_for_a_prefix_says_that_a_prefix_is_not_a_folder(purge_env):
    put_versions(BUCKET, ["sale/1.csv", "sales/2.csv", "category/1.csv"])
    response = call(request(prefix="sale"))
    assert response["statusCode"] == 200
    assert "'sale' also covers 'sales/…'" in response_body(response)["message"]
    assert [o["Key"] for o in purge_env.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["category/1.csv"]


def test_no_logger_shows_the_password_even_with_every_library_at_debug(purge_env, ssm, monkeypatch, capsys):
    tricky = 'correct "horse" /battery+= é staple 🔑'
    ssm.put_parameter(Name=PARAMETER, Value=tricky, Type="SecureString", Overwrite=True)
    parameters.secure_parameter.cache_clear()
    # Lambda's application log level (or anyone) turns every logger to DEBUG: botocore then logs
    # the SSM answer, decrypted password included.
    monkeypatch.setattr(logs, "QUIET_LIBRARIES", ())
    stream = io.StringIO()
    root_handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    previous = root.level, logging.getLogger("botocore").level
    root.addHandler(root_handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    try:
        response = call(request(password=tricky))
    finally:
        root.removeHandler(root_handler)
        root.setLevel(previous[0])
        logging.getLogger("botocore").setLevel(previous[1])
    assert response["statusCode"] == 200
    text = stream.getvalue() + capsys.readouterr().out
    assert f"Response body: {logs.WITHHELD}" in text, "botocore logged the SSM answer, withheld"
    for form in logs.encoded_forms(tricky):
        assert form not in text
