"""The purge's security checks, unit by unit and fast: the password comparison, and the tasks the
job's worker accepts. `make mutation` runs these (with test_purge_request.py) against every mutant
of api/auth.py, job/tasks.py and api/request.py; the handler's and the worker's tests show the same through
the functions."""

import dataclasses
import hashlib
import json

import pytest

from purge_bucket.api import auth
from purge_bucket.api.request import MAX_PREFIX_BYTES
from purge_bucket.job.tasks import FAIL, PLAN, PURGE, Task, TaskRejected, parse_task

STORED = "correct horse battery staple"
JOB = "20261202T185000Z-0123456789abcdef"


# The password ----------------------------------------------------------------------------------


def test_the_stored_password_matches_itself():
    assert auth.passwords_match(STORED, STORED)
    assert auth.passwords_match("é \U0001f511 \udfff", "é \U0001f511 \udfff")


@pytest.mark.parametrize(
    "guess",
    [
        "",
        "c",
        "corr",
        "corrXXXXXXXXXXXXXXXXXXXXXXXX",
        "correct horse",
        "horse battery",
        STORED + "x",
        "x" + STORED,
        STORED.upper(),
        f" {STORED}",
        f"{STORED} ",
        STORED.replace(" ", ""),
        STORED[:-1],
        "\udfff",
    ],
)
def test_anything_else_does_not(guess):
    assert not auth.passwords_match(guess, STORED)


@pytest.mark.parametrize("stored", ["", None])
def test_an_empty_or_missing_stored_password_matches_nothing(stored):
    assert not auth.passwords_match("", stored)
    assert not auth.passwords_match("anything", stored)


def test_the_comparison_is_of_utf8_sha256_digests():
    assert auth._digest("é\udfff") == hashlib.sha256("é\udfff".encode("utf-8", "surrogatepass")).digest()


# The worker's tasks ----------------------------------------------------------------------------


def delivered(event: dict) -> dict:
    """As the Lambda runtime hands it over: decoded from JSON."""
    return json.loads(json.dumps(event))


def purge_task(**changes) -> dict:
    return delivered(
        {"action": "purge", "job_id": JOB, "lane": "sale/", "runs": 2, "final": False, **changes}
    )


def fail_task(**changes) -> dict:
    error = {"Error": "LaneRefused", "Cause": '{"errorMessage": "AccessDenied"}'}
    return delivered({"action": "fail", "job_id": JOB, "error": error, "lanes_may_run": True, **changes})


def test_each_task_round_trips():
    assert parse_task(delivered({"action": "plan", "job_id": JOB})) == Task(PLAN, JOB)
    assert parse_task(purge_task()) == Task(PURGE, JOB, lane="sale/", runs=2, final=False)
    assert parse_task(purge_task(lane="", runs=0, final=True)) == Task(
        PURGE, JOB, lane="", runs=0, final=True
    )
    assert parse_task(fail_task()) == Task(
        FAIL, JOB, error="LaneRefused", cause='{"errorMessage": "AccessDenied"}', lanes_may_run=True
    )
    assert parse_task(fail_task(lanes_may_run=False)).lanes_may_run is False


def test_a_task_carries_nothing_its_action_does_not_give_it():
    for task in (parse_task(delivered({"action": "plan", "job_id": JOB})), parse_task(fail_task())):
        assert (task.lane, task.runs, task.final) == ("", 0, False)
    plan = parse_task(delivered({"action": "plan", "job_id": JOB}))
    assert (plan.error, plan.cause, plan.lanes_may_run) == ("", "", False)


def test_the_unknown_fields_a_task_names_are_cut_to_200_characters():
    event = purge_task(**{f"{i:03d}" + "x" * 60: 1 for i in range(5)})
    with pytest.raises(TaskRejected) as caught:
        parse_task(event)
    named = str(caught.value).split("purge task: ", 1)[1]
    assert len(named) == 200
    assert named.startswith("000" + "x" * 60 + ", 001")


def test_a_purge_task_may_carry_the_last_runs_answer():
    # The state machine loops a lane's answer back as its next task.
    assert parse_task(purge_task(done=False)).lane == "sale/"
    assert parse_task(purge_task(done=True, state="failed")).runs == 2


@pytest.mark.parametrize(
    "event",
    [
        None,
        "plan",
        [],
        {},
        {"job_id": JOB},
        {"action": "PLAN", "job_id": JOB},
        {"action": "finish", "job_id": JOB},
        {"action": ["plan"], "job_id": JOB},
    ],
    ids=repr,
)
def test_anything_but_a_task_is_rejected(event):
    with pytest.raises(TaskRejected, match="not a purge job task"):
        parse_task(event)


@pytest.mark.parametrize(
    "event",
    [
        {"action": "plan", "job_id": JOB, "bucket_name": "partner-data"},
        {"action": "plan", "job_id": JOB, "lane": "sale/"},
        purge_task(prefix="sale/"),
        purge_task(bucket="partner-data"),
        fail_task(runs=1),
    ],
    ids=["plan+bucket", "plan+lane", "purge+prefix", "purge+bucket", "fail+runs"],
)
def test_a_task_with_a_field_it_does_not_have_is_rejected(event):
    with pytest.raises(TaskRejected, match="unknown field"):
        parse_task(event)


@pytest.mark.parametrize(
    "job_id",
    [
        None,
        5,
        "",
        "job-1",
        "20261202T185000Z-0123456789abcde",
        "20261202T185000Z-0123456789abcdef0",
        "20261202T185000Z-0123456789ABCDEF",
        "20261202T185000-0123456789abcdef",
        "2026120T185000Z-0123456789abcdef",
        JOB + "\n",
        " " + JOB,
        "../" + JOB,
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    "make",
    [
        lambda job_id: {"action": "plan", "job_id": job_id},
        lambda job_id: purge_task(job_id=job_id),
        lambda job_id: fail_task(job_id=job_id),
    ],
    ids=["plan", "purge", "fail"],
)
def test_a_task_must_name_a_job_as_job_ids_are_made(make, job_id):
    with pytest.raises(TaskRejected, match="names no job"):
        parse_task(make(job_id))


@pytest.mark.parametrize(
    "lane",
    [None, 5, ["sale/"], "p" * (MAX_PREFIX_BYTES + 1), "é" * (MAX_PREFIX_BYTES // 2 + 1), "\ud800"],
    ids=["none", "number", "list", "too-long", "too-many-bytes", "lone-surrogate"],
)
def test_a_purge_task_needs_a_prefix_for_lane(lane):
    with pytest.raises(TaskRejected, match="lane is not a prefix"):
        parse_task(purge_task(lane=lane))


def test_the_longest_lane_is_accepted():
    assert parse_task(purge_task(lane="é" * (MAX_PREFIX_BYTES // 2))).lane == "é" * (MAX_PREFIX_BYTES // 2)
    assert parse_task(purge_task(lane="p" * MAX_PREFIX_BYTES)).lane == "p" * MAX_PREFIX_BYTES


@pytest.mark.parametrize("runs", [None, -1, 1.0, "1", True, False], ids=repr)
def test_a_purge_task_counts_its_runs(runs):
    with pytest.raises(TaskRejected, match="runs is not a count"):
        parse_task(purge_task(runs=runs))


@pytest.mark.parametrize("final", [None, 0, 1, "true"], ids=repr)
def test_a_purge_task_says_whether_it_is_final(final):
    with pytest.raises(TaskRejected, match="final is not true or false"):
        parse_task(purge_task(final=final))


@pytest.mark.parametrize(
    "event",
    [
        {"action": "fail", "job_id": JOB, "lanes_may_run": True},
        {"action": "fail", "job_id": JOB, "error": "LaneRefused", "lanes_may_run": True},
        {"action": "fail", "job_id": JOB, "error": {}},
        {"action": "fail", "job_id": JOB, "error": {}, "lanes_may_run": 1},
    ],
    ids=["no-error", "error-not-caught", "no-lanes-flag", "lanes-flag-not-bool"],
)
def test_a_fail_task_needs_what_step_functions_caught(event):
    with pytest.raises(TaskRejected, match="failure task needs"):
        parse_task(event)


def test_what_step_functions_caught_is_kept_within_its_limits():
    """Step Functions' own limits: an error name of 256 characters, a cause of 32,768."""
    task = parse_task(fail_task(error={"Error": "E" * 300, "Cause": "c" * 40_000}))
    assert task.error == "E" * 256
    assert task.cause == "c" * 32_768
    whole = parse_task(fail_task(error={"Error": "E" * 256, "Cause": "c" * 32_768}))
    assert (len(whole.error), len(whole.cause)) == (256, 32_768)
    assert parse_task(fail_task(error={"Error": 5, "Cause": None})) == Task(FAIL, JOB, lanes_may_run=True)


def test_a_task_cannot_be_changed_once_made():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_task(purge_task()).lane = "category/"
