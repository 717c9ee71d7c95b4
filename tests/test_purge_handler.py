"""The purge function through its handler, on in-process moto: the request, the password, the
bucket, the inline purge and its hand-over to a job, the job's status and the bucket's lease.

In-process moto records the job's execution without running it; tests/test_purge_job.py runs it.
"""

import io
import json
import logging
import time

import pytest

from aws_faults import fail_requests, s3_error_xml
from lambda_shared import aws, logs, parameters
from purge_api_document import assert_documented
from purge_bucket import clients, handler
from purge_bucket.api import budget, inline
from purge_bucket.engine.deletion import REQUEST_SECONDS, PurgeCounts, PurgeResult
from purge_bucket.job import lifecycle
from purge_bucket.job.table import INLINE_LEASE_SECONDS, JOB_LEASE_SECONDS
from stand_ins.api_gateway_events import http_event, proxy_event
from stand_ins.s3_inventory import bucket_contents
from support import EMPTY, lambda_context, log_records, put_versions, response_body

BUCKET = "partner-data-test"
OTHER_ALLOWED = "partner-data-other"
PASSWORD = "correct horse battery staple"
PARAMETER = "/partner-data/purge-password"


def purge_client(service):
    """The client the handler uses for ``service``."""
    if service == "s3":
        return clients.purge_s3_client()
    if service == "ssm":
        return aws.client("ssm", **parameters.SSM_CLIENT)
    return aws.client(service, **clients.CONTROL)


@pytest.fixture
def purge_env(s3, ssm, purge_jobs, monkeypatch):
    ssm.put_parameter(Name=PARAMETER, Value=PASSWORD, Type="SecureString")
    monkeypatch.setenv("PASSWORD_PARAMETER", PARAMETER)
    monkeypatch.setenv("ALLOWED_BUCKETS", f"{BUCKET}, {OTHER_ALLOWED}")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def call(payload, *, raw: bytes | None = None, context=None, **event_kwargs):
    """The handler's answer to a REST proxy event; checked against the OpenAPI document, which
    describes every answer to a POST (API Gateway answers other methods itself)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    context = context or lambda_context("purge-bucket")
    event = proxy_event(body=body, **event_kwargs)
    response = handler.lambda_handler(event, context)
    if event["httpMethod"] == "POST":
        assert_documented(event["resource"], response["statusCode"], json.loads(response["body"]))
    return response


def request(password=PASSWORD, bucket=BUCKET, **extra):
    return {"bucket_name": bucket, "password": password, **extra}


def log_lines(capsys) -> list[dict]:
    return log_records(capsys.readouterr().out)


def test_right_password_empties_the_bucket_and_reports_counts(purge_env, purge_jobs, capsys):
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
    assert line["job_id"] == body["job_id"]
    assert isinstance(line["duration_ms"], int)
    # Its record ended with it, and the bucket is free again.
    record = purge_jobs.table().get(body["job_id"])
    assert (record.state, record.mode, record.deleted.as_dict()) == ("succeeded", "inline", body["deleted"])
    assert record.ended_at >= record.started_at
    assert purge_jobs.lease(BUCKET) is None


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
    ("through_http", "answer_within"),
    [(True, budget.API_ANSWER_SECONDS), (False, budget.DIRECT_ANSWER_SECONDS)],
    ids=["API Gateway: its 29 s", "direct: below the SDKs' 60 s read timeout"],
)
def test_the_purge_runs_for_what_its_caller_waits(purge_env, monkeypatch, through_http, answer_within):
    deadlines = []
    monkeypatch.setattr(
        inline.BucketPurger, "run", lambda _self, deadline: deadlines.append(deadline) or PurgeResult()
    )
    started = time.monotonic()
    event = proxy_event(body=json.dumps(request()).encode()) if through_http else request()
    assert handler.lambda_handler(event, lambda_context("purge-bucket"))["statusCode"] == 200
    (deadline,) = deadlines
    assert deadline - started == pytest.approx(answer_within - budget.HAND_OVER_SECONDS, abs=0.5)
    # Inside the callers' own limits, with room for the answer's way back.
    assert budget.API_ANSWER_SECONDS <= 27
    assert budget.DIRECT_ANSWER_SECONDS < 60


def test_a_function_timeout_shorter_than_the_budget_is_the_budget(purge_env, monkeypatch):
    deadlines = []
    monkeypatch.setattr(
        inline.BucketPurger, "run", lambda _self, deadline: deadlines.append(deadline) or PurgeResult()
    )
    started = time.monotonic()
    handler.lambda_handler(request(), lambda_context("purge-bucket", timeout_seconds=40))
    (deadline,) = deadlines
    assert deadline - started == pytest.approx(39 - budget.HAND_OVER_SECONDS, abs=0.5)


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
    assert "job_id" not in line


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
    assert response_body(response)["message"] == "The password cannot be checked right now; try again later"


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
        handler.lambda_handler({"job_id": lifecycle.new_job_id(), "password": PASSWORD}, lambda_context("p")),
    ]
    output = capsys.readouterr().out
    assert output.count("purge request") == 4
    assert output.count("status request") == 1
    for text in [output, *(r["body"] for r in responses)]:
        assert PASSWORD not in text
        assert "battery" not in text


def test_head_bucket_refused_gets_500_without_a_trace(purge_env):
    fail_requests(purge_client("s3"), "s3.HeadBucket", status=403, body=b"")
    response = call(request())
    assert response["statusCode"] == 500
    assert response_body(response)["message"] == "S3 refused access to the bucket (403)"
    assert "Traceback" not in response["body"]


def test_object_lock_gets_500_with_what_was_and_was_not_deleted(s3, ssm, purge_jobs, monkeypatch, capsys):
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
    assert purge_jobs.table().get(body["job_id"]).not_deleted == body["not_deleted"]
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


# Purges that do not fit: a job, its status, and one purge per bucket ----------------------------


@pytest.fixture
def out_of_time(monkeypatch):
    """A request with time to check the bucket and claim it, and none to purge it."""
    monkeypatch.setenv("PURGE_INLINE_SECONDS", "0")


def status(job_id, password=PASSWORD, **event_kwargs):
    return call({"job_id": job_id, "password": password}, resource="/purge/status", **event_kwargs)


def test_work_that_does_not_fit_gets_202_with_a_job_and_how_to_follow_it(
    purge_env, purge_jobs, out_of_time, capsys
):
    put_versions(BUCKET, [f"k{i}" for i in range(40)], versions=2)

    response = call(request(), request_id="req-202")

    assert response["statusCode"] == 202
    body = response_body(response)
    job_id = body["job_id"]
    assert body["status_request"] == {
        "method": "POST",
        "path": "/v1/purge/status",
        "fields": ["job_id", "password"],
    }
    assert f'POST {{"job_id": "{job_id}", "password": …}} to /v1/purge/status' in body["message"]
    assert PASSWORD not in response["body"]
    # The job: an execution named after it, whose input names the job and nothing else.
    (execution,) = purge_jobs.executions()
    assert execution["name"] == job_id
    assert json.loads(execution["input"]) == {"job_id": job_id}
    record = purge_jobs.table().get(job_id)
    assert (record.state, record.mode, record.bucket, record.prefix) == ("running", "job", BUCKET, "")
    lease = purge_jobs.lease(BUCKET)
    assert lease["job_id"] == job_id
    assert int(lease["expires_at"]) == pytest.approx(time.time() + JOB_LEASE_SECONDS, abs=5)
    assert bucket_contents(purge_env, BUCKET)["versions"] == 80, "nothing deleted inline in no time"
    (line,) = log_lines(capsys)
    assert (line["outcome"], line["status"], line["job_id"]) == ("job_started", 202, job_id)


@pytest.mark.slow(seconds=15)
def test_what_was_deleted_inline_is_the_jobs_first_count(purge_env, purge_jobs, monkeypatch):
    """Requests may start for 10 s (time to list on a loaded machine), and each delete is answered
    only once those 10 s are over: each of the 16 workers sends one (2,800 keys at most), the rest
    is the job's, and the job's record starts from exactly what went."""
    put_versions(BUCKET, [f"k{i:04d}" for i in range(4000)])
    monkeypatch.setenv("PURGE_INLINE_SECONDS", str(REQUEST_SECONDS + 10))
    window_over = time.monotonic() + 10.5
    purge_client("s3").meta.events.register(
        "after-call.s3.DeleteObjects", lambda **_: time.sleep(max(0.0, window_over - time.monotonic()))
    )

    response = call(request())

    assert response["statusCode"] == 202, response_body(response)
    body = response_body(response)
    gone = 4000 - bucket_contents(purge_env, BUCKET)["versions"]
    assert 0 < gone < 4000
    assert body["deleted"] == {"versions": gone, "delete_markers": 0, "multipart_uploads": 0}
    assert f"{gone} versions, 0 delete markers, 0 multipart uploads deleted so far" in body["message"]
    assert purge_jobs.table().get(body["job_id"]).deleted == PurgeCounts(versions=gone)
    assert response_body(status(body["job_id"]))["deleted"] == body["deleted"]


def test_a_job_started_directly_says_to_invoke_the_function_for_its_status(purge_env, out_of_time):
    put_versions(BUCKET, ["a.csv"])
    response = handler.lambda_handler(request(), lambda_context("p"))
    assert response["statusCode"] == 202
    body = response_body(response)
    assert body["status_request"]["path"] is None
    assert f'invoke the function with {{"job_id": "{body["job_id"]}", "password": …}}' in body["message"]


def test_a_second_purge_of_a_bucket_gets_409_with_the_running_jobs_id(purge_env, out_of_time, capsys):
    put_versions(BUCKET, ["a.csv", "b.csv"])
    first = response_body(call(request()))

    second = call(request(prefix="other/"))

    assert second["statusCode"] == 409
    body = response_body(second)
    assert body["job_id"] == first["job_id"]
    assert body["bucket_name"] == BUCKET
    assert 0 < body["retry_after_seconds"] <= JOB_LEASE_SECONDS
    assert first["job_id"] in body["message"]
    assert bucket_contents(purge_env, BUCKET)["versions"] == 2
    assert log_lines(capsys)[-1]["outcome"] == "busy"


def test_two_purges_of_a_bucket_at_once_give_one_409(purge_env, purge_jobs, monkeypatch):
    """A client retrying while its purge runs: the retry claims nothing, so no deletion is
    counted twice (two purges each claimed every deletion: 8,000 of 4,000)."""
    put_versions(BUCKET, [f"k{i}" for i in range(200)], versions=2)
    answers = []
    run = inline.BucketPurger.run

    def run_with_a_retry_in_the_middle(purger, deadline):
        answers.append(call(request()))  # Arrives while this purge holds the bucket.
        return run(purger, deadline)

    monkeypatch.setattr(inline.BucketPurger, "run", run_with_a_retry_in_the_middle)
    first = call(request())
    (retry,) = answers
    assert retry["statusCode"] == 409
    assert first["statusCode"] == 200
    assert response_body(first)["deleted"]["versions"] == 400
    assert response_body(retry)["job_id"] == response_body(first)["job_id"]
    monkeypatch.setattr(inline.BucketPurger, "run", run)
    put_versions(BUCKET, ["later.csv"])
    assert call(request())["statusCode"] == 200, "the bucket is free once the purge ended"


def test_a_request_id_chosen_by_the_caller_cannot_take_another_purge(purge_env, out_of_time):
    put_versions(BUCKET, ["a.csv"])
    event = {**request(), "requestContext": {"requestId": "the-same"}}
    first = handler.lambda_handler(
        proxy_event(body=json.dumps(request()).encode(), request_id="the-same"), lambda_context("p")
    )
    second = handler.lambda_handler(
        proxy_event(body=json.dumps(request()).encode(), request_id="the-same"), lambda_context("p")
    )
    assert (first["statusCode"], second["statusCode"]) == (202, 409)
    assert response_body(second)["job_id"] == response_body(first)["job_id"] != "the-same"
    # A direct event dressed as an HTTP one, without its method, is refused before the password.
    assert handler.lambda_handler(event, lambda_context("p"))["statusCode"] == 405


def test_a_crashed_purges_lease_expires(purge_env, purge_jobs):
    put_versions(BUCKET, ["a.csv"])
    crashed = lifecycle.new_job_id()
    purge_jobs.table(clock=lambda: time.time() - INLINE_LEASE_SECONDS - 1).claim(
        crashed, BUCKET, "", lease_seconds=INLINE_LEASE_SECONDS, answer_by=time.time() - 60
    )
    response = call(request())
    assert response["statusCode"] == 200
    assert response_body(response)["job_id"] != crashed
    # And the crashed purge's record reads as failed, not running, once its answer was long due.
    body = response_body(status(crashed))
    assert body["state"] == "failed"
    assert "stopped before it could record how it ended" in body["message"]


@pytest.mark.parametrize("request_id", ["abc123=", "Zm9vYmFy+/=="], ids=["base64-id", "padded"])
def test_http_api_request_ids_ending_in_equals_start_jobs(purge_env, purge_jobs, out_of_time, request_id):
    put_versions(BUCKET, ["a.csv"])
    event = http_event(body=json.dumps(request()).encode(), request_id=request_id, path="/purge")
    response = handler.lambda_handler(event, lambda_context("p"))
    assert response["statusCode"] == 202
    body = response_body(response)
    assert body["status_request"]["path"] == "/purge/status"
    (execution,) = purge_jobs.executions()
    assert execution["name"] == body["job_id"]
    status_event = http_event(
        body=json.dumps({"job_id": body["job_id"], "password": PASSWORD}).encode(),
        path="/purge/status",
        request_id=request_id,
    )
    assert response_body(handler.lambda_handler(status_event, lambda_context("p")))["state"] == "running"


def test_the_status_of_a_running_job_says_so_with_its_counts(purge_env, purge_jobs, out_of_time, capsys):
    put_versions(BUCKET, ["a.csv"])
    job_id = response_body(call(request(prefix="a")))["job_id"]
    purge_jobs.table().add_progress(job_id, PurgeCounts(versions=7, delete_markers=2))

    response = status(job_id)

    assert response["statusCode"] == 200
    body = response_body(response)
    assert {k: v for k, v in body.items() if k not in {"message", "started_at"}} == {
        "job_id": job_id,
        "state": "running",
        "bucket_name": BUCKET,
        "prefix": "a",
        "deleted": {"versions": 7, "delete_markers": 2, "multipart_uploads": 0},
        "ended_at": None,
    }
    assert body["started_at"].endswith("Z")
    assert "7 versions, 2 delete markers, 0 multipart uploads deleted so far" in body["message"]
    line = log_lines(capsys)[-1]
    assert (line["message"], line["outcome"], line["job_id"], line["state"]) == (
        "status request",
        "status",
        job_id,
        "running",
    )


def test_the_status_of_an_ended_job_keeps_how_it_ended(purge_env, purge_jobs):
    put_versions(BUCKET, ["a.csv"])
    job_id = response_body(call(request()))["job_id"]  # Fits: ends inline.
    body = response_body(status(job_id))
    assert body["state"] == "succeeded"
    assert body["message"] == f"Bucket {BUCKET!r} is now empty"
    assert body["deleted"]["versions"] == 1
    assert body["started_at"] <= body["ended_at"]


def test_a_job_whose_execution_ended_without_recording_it_reads_as_failed(purge_env, purge_jobs, out_of_time):
    put_versions(BUCKET, ["a.csv"])
    job_id = response_body(call(request()))["job_id"]
    sfn = aws.client("stepfunctions")
    sfn.stop_execution(
        executionArn=lifecycle.execution_arn(purge_jobs.state_machine_arn, job_id), error="Stopped"
    )
    body = response_body(status(job_id))
    assert body["state"] == "failed"
    assert "ended ABORTED before it could record how" in body["message"]
    assert body["ended_at"] is not None


def test_status_requests_get_the_same_401_and_tell_nothing_without_the_password(purge_env, out_of_time):
    put_versions(BUCKET, ["a.csv"])
    job_id = response_body(call(request()))["job_id"]
    for asked in (job_id, lifecycle.new_job_id()):
        response = status(asked, password="wrong horse")
        assert (response["statusCode"], response["body"]) == (401, json.dumps({"message": "Unauthorized"}))


def test_an_unknown_job_gets_404_after_the_password(purge_env):
    unknown = lifecycle.new_job_id()
    response = status(unknown)
    assert response["statusCode"] == 404
    assert response_body(response)["job_id"] == unknown
    assert "kept 30 days" in response_body(response)["message"]


def test_a_malformed_job_id_gets_400_before_the_password_is_read(purge_env, monkeypatch):
    monkeypatch.setenv("PASSWORD_PARAMETER", "/does/not/matter")
    response = status("../../purge-password")
    assert response["statusCode"] == 400
    assert "not a job id" in response_body(response)["message"]


def test_a_job_that_cannot_start_ends_failed_and_lets_go_of_the_bucket(
    purge_env, purge_jobs, out_of_time, monkeypatch
):
    monkeypatch.setenv("JOB_STATE_MACHINE_ARN", purge_jobs.state_machine_arn + "-gone")
    put_versions(BUCKET, ["a.csv"])
    response = call(request())
    assert response["statusCode"] == 500
    body = response_body(response)
    assert "could not continue as a job" in body["message"]
    record = purge_jobs.table().get(body["job_id"])
    assert record.state == "failed"
    assert "StateMachineDoesNotExist" in record.error
    assert purge_jobs.lease(BUCKET) is None


def test_without_a_state_machine_a_purge_that_does_not_fit_fails_saying_so(
    purge_env, purge_jobs, out_of_time, monkeypatch
):
    monkeypatch.delenv("JOB_STATE_MACHINE_ARN")
    put_versions(BUCKET, ["a.csv"])
    body = response_body(call(request()))
    assert "no state machine is configured" in purge_jobs.table().get(body["job_id"]).error
    assert purge_jobs.lease(BUCKET) is None


def test_an_unreachable_job_table_gets_503_and_deletes_nothing(purge_env, capsys):
    fail_requests(
        purge_client("dynamodb"),
        "dynamodb.TransactWriteItems",
        status=400,
        body=b'{"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}',
        headers={"Content-Type": "application/x-amz-json-1.0"},
    )
    put_versions(BUCKET, ["a.csv"])
    response = call(request())
    assert response["statusCode"] == 503
    assert (
        response_body(response)["message"]
        == "The purge cannot start right now; nothing was deleted, try again"
    )
    assert bucket_contents(purge_env, BUCKET)["versions"] == 1
    assert any("ProvisionedThroughputExceeded" in line.get("error", "") for line in log_lines(capsys))


def test_a_listing_botocore_cannot_parse_ends_the_purge_failed_with_its_counts(purge_env, purge_jobs, capsys):
    # Ends as a listing does (so botocore's check of 200 answers lets it through), and is no XML:
    # a character reference that XML forbids, as S3 writes a control character in a key.
    unparseable = b'<?xml version="1.0"?><ListVersionsResult><Key>&#x1b;</Key></ListVersionsResult>'
    fail_requests(purge_client("s3"), "s3.ListObjectVersions", status=200, body=unparseable, skip=1)
    put_versions(BUCKET, ["a.csv"])
    response = call(request())
    assert response["statusCode"] == 500
    body = response_body(response)
    assert body["refused"] == "UnparseableResponse"
    assert purge_jobs.table().get(body["job_id"]).state == "failed"
    assert purge_jobs.lease(BUCKET) is None
    line = log_lines(capsys)[-1]
    assert (line["message"], line["level"], line["refused"]) == (
        "purge request",
        "ERROR",
        "UnparseableResponse",
    )


def test_an_unexpected_error_ends_the_purge_failed_and_lets_go_of_the_bucket(
    purge_env, purge_jobs, monkeypatch, capsys
):
    def broken(_purger, _deadline):
        raise KeyError("an engine bug")

    monkeypatch.setattr(inline.BucketPurger, "run", broken)
    response = call(request())
    assert response["statusCode"] == 500
    body = response_body(response)
    assert body["message"] == (
        "The purge stopped on an unexpected error (KeyError) before it could count what it had deleted;"
        " the rest is still there"
    )
    assert body["counts_exact"] is False
    assert purge_jobs.table().get(body["job_id"]).state == "failed"
    job_status = response_body(status(body["job_id"]))
    assert (job_status["state"], job_status["counts_exact"]) == ("failed", False)
    assert purge_jobs.lease(BUCKET) is None
    assert "Traceback" not in response["body"]


@pytest.mark.slow(seconds=30)
def test_the_api_answers_in_time_when_every_aws_call_takes_its_worst(purge_env, purge_jobs, monkeypatch):
    """Each call answers just within its client's bounds (connect plus read timeout): the answer
    still leaves before API Gateway's 29 s (it took 30.7 s with the continuation chain)."""
    put_versions(BUCKET, [f"k{i}" for i in range(3000)])
    worst = {
        ("ssm", "GetParameter"): parameters.SSM_CLIENT["connect_timeout"]
        + parameters.SSM_CLIENT["read_timeout"],
        ("s3", "HeadBucket"): REQUEST_SECONDS,
        ("s3", "ListObjectVersions"): REQUEST_SECONDS,
        ("dynamodb", "TransactWriteItems"): clients.CONTROL_CALL_SECONDS,
        ("stepfunctions", "StartExecution"): clients.CONTROL_CALL_SECONDS,
    }
    for (service, operation), seconds in worst.items():
        purge_client(service).meta.events.register_first(
            f"before-send.{service}.{operation}", lambda seconds=seconds, **_: time.sleep(seconds - 0.05)
        )
    started = time.monotonic()
    response = call(request())
    elapsed = time.monotonic() - started
    assert elapsed < budget.API_ANSWER_SECONDS
    assert response["statusCode"] == 202, response_body(response)
    assert purge_jobs.executions()[0]["name"] == response_body(response)["job_id"]


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
