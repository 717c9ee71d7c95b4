"""A purge request, once its password matched: purged inline for as long as the request's time
allows, then, if anything is left, handed over to a purge job.

1. The bucket must be allowed (403) and exist (404).
2. The purge claims the bucket's lease and writes its record (``job.table``): a bucket already
   held by a running purge answers 409 with that purge's job id.
3. It deletes until its budget (``budget``) leaves only what the hand-over needs.
4. Done: its record ends, the lease is let go, and it answers 200 (or 500 saying what stays).
   Out of time: the record becomes the job's, the lease is extended, the job's execution starts,
   and it answers 202 with the job's id and how to ask for its status.

Nothing here raises past ``serve``: any failure after the claim ends the record ``failed``, so the
bucket is not held and a status request says what happened.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

from lambda_shared.logs import get_logger
from purge_bucket import purge_metrics
from purge_bucket.api.budget import HAND_OVER_SECONDS, START_SECONDS, Budget
from purge_bucket.api.request import PurgeRequest
from purge_bucket.api.responses import Answer, Conflict, Failed, Forbidden, NotFound, Unavailable
from purge_bucket.clients import (
    CONTROL_CALL_SECONDS,
    DELETE_WORKERS,
    LISTERS,
    dynamodb_client,
    purge_s3_client,
    stepfunctions_client,
)
from purge_bucket.config import Settings
from purge_bucket.engine.deletion import BucketPurger, PurgeCounts, PurgeResult
from purge_bucket.job import lifecycle
from purge_bucket.job.table import (
    FAILED,
    INLINE_LEASE_SECONDS,
    JOB_LEASE_SECONDS,
    Busy,
    Ending,
    JobTable,
    LeaseLost,
    TableUnavailable,
)
from purge_bucket.outcomes import counted, of_run

logger = get_logger("purge_bucket")


def serve(
    request: PurgeRequest, *, settings: Settings, budget: Budget, status_path: str | None, log: dict[str, Any]
) -> Answer:
    started = time.monotonic()
    log.update(bucket=request.bucket, prefix=request.prefix)
    if request.bucket not in settings.allowed_buckets:
        raise Forbidden("This bucket may not be purged")
    if not budget.allows(START_SECONDS + HAND_OVER_SECONDS):
        raise Unavailable(
            "AWS answered too slowly to start the purge in time; nothing was deleted, try again"
        )

    purger = BucketPurger(
        purge_s3_client(), request.bucket, request.prefix, workers=DELETE_WORKERS, listers=LISTERS
    )
    problem = purger.bucket_problem(budget.until(CONTROL_CALL_SECONDS + HAND_OVER_SECONDS))
    if problem is not None:
        kind, code = problem
        if kind == "missing":
            raise NotFound("The bucket does not exist", bucket_name=request.bucket)
        raise Failed(f"S3 refused access to the bucket ({code})", bucket_name=request.bucket)
    if not budget.allows(CONTROL_CALL_SECONDS + HAND_OVER_SECONDS):
        raise Unavailable(
            "AWS answered too slowly to start the purge in time; nothing was deleted, try again"
        )

    table = JobTable(dynamodb_client(), settings.jobs_table, retention_days=settings.retention_days)
    job_id = lifecycle.new_job_id()
    try:
        table.claim(
            job_id,
            request.bucket,
            request.prefix,
            lease_seconds=INLINE_LEASE_SECONDS,
            answer_by=budget.wall_clock(budget.answer_by),
        )
    except Busy as busy:
        raise Conflict(
            f"Bucket {request.bucket!r} is already being purged, by job {busy.job_id}: ask for its"
            " status, and send this purge again once it has ended",
            job_id=busy.job_id,
            bucket_name=request.bucket,
            prefix=busy.prefix,
            retry_after_seconds=max(1, round(busy.expires_at - budget.wall_clock(budget.clock()))),
        ) from None
    except TableUnavailable as error:
        logger.error("could not claim the bucket", extra={"error": str(error)})
        raise Unavailable("The purge cannot start right now; nothing was deleted, try again") from None
    log["job_id"] = job_id

    purge_until = budget.until(HAND_OVER_SECONDS)
    if settings.inline_seconds is not None:
        purge_until = min(purge_until, budget.clock() + settings.inline_seconds)
    try:
        result = purger.run(purge_until)
    except Exception as error:  # The record must end, whatever the engine met.
        logger.exception("the purge stopped on an unexpected error")
        message = (
            f"The purge stopped on an unexpected error ({type(error).__name__}) before it could count"
            " what it had deleted; the rest is still there"
        )
        ending = Ending(FAILED, message, error=type(error).__name__, counts_exact=False)
        _end(table, job_id, request, ending, PurgeCounts(), started)
        return Answer(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal_error",
            message,
            {
                "job_id": job_id,
                "bucket_name": request.bucket,
                "prefix": request.prefix,
                "counts_exact": False,
            },
        )

    if result.out_of_time and not result.refused:
        return _hand_over(
            table, job_id, request, result, settings=settings, status_path=status_path, started=started
        )
    outcome = of_run(result, bucket=request.bucket, prefix=request.prefix, deleted=result.deleted)
    _end(table, job_id, request, outcome.ending, result.deleted, started)
    return Answer(
        outcome.status, outcome.outcome, outcome.ending.message, {"job_id": job_id, **outcome.fields}
    )


def _hand_over(
    table: JobTable,
    job_id: str,
    request: PurgeRequest,
    result: PurgeResult,
    *,
    settings: Settings,
    status_path: str | None,
    started: float,
) -> Answer:
    fields: dict[str, Any] = {
        "job_id": job_id,
        "bucket_name": request.bucket,
        "prefix": request.prefix,
        "deleted": result.deleted.as_dict(),
    }
    done = f"{counted(result.deleted)} deleted"
    try:
        table.hand_over(job_id, request.bucket, result.deleted, lease_seconds=JOB_LEASE_SECONDS)
        lifecycle.start(stepfunctions_client(), settings.state_machine_arn, job_id)
    except (TableUnavailable, LeaseLost, lifecycle.StartFailed) as error:
        logger.error("could not start the purge job", extra={"error": str(error)})
        message = (
            f"The purge ran out of time and could not continue as a job: {done}; the rest is still there"
        )
        # The counts are the record's already when the hand-over was written; else they are added here.
        handed_over = not isinstance(error, TableUnavailable | LeaseLost)
        counts = PurgeCounts() if handed_over else result.deleted
        _end(table, job_id, request, Ending(FAILED, message, error=str(error)), counts, started)
        return Answer(HTTPStatus.INTERNAL_SERVER_ERROR, "job_not_started", message, fields)
    how = (
        f'POST {{"job_id": "{job_id}", "password": …}} to {status_path}'
        if status_path
        else f'invoke the function with {{"job_id": "{job_id}", "password": …}}'
    )
    refused = f"; {len(result.failures)} refused so far, tried again by the job" if result.failures else ""
    return Answer(
        HTTPStatus.ACCEPTED,
        "job_started",
        f"The purge continues as job {job_id} ({done} so far{refused}): {how} to follow it",
        {
            **fields,
            "status_request": {"method": "POST", "path": status_path, "fields": ["job_id", "password"]},
        },
    )


def _end(  # noqa: PLR0917 - the record's end, and what the metrics need
    table: JobTable, job_id: str, request: PurgeRequest, ending: Ending, deleted: PurgeCounts, started: float
) -> None:
    """Ends the record and lets go of the bucket; a failure is logged (the lease expires by itself
    within ``INLINE_LEASE_SECONDS``, and a status request then reads the run as stopped)."""
    purge_metrics.ended("inline", ending.state, deleted, time.monotonic() - started, job_id=job_id)
    try:
        table.finish(job_id, request.bucket, ending, deleted=deleted)
    except TableUnavailable as error:
        logger.error("could not record the purge's end", extra={"error": str(error)})
