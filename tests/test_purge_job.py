"""Purge jobs for real: moto's Step Functions executes the job's state machine (its own definition
file), and each of its Lambda tasks runs the worker from the built zip in a process of its own,
as the purge function's request does (``stand_ins/purge_stack.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from purge_api_document import assert_documented
from stand_ins.api_gateway_events import http_event
from stand_ins.aws_endpoint import LocalAws
from stand_ins.purge_stack import PASSWORD, PurgeStack
from stand_ins.s3_inventory import bucket_contents
from stand_ins.s3_model import S3Model
from stand_ins.state_machine_definition import DEFINITION_FILE, definition
from support import EMPTY, JOBS_TABLE, add_delete_markers, put_versions

BUCKET = "partner-data-job-test"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def endpoint():
    with LocalAws() as aws:
        yield aws


@pytest.fixture
def aws(endpoint):
    endpoint.reset()
    return endpoint


def fill(s3, *, prefixes=("category/", "establishment/", "sale/"), per_prefix=60) -> dict[str, int]:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for prefix in prefixes:
        keys = [f"{prefix}2026-11-{i:02d}.csv" for i in range(per_prefix)]
        put_versions(BUCKET, keys, versions=2)
        add_delete_markers(BUCKET, keys[::10])
    put_versions(BUCKET, [f"beside-{i}.csv" for i in range(5)])
    for i in range(3):
        s3.create_multipart_upload(Bucket=BUCKET, Key=f"sale/uploads/{i}.csv")
    return bucket_contents(s3, BUCKET)


def fill_model(model: S3Model, prefixes: tuple[str, ...], *, per_prefix: int) -> None:
    """The bucket on the model of S3: ``per_prefix`` keys of two versions under each prefix."""
    model.create_bucket(BUCKET)
    for prefix in prefixes:
        for i in range(per_prefix):
            model.put(BUCKET, f"{prefix}{i:04d}.csv", versions=2)


def job_stack_on(model: S3Model, aws: LocalAws, dist: Path, work: Path) -> PurgeStack:
    """The purge and its job with their S3 requests sent to the model, purging nothing inline."""
    return PurgeStack(
        aws, dist / "purge_bucket.zip", work, buckets=[BUCKET], s3_endpoint=model.endpoint, inline_seconds=0
    )


@pytest.mark.slow(seconds=40)
def test_a_job_of_three_lanes_empties_the_bucket_with_exact_counts(aws, dist, tmp_path):
    s3 = aws.client("s3")
    before = fill(s3)
    with PurgeStack(aws, dist / "purge_bucket.zip", tmp_path, buckets=[BUCKET], inline_seconds=0) as stack:
        started = stack.purge(BUCKET)
        assert started.status == 202, started.body
        job_id = started.body["job_id"]
        answers = stack.wait(job_id)
        history = stack.history(job_id)
        invocations = dict(stack.service.invocations)

    assert answers[0].body["state"] == "running"
    assert_documented("/purge", 202, started.body)
    for answer in answers:
        assert_documented("/purge/status", answer.status, answer.body)
    final = answers[-1]
    assert final.status == 200
    assert final.body["state"] == "succeeded", final.body
    assert final.body["deleted"] == before
    assert final.body["message"] == f"Bucket {BUCKET!r} is now empty"
    assert final.body["started_at"] < final.body["ended_at"]
    assert bucket_contents(s3, BUCKET) == EMPTY
    # The counts only grow while the job runs, and never past what the bucket held.
    totals = [sum(a.body["deleted"].values()) for a in answers]
    assert totals == sorted(totals)
    assert totals[-1] == sum(before.values())
    # One Lambda per lane, each its own invocation, then the sweep.
    kinds = Counter(event["type"] for event in history)
    assert kinds["MapIterationStarted"] == 3
    assert kinds["ExecutionSucceeded"] == 1
    assert invocations["partner-data-purge-worker"] == 1 + 3 + 1
    assert stack.execution(job_id)["status"] == "SUCCEEDED"
    # And the bucket is free again.
    lease = aws.client("dynamodb").get_item(TableName=JOBS_TABLE, Key={"pk": {"S": f"lease#{BUCKET}"}})
    assert "Item" not in lease


@pytest.mark.slow(seconds=40)
def test_a_lane_s3_refuses_ends_the_job_failed_with_exact_counts(aws, dist, tmp_path):
    """S3 (the model, here) refuses to list one lane: the job ends failed, its record says what
    was deleted and what S3 refused, and the execution fails (which the alarm counts)."""
    refused_prefix = "establishment/"

    def refuse_one_lane(operation, query):
        if operation == "ListObjectVersions" and query.get("prefix", "").startswith(refused_prefix):
            return 403, "AccessDenied"
        return None

    with S3Model(request_error=refuse_one_lane) as model:
        fill_model(model, ("category/", refused_prefix, "sale/"), per_prefix=40)
        with job_stack_on(model, aws, dist, tmp_path) as stack:
            started = stack.purge(BUCKET)
            assert started.status == 202, started.body
            final = stack.wait(started.body["job_id"])[-1]
            execution = stack.execution(started.body["job_id"])
        left = model.inventory(BUCKET)

    assert final.body["state"] == "failed", final.body
    assert_documented("/purge/status", final.status, final.body)
    assert final.body["refused"] == "AccessDenied"
    assert "The purge job failed (LaneRefused: AccessDenied)" in final.body["message"]
    assert final.body["deleted"]["versions"] == 240 - left["versions"]
    assert left["versions"] >= 80, "the refused lane is untouched"
    assert final.body["ended_at"] is not None
    assert execution["status"] == "FAILED"
    assert execution["error"] == "PurgeJobFailed"


@pytest.mark.slow(seconds=30)
def test_a_job_whose_workers_are_killed_ends_failed_saying_its_counts_are_a_floor(aws, dist, tmp_path):
    """Lambda stops a run (its timeout, its memory, a crash) before it can count what it deleted:
    here the workers' processes are killed once a lane's first page is gone. The job ends failed,
    its counts at most what is gone and said to be a floor, and the bucket stays held while runs
    of it may still be deleting."""
    held, release = threading.Event(), threading.Event()

    def hold_the_second_page(operation, query):
        lane = query.get("prefix") == "establishment/"
        if operation == "ListObjectVersions" and lane and query.get("key-marker"):
            held.set()
            release.wait(10)

    with S3Model(request_error=hold_the_second_page) as model:
        fill_model(model, ("category/", "establishment/", "sale/"), per_prefix=700)
        before = sum(model.inventory(BUCKET).values())
        with job_stack_on(model, aws, dist, tmp_path) as stack:
            started = stack.purge(BUCKET)
            assert started.status == 202, started.body
            assert held.wait(60), "the establishment/ lane never listed its second page"
            time.sleep(1.0)  # Its first page's deletes are answered.
            assert stack.service is not None
            for pid in stack.service.process_ids_of("partner-data-purge-worker"):
                os.kill(pid, signal.SIGKILL)
            release.set()
            final = stack.wait(started.body["job_id"])[-1]
            execution = stack.execution(started.body["job_id"])
        gone = before - sum(model.inventory(BUCKET).values())

    assert final.body["state"] == "failed", final.body
    assert_documented("/purge/status", final.status, final.body)
    assert final.body["counts_exact"] is False
    assert "Runtime.ExitError" in final.body["message"]
    assert "at least" in final.body["message"]
    assert sum(final.body["deleted"].values()) < gone, "the killed runs' deletions are not counted"
    assert execution["status"] == "FAILED"
    lease = aws.client("dynamodb").get_item(TableName=JOBS_TABLE, Key={"pk": {"S": f"lease#{BUCKET}"}})
    assert int(lease["Item"]["expires_at"]["N"]) > time.time() + 900, "held while killed lanes' runs may run"


@pytest.mark.slow(seconds=30)
def test_an_http_api_purge_whose_request_id_ends_in_equals_runs_its_job_to_the_end(aws, dist, tmp_path):
    """Payload v2 (HTTP API, function URL), whose request ids end in "=": the 202, the job on
    Step Functions and the status requests, all through v2 events."""
    s3 = aws.client("s3")
    before = fill(s3, per_prefix=20)
    with PurgeStack(aws, dist / "purge_bucket.zip", tmp_path, buckets=[BUCKET], inline_seconds=0) as stack:
        body = json.dumps({"bucket_name": BUCKET, "password": PASSWORD}).encode()
        started = stack.invoke(http_event(body=body, path="/v1/purge", request_id="Jq2Fvh0yIAMEbXg="))
        assert started.status == 202, started.body
        job_id = started.body["job_id"]
        assert started.body["status_request"]["path"] == "/v1/purge/status"
        status_body = json.dumps({"job_id": job_id, "password": PASSWORD}).encode()
        states = []
        for attempt in range(600):
            answer = stack.invoke(
                http_event(body=status_body, path="/v1/purge/status", request_id=f"Jq2Fvh0y{attempt:04d}=")
            )
            assert answer.status == 200, answer.body
            states.append(answer.body["state"])
            if answer.body["state"] != "running":
                break
            time.sleep(0.25)

    assert states[0] == "running"
    assert states[-1] == "succeeded", answer.body
    assert answer.body["deleted"] == before
    assert bucket_contents(s3, BUCKET) == EMPTY


def test_the_definition_is_valid_amazon_states_language(tmp_path):
    """asl-validator (npm) checks the definition against the ASL schema."""
    validator = asl_validator()
    rendered = tmp_path / "state_machine.json"
    rendered.write_text(
        json.dumps(definition("arn:aws:lambda:us-east-1:123456789012:function:partner-data-purge-worker"))
    )
    result = subprocess.run(
        [str(validator), "--json-path", str(rendered)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken = json.loads(rendered.read_text())
    del broken["States"]["Sweep"]["Next"]
    rendered.write_text(json.dumps(broken))
    result = subprocess.run(
        [str(validator), "--json-path", str(rendered)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0, "the validator must refuse a task with neither Next nor End"


def test_the_definition_file_is_json_whose_only_placeholder_is_the_workers_arn():
    text = DEFINITION_FILE.read_text()
    json.loads(text)
    assert set(re.findall(r"\$\{[^}]*\}", text)) == {"${worker_function_arn}"}


def asl_validator() -> Path:
    installed = ROOT / "requirements" / "asl-validator" / "node_modules" / ".bin" / "asl-validator"
    if not installed.exists():
        if shutil.which("npm") is None:
            pytest.fail("npm is needed to install asl-validator (make test installs it)")
        pytest.fail(
            "asl-validator is not installed: `make test` installs it (npm ci in requirements/asl-validator)"
        )
    return installed
