"""The purge job's worker through its handler, on in-process moto: each task the state machine
sends, what a task from anyone else can (not) do, and how a job ends.

tests/test_purge_job.py runs the same worker from the built zip under moto's Step Functions.
"""

import json
import time

import pytest

from aws_faults import fail_requests, s3_error_xml
from lambda_shared import aws
from purge_bucket import clients, worker
from purge_bucket.engine.deletion import PurgeCounts
from purge_bucket.job import lifecycle
from purge_bucket.job.table import JOB_LEASE_SECONDS, RUN_END_SECONDS, Ending, LeaseLost
from purge_bucket.job.tasks import TaskRejected
from stand_ins.s3_inventory import bucket_contents
from support import EMPTY, lambda_context, put_versions

BUCKET = "partner-data-test"


@pytest.fixture
def bucket(s3, purge_jobs, monkeypatch):
    monkeypatch.setenv("ALLOWED_BUCKETS", BUCKET)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def running_job(purge_jobs, prefix="", deleted=None) -> str:
    """A job as the purge function leaves it once handed over: its record, the bucket's lease."""
    job_id = lifecycle.new_job_id()
    table = purge_jobs.table()
    table.claim(job_id, BUCKET, prefix, lease_seconds=90, answer_by=time.time() + 27)
    table.hand_over(job_id, BUCKET, deleted or PurgeCounts(), lease_seconds=JOB_LEASE_SECONDS)
    return job_id


def run(event, *, timeout=900.0):
    return worker.lambda_handler(
        json.loads(json.dumps(event)), lambda_context("worker", timeout_seconds=timeout)
    )


def lane(job_id, prefix, *, runs=0, final=False):
    return {"action": "purge", "job_id": job_id, "lane": prefix, "runs": runs, "final": final}


def fail(job_id, *, lanes_may_run=False, error="States.TaskFailed", cause="{}"):
    return {
        "action": "fail",
        "job_id": job_id,
        "error": {"Error": error, "Cause": cause},
        "lanes_may_run": lanes_may_run,
    }


def test_the_plan_gives_a_lane_per_prefix_and_the_sweep(bucket, purge_jobs):
    put_versions(
        BUCKET, [f"{d}/2026-11-0{i}.csv" for d in ("category", "establishment", "sale") for i in range(3)]
    )
    put_versions(BUCKET, ["beside.csv"])
    job_id = running_job(purge_jobs)
    planned = run({"action": "plan", "job_id": job_id})
    assert planned == {
        "job_id": job_id,
        "lanes": ["category/", "establishment/", "sale/"],
        "sweep": {"action": "purge", "job_id": job_id, "lane": "", "runs": 0, "final": True},
    }


def test_the_plan_goes_down_to_where_the_keys_fan_out(bucket, purge_jobs):
    put_versions(BUCKET, [f"data/partner/{p}/{i}.csv" for p in ("a", "b") for i in range(2)])
    assert run({"action": "plan", "job_id": running_job(purge_jobs)})["lanes"] == [
        "data/partner/a/",
        "data/partner/b/",
    ]


def test_the_plan_works_under_the_jobs_prefix_only(bucket, purge_jobs):
    put_versions(BUCKET, ["sale/x/1.csv", "sale/y/1.csv", "category/z/1.csv"])
    planned = run({"action": "plan", "job_id": running_job(purge_jobs, prefix="sale/")})
    assert planned["lanes"] == ["sale/x/", "sale/y/"]
    assert planned["sweep"]["lane"] == "sale/"


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        (["only/one/prefix.csv", "beside.csv"], "one prefix and entries beside it: the sweep does as well"),
        ([f"day-{i:04d}/x.csv" for i in range(worker.MAX_JOB_LANES + 1)], "more prefixes than lanes"),
        (["flat-1.csv", "flat-2.csv"], "no prefix at all"),
    ],
    ids=["one", "too-many", "flat"],
)
def test_the_plan_leaves_it_all_to_the_sweep_when_lanes_would_not_help(bucket, purge_jobs, keys, why):
    put_versions(BUCKET, keys)
    assert run({"action": "plan", "job_id": running_job(purge_jobs)})["lanes"] == [], why


def test_the_plan_leaves_it_to_the_sweep_when_the_names_would_not_fit_between_states(
    bucket, purge_jobs, monkeypatch
):
    put_versions(BUCKET, [f"{'p' * 200}-{i}/x.csv" for i in range(3)])
    job_id = running_job(purge_jobs)
    # ["p…-0/", "p…-1/", "p…-2/"]: 3 names of 203 characters, quoted, 2 separators and brackets.
    monkeypatch.setattr(worker, "MAX_LANES_BYTES", 620)
    assert run({"action": "plan", "job_id": job_id})["lanes"] == []
    monkeypatch.setattr(worker, "MAX_LANES_BYTES", 621)
    assert len(run({"action": "plan", "job_id": job_id})["lanes"]) == 3


def test_a_lane_run_deletes_its_prefix_and_counts_it_in_the_record(bucket, purge_jobs, capsys):
    put_versions(BUCKET, [f"sale/{i}.csv" for i in range(20)], versions=2)
    put_versions(BUCKET, ["category/1.csv"])
    job_id = running_job(purge_jobs, deleted=PurgeCounts(versions=5))

    reply = run(lane(job_id, "sale/", runs=3))

    assert reply == {
        "action": "purge",
        "job_id": job_id,
        "lane": "sale/",
        "runs": 4,
        "final": False,
        "done": True,
    }
    assert bucket_contents(bucket, BUCKET)["versions"] == 1
    record = purge_jobs.table().get(job_id)
    assert record.deleted == PurgeCounts(versions=45)
    assert (record.state, record.runs) == ("running", 1)
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (line["message"], line["lane"], line["run"], line["deleted"]["versions"]) == (
        "purge job run",
        "sale/",
        4,
        40,
    )


def test_a_run_renews_the_jobs_hold_on_the_bucket(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    purge_jobs.table(clock=lambda: time.time() - 1000).renew(job_id, BUCKET, lease_seconds=JOB_LEASE_SECONDS)
    run(lane(job_id, ""))
    assert int(purge_jobs.lease(BUCKET)["expires_at"]) == pytest.approx(
        time.time() + JOB_LEASE_SECONDS, abs=5
    )


def test_a_run_out_of_time_says_the_lane_is_not_done(bucket, purge_jobs):
    put_versions(BUCKET, [f"sale/{i}.csv" for i in range(5)])
    job_id = running_job(purge_jobs)
    # Less time than the run keeps for counting its work: it deletes nothing, and says so.
    reply = run(lane(job_id, "sale/"), timeout=worker.RUN_RESERVE_SECONDS + 1)
    assert (reply["done"], reply["runs"]) == (False, 1)
    assert bucket_contents(bucket, BUCKET)["versions"] == 5
    assert purge_jobs.table().get(job_id).runs == 1


def test_the_sweeps_last_run_ends_the_job_and_lets_go_of_the_bucket(bucket, purge_jobs, capsys):
    put_versions(BUCKET, ["beside.csv", "sale/1.csv"])
    job_id = running_job(purge_jobs, deleted=PurgeCounts(versions=10))
    reply = run(lane(job_id, "", final=True))
    assert (reply["done"], reply["state"]) == (True, "succeeded")
    assert bucket_contents(bucket, BUCKET) == EMPTY
    record = purge_jobs.table().get(job_id)
    assert (record.state, record.deleted, record.message) == (
        "succeeded",
        PurgeCounts(versions=12),
        f"Bucket {BUCKET!r} is now empty",
    )
    assert record.ended_at is not None
    assert purge_jobs.lease(BUCKET) is None
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ended = lines[-1]
    assert (ended["message"], ended["state"], ended["total"]["versions"]) == (
        "purge job ended",
        "succeeded",
        12,
    )
    (metrics,) = [line for line in lines if "_aws" in line]  # The job's end, in EMF (issue 25).
    assert (metrics["Mode"], metrics["PurgeVersionsDeleted"], metrics["PurgesSucceeded"]) == ("job", 12, 1)


def test_what_the_sweep_could_not_delete_ends_the_job_failed_saying_what_stays(s3, purge_jobs, monkeypatch):
    monkeypatch.setenv("ALLOWED_BUCKETS", BUCKET)
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=BUCKET, Key="held.csv", Body=b"x", ObjectLockLegalHoldStatus="ON")
    put_versions(BUCKET, ["free.csv"])
    job_id = running_job(purge_jobs)
    reply = run(lane(job_id, "", final=True))
    assert (reply["done"], reply["state"]) == (True, "failed")
    record = purge_jobs.table().get(job_id)
    assert record.state == "failed"
    assert record.not_deleted == {
        "count": 1,
        "by_error_code": {"AccessDenied": 1},
        "sample_keys": ["held.csv"],
    }
    assert record.deleted.versions == 1
    assert purge_jobs.lease(BUCKET) is None


def test_a_lane_s3_refuses_to_list_fails_with_the_refusal_and_its_counts(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    fail_requests(
        clients.purge_s3_client(), "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied")
    )
    with pytest.raises(worker.LaneRefused, match="AccessDenied"):
        run(lane(job_id, "sale/"))
    assert purge_jobs.table().get(job_id).runs == 1, "the run is counted before the lane fails"


def test_a_plan_s3_refuses_fails_with_the_refusal(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    fail_requests(
        clients.purge_s3_client(), "s3.ListObjectVersions", status=403, body=s3_error_xml("AccessDenied")
    )
    with pytest.raises(worker.LaneRefused, match="AccessDenied"):
        run({"action": "plan", "job_id": job_id})


def test_a_job_that_made_the_most_runs_one_history_holds_fails(bucket, purge_jobs, monkeypatch):
    put_versions(BUCKET, ["a.csv"])
    job_id = running_job(purge_jobs)
    monkeypatch.setattr(worker, "MAX_JOB_RUNS", 1)
    with pytest.raises(worker.TooManyRuns, match="made 1 runs"):
        run(lane(job_id, ""), timeout=worker.RUN_RESERVE_SECONDS + 1)
    # A lane that is done needs no more runs: it is not refused.
    assert run(lane(job_id, ""))["done"]


def test_the_run_limit_keeps_the_history_under_its_quota():
    """Step Functions stops a Standard execution at 25,000 history events."""
    most = worker.MAX_JOB_RUNS * worker.HISTORY_EVENTS_PER_RUN + worker.HISTORY_EVENTS_BESIDE_RUNS
    assert most <= 25_000
    # A lane's run: its task (entered, scheduled, started, succeeded, exited) and its choice
    # (entered, exited), and 3 events for each of at most 3 retries.
    assert worker.HISTORY_EVENTS_PER_RUN >= 5 + 2 + 3 * 3
    # Besides the runs: two events per lane, at most MAX_JOB_LANES lanes, and some 30 others.
    assert worker.HISTORY_EVENTS_BESIDE_RUNS >= 2 * worker.MAX_JOB_LANES + 30


def test_counts_a_run_could_not_record_fail_the_job_saying_how_many(bucket, purge_jobs, capsys):
    put_versions(BUCKET, ["a.csv", "b.csv"])
    job_id = running_job(purge_jobs)
    client = aws.client("dynamodb", **worker.TABLE_CLIENT)
    fail_requests(client, "dynamodb.UpdateItem", status=500, body=b"{}", skip=1)  # The lease renews.
    with pytest.raises(worker.CountsLost, match="2 versions, 0 delete markers, 0 multipart uploads"):
        run(lane(job_id, ""))
    assert any(
        json.loads(line)["message"] == "could not count a run of the purge job"
        for line in capsys.readouterr().out.splitlines()
    )


# Tasks from anyone else --------------------------------------------------------------------------


def test_a_task_of_a_job_that_does_not_exist_deletes_nothing(bucket):
    put_versions(BUCKET, ["a.csv"])
    for event in ({"action": "plan", "job_id": lifecycle.new_job_id()}, lane(lifecycle.new_job_id(), "")):
        with pytest.raises(TaskRejected, match="is running"):
            run(event)
    assert bucket_contents(bucket, BUCKET)["versions"] == 1


def test_a_task_of_a_job_that_ended_deletes_nothing(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    purge_jobs.table().finish(job_id, BUCKET, Ending("succeeded", "done"))
    put_versions(BUCKET, ["written-after.csv"])
    with pytest.raises(TaskRejected, match="is running"):
        run(lane(job_id, "", final=True))
    assert bucket_contents(bucket, BUCKET)["versions"] == 1


def test_a_task_of_a_purge_still_inline_deletes_nothing(bucket, purge_jobs):
    put_versions(BUCKET, ["a.csv"])
    job_id = lifecycle.new_job_id()
    purge_jobs.table().claim(job_id, BUCKET, "", lease_seconds=90, answer_by=time.time() + 27)
    with pytest.raises(TaskRejected, match="is running"):
        run(lane(job_id, ""))
    assert bucket_contents(bucket, BUCKET)["versions"] == 1


@pytest.mark.parametrize(
    ("prefix", "task"),
    [
        ("sale/", lambda job_id: lane(job_id, "category/")),
        ("sale/", lambda job_id: lane(job_id, "")),
        ("sale/", lambda job_id: lane(job_id, "sale/x/", final=True)),
    ],
    ids=["another-prefix", "the-whole-bucket", "a-final-lane-below-the-prefix"],
)
def test_a_lane_outside_its_jobs_prefix_deletes_nothing(bucket, purge_jobs, prefix, task):
    put_versions(BUCKET, ["sale/x/1.csv", "category/1.csv"])
    with pytest.raises(TaskRejected, match="is not one of job"):
        run(task(running_job(purge_jobs, prefix=prefix)))
    assert bucket_contents(bucket, BUCKET)["versions"] == 2


def test_a_job_on_a_bucket_no_longer_allowed_deletes_nothing(bucket, purge_jobs, monkeypatch):
    put_versions(BUCKET, ["a.csv"])
    job_id = running_job(purge_jobs)
    monkeypatch.setenv("ALLOWED_BUCKETS", "another-bucket")
    with pytest.raises(TaskRejected, match="may not be purged"):
        run(lane(job_id, ""))
    assert bucket_contents(bucket, BUCKET)["versions"] == 1


def test_a_job_whose_lease_was_taken_deletes_nothing(bucket, purge_jobs):
    put_versions(BUCKET, ["a.csv"])
    job_id = running_job(purge_jobs)
    # The job's lease expired and another purge took the bucket.
    dynamodb = aws.client("dynamodb")
    dynamodb.update_item(
        TableName=purge_jobs.table().table,
        Key={"pk": {"S": f"lease#{BUCKET}"}},
        UpdateExpression="SET job_id = :other",
        ExpressionAttributeValues={":other": {"S": lifecycle.new_job_id()}},
    )
    with pytest.raises(LeaseLost):
        run(lane(job_id, ""))
    assert bucket_contents(bucket, BUCKET)["versions"] == 1


def test_a_malformed_task_is_rejected_before_anything_is_read(bucket):
    with pytest.raises(TaskRejected):
        run({"action": "purge", "job_id": "../../x", "lane": "", "runs": 0, "final": True})


# Failing a job -----------------------------------------------------------------------------------


def test_failing_a_job_records_why_and_its_counts_and_lets_go_of_the_bucket(bucket, purge_jobs, capsys):
    job_id = running_job(purge_jobs, deleted=PurgeCounts(versions=3))
    cause = json.dumps({"errorType": "LaneRefused", "errorMessage": "AccessDenied", "stackTrace": []})
    assert run(fail(job_id, error="LaneRefused", cause=cause)) == {"job_id": job_id, "state": "failed"}
    record = purge_jobs.table().get(job_id)
    assert record.state == "failed"
    assert record.refused == "AccessDenied"
    assert record.error == "LaneRefused"
    assert record.message == (
        "The purge job failed (LaneRefused: AccessDenied): 3 versions, 0 delete markers, 0 multipart"
        " uploads deleted; the rest is still there"
    )
    assert purge_jobs.lease(BUCKET) is None
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    line = lines[-1]
    assert (line["level"], line["message"], line["total"]["versions"]) == ("ERROR", "purge job failed", 3)
    (metrics,) = [line for line in lines if "_aws" in line]
    assert (metrics["Mode"], metrics["PurgeVersionsDeleted"], metrics["PurgesFailed"]) == ("job", 3, 1)


@pytest.mark.parametrize(
    ("error", "exact"),
    [
        ("LaneRefused", True),
        ("TooManyRuns", True),
        ("TaskRejected", True),
        ("LeaseLost", True),
        ("TableUnavailable", True),
        ("CountsLost", False),
        ("Runtime.ExitError", False),
        ("Sandbox.Timedout", False),
        ("States.Timeout", False),
        ("States.TaskFailed", False),
        ("Lambda.Unknown", False),
    ],
)
def test_a_job_failed_by_a_run_that_could_not_count_says_its_counts_are_a_floor(
    bucket, purge_jobs, error, exact
):
    job_id = running_job(purge_jobs, deleted=PurgeCounts(versions=3))
    run(fail(job_id, error=error, cause="stopped"))
    record = purge_jobs.table().get(job_id)
    assert record.counts_exact is exact
    status = lifecycle.status(record, stepfunctions=None, state_machine_arn="", now=time.time())
    assert status.get("counts_exact", True) is exact
    floor = "" if exact else "at least "
    assert f"): {floor}3 versions, 0 delete markers, 0 multipart uploads deleted" in record.message
    assert ("could not count what it had deleted" in record.message) is not exact


def test_a_job_failed_while_lanes_may_run_holds_the_bucket_until_they_must_have_ended(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    run(fail(job_id, lanes_may_run=True, error="States.Timeout", cause="a lane timed out"))
    record = purge_jobs.table().get(job_id)
    assert (record.state, record.message.split(":")[0]) == ("failed", "The purge job failed (States.Timeout")
    assert "a lane timed out" in record.message
    assert int(purge_jobs.lease(BUCKET)["expires_at"]) == pytest.approx(time.time() + RUN_END_SECONDS, abs=5)


def test_failing_a_job_that_ended_or_never_was_changes_nothing(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    purge_jobs.table().finish(job_id, BUCKET, Ending("succeeded", "done"))
    assert run(fail(job_id))["state"] == "failed"
    assert purge_jobs.table().get(job_id).state == "succeeded"
    assert run(fail(lifecycle.new_job_id()))["state"] == "failed"


def test_a_long_cause_is_kept_short_in_the_record(bucket, purge_jobs):
    job_id = running_job(purge_jobs)
    run(fail(job_id, cause="x" * 10_000))
    assert len(purge_jobs.table().get(job_id).message) < worker.MAX_DETAIL_CHARS + 200
