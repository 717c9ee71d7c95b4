"""The purge job's worker (``purge_bucket.worker.lambda_handler``): one task of the job's state
machine per invocation (``job.tasks``).

* ``plan``: the lanes, prefixes each purged by a Lambda of its own (the Map state's items);
* ``purge``: one run of the deletion engine on one lane, until the lane is empty or the run's time
  is up (the state machine runs it again until it is done); its counts are added to the job's
  record. The ``final`` lane is the sweep of the job's whole prefix after the lanes: what lies
  beside them, what they could not take, and the entries S3 refused, tried once more; its last run
  ends the job and lets go of the bucket;
* ``fail``: ends the job ``failed`` with what Step Functions caught.

Before anything else a task's job must be running, its bucket allowed, its lane under its prefix,
and each run renews the job's lease on the bucket: a job whose lease was taken deletes nothing.
Errors are raised: Step Functions records them, and its Catch sends the ``fail`` task.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from lambda_shared import aws
from lambda_shared.invocation import remaining_seconds
from lambda_shared.logs import get_logger
from purge_bucket import purge_metrics
from purge_bucket.clients import DELETE_WORKERS, LISTERS, purge_s3_client
from purge_bucket.config import Settings
from purge_bucket.engine.deletion import BucketPurger, ListingRefused
from purge_bucket.job.table import (
    FAILED,
    JOB,
    JOB_LEASE_SECONDS,
    RUN_END_SECONDS,
    RUNNING,
    Ending,
    JobRecord,
    JobTable,
    LeaseLost,
    TableUnavailable,
)
from purge_bucket.job.tasks import FAIL, PLAN, Task, TaskRejected, parse_task
from purge_bucket.outcomes import counted, of_run

logger = get_logger("purge_bucket")

#: A run deletes for this long at most (Lambda stops a function at 15 minutes)...
MAX_RUN_SECONDS = 840.0
#: ...and keeps this long for counting its work and, the sweep's last, ending the job: two
#: DynamoDB writes of at most three attempts each.
RUN_RESERVE_SECONDS = 30.0
#: The most lanes a job fans out to, and the most their names may take in the plan's output
#: (Step Functions passes at most 256 KiB between states). Past either, the sweep does it all.
MAX_JOB_LANES = 256
MAX_LANES_BYTES = 128 * 1024
#: The most runs one job makes. A run adds at most 16 events to the execution's history (7, and 9
#: more if Step Functions retries it three times), and the rest of a job at most 1,000 with 256
#: lanes: 1,500 runs stay under the 25,000 events a Standard execution may have.
MAX_JOB_RUNS = 1500
HISTORY_EVENTS_PER_RUN = 16
HISTORY_EVENTS_BESIDE_RUNS = 1000
#: How much of a failure's cause a job's record and log keep.
MAX_DETAIL_CHARS = 500
#: The worker's DynamoDB writes come after deletions: retried, so that the counts are not lost.
TABLE_CLIENT = {"attempts": 3, "connect_timeout": 1.0, "read_timeout": 2.0}


class LaneRefused(Exception):
    """S3 refused to list a lane; the message is S3's error code."""


class TooManyRuns(Exception):
    """The job made the most runs one execution's history holds."""


class CountsLost(Exception):
    """A run's deletions could not be added to the job's record."""


#: The errors a run raises itself, before it deletes or after it counted what it deleted: a job
#: failed by one of them has exact counts. Any other (Lambda stopped the run: its timeout, its
#: memory, a crash; or ``CountsLost``) may leave deletions uncounted.
COUNTED_ERRORS = frozenset(
    error.__name__ for error in (TaskRejected, LeaseLost, TableUnavailable, LaneRefused, TooManyRuns)
)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    task = parse_task(event)
    settings = Settings.from_environ()
    table = JobTable(
        aws.client("dynamodb", **TABLE_CLIENT), settings.jobs_table, retention_days=settings.retention_days
    )
    if task.action == FAIL:
        return _fail(task, table)
    record = _running_job(table, task, settings)
    table.renew(record.job_id, record.bucket, lease_seconds=JOB_LEASE_SECONDS)
    deadline = started + max(
        0.0, min(remaining_seconds(context, 900.0) - RUN_RESERVE_SECONDS, MAX_RUN_SECONDS)
    )
    if task.action == PLAN:
        return _plan(record, deadline)
    return _purge(task, record, table, deadline, started)


def _running_job(table: JobTable, task: Task, settings: Settings) -> JobRecord:
    record = table.get(task.job_id)
    if record is None or record.state != RUNNING or record.mode != JOB:
        raise TaskRejected(f"no purge job {task.job_id} is running")
    if record.bucket not in settings.allowed_buckets:
        raise TaskRejected(f"bucket {record.bucket} may not be purged (no longer in ALLOWED_BUCKETS)")
    if task.action != PLAN and (
        not task.lane.startswith(record.prefix) or (task.final and task.lane != record.prefix)
    ):
        raise TaskRejected(f"lane {task.lane[:100]!r} is not one of job {task.job_id}'s")
    return record


def _purger(record: JobRecord, prefix: str) -> BucketPurger:
    return BucketPurger(purge_s3_client(), record.bucket, prefix, workers=DELETE_WORKERS, listers=LISTERS)


def _plan(record: JobRecord, deadline: float) -> dict[str, Any]:
    try:
        lanes = _purger(record, record.prefix).job_lanes(
            deadline, max_lanes=MAX_JOB_LANES, max_bytes=MAX_LANES_BYTES
        )
    except ListingRefused as refusal:
        raise LaneRefused(refusal.code) from None
    logger.info("purge job planned", extra={"job_id": record.job_id, "lanes": len(lanes)})
    return {
        "job_id": record.job_id,
        "lanes": lanes,
        "sweep": {
            "action": "purge",
            "job_id": record.job_id,
            "lane": record.prefix,
            "runs": 0,
            "final": True,
        },
    }


def _purge(task: Task, record: JobRecord, table: JobTable, deadline: float, started: float) -> dict[str, Any]:
    result = _purger(record, task.lane).run(deadline)
    try:
        after = table.add_progress(record.job_id, result.deleted)
    except TableUnavailable as error:
        logger.error(
            "could not count a run of the purge job",
            extra={"job_id": record.job_id, "lane": task.lane, "deleted": result.deleted.as_dict()},
        )
        raise CountsLost(
            f"{counted(result.deleted)} deleted by a run could not be counted: {error}"
        ) from None
    done = not result.out_of_time or bool(result.refused)
    log = {
        "job_id": record.job_id,
        "lane": task.lane,
        "final": task.final,
        "run": task.runs + 1,
        "deleted": result.deleted.as_dict(),
        "done": done,
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    logger.info("purge job run", extra=log)
    reply: dict[str, Any] = {
        "action": "purge",
        "job_id": record.job_id,
        "lane": task.lane,
        "runs": task.runs + 1,
        "final": task.final,
        "done": done,
    }
    if result.refused and not task.final:
        raise LaneRefused(result.refused)
    if not done and after.runs >= MAX_JOB_RUNS:
        raise TooManyRuns(
            f"the job made {after.runs} runs, the most one execution's history holds: send the purge"
            " again for the rest"
        )
    if task.final and done:
        outcome = of_run(result, bucket=record.bucket, prefix=record.prefix, deleted=after.deleted)
        table.finish(record.job_id, record.bucket, outcome.ending)
        purge_metrics.ended(
            "job", outcome.ending.state, after.deleted, time.time() - record.started_at, job_id=record.job_id
        )
        logger.log(
            logging.ERROR if outcome.ending.state == FAILED else logging.INFO,
            "purge job ended",
            extra={**log, "state": outcome.ending.state, "total": after.deleted.as_dict()},
        )
        reply["state"] = outcome.ending.state
    return reply


def _fail(task: Task, table: JobTable) -> dict[str, Any]:
    """Ends the job ``failed``: what Step Functions caught, and the counts so far, in its record."""
    record = table.get(task.job_id)
    detail = (_cause_message(task.cause) or task.error)[:MAX_DETAIL_CHARS]
    if record is None or record.state != RUNNING:
        logger.error("purge job failed", extra={"job_id": task.job_id, "error": task.error, "cause": detail})
        return {"job_id": task.job_id, "state": FAILED}
    exact = task.error in COUNTED_ERRORS
    deleted = counted(record.deleted) if exact else f"at least {counted(record.deleted)}"
    uncounted = "" if exact else " (a run that was stopped could not count what it had deleted)"
    message = (
        f"The purge job failed ({task.error}: {detail}): {deleted} deleted{uncounted};"
        " the rest is still there"
    )
    ending = Ending(
        FAILED,
        message,
        refused=detail if task.error == LaneRefused.__name__ else None,
        error=task.error,
        counts_exact=exact,
    )
    hold = time.time() + RUN_END_SECONDS if task.lanes_may_run else None
    table.finish(record.job_id, record.bucket, ending, hold_lease_until=hold)
    purge_metrics.ended("job", FAILED, record.deleted, time.time() - record.started_at, job_id=record.job_id)
    logger.error(
        "purge job failed",
        extra={
            "job_id": record.job_id,
            "error": task.error,
            "cause": detail,
            "total": record.deleted.as_dict(),
        },
    )
    return {"job_id": record.job_id, "state": FAILED}


def _cause_message(cause: str) -> str:
    """A Lambda function error's message, from the Cause Step Functions records (its JSON)."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else cause
