"""Lambda entry point for the purge endpoint (``handler.lambda_handler`` in the zip).

Order of checks, so the endpoint reveals nothing it should not:
1. the request's shape (400/405) - nothing about any bucket is looked at;
2. the password (401, same body for every bucket; 503 if it cannot be checked);
3. the bucket allowlist (403), then the bucket's existence (404);
4. the purge itself: 200 done, 202 finishing in the background, 500 S3 refused something.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared import aws
from lambda_shared.logs import get_logger
from lambda_shared.parameters import ParameterNotFound, ParameterUnavailable, secure_parameter
from purge_bucket import continuation
from purge_bucket.auth import passwords_match
from purge_bucket.config import Settings
from purge_bucket.continuation import Continuation, InvalidContinuation
from purge_bucket.deletion import BucketPurger, PurgeResult
from purge_bucket.request import BadRequest, PurgeRequest, caller_of, is_proxy_event, parse_purge_request
from purge_bucket.responses import json_response

logger = get_logger("purge_bucket")

#: API Gateway gives up on a REST integration after 29 s; stop deleting well before that.
API_TIME_BUDGET_SECONDS = 24.0
#: Time kept back from the Lambda timeout for scheduling the continuation and answering.
SAFETY_MARGIN_SECONDS = 4.0
DELETE_WORKERS = 8

UNAUTHORIZED = "Unauthorized"


class _Unavailable(Exception):
    """The stored password could not be read; nothing may be deleted."""


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = Settings.from_environ()
    if continuation.is_continuation_event(event) and not is_proxy_event(event):
        return _continue(event, context, settings, started)
    return _serve(event, context, settings, started)


def _serve(event: Any, context: Any, settings: Settings, started: float) -> dict[str, Any]:
    caller = caller_of(event, context)
    log: dict[str, Any] = {"request_id": caller.request_id, "source_ip": caller.source_ip}

    def finish(status: int, outcome: str, message: str, **fields: Any) -> dict[str, Any]:
        log.update(status=status, outcome=outcome, duration_ms=round((time.monotonic() - started) * 1000))
        logger.log(logging.ERROR if status >= 500 else logging.INFO, "purge request", extra=log)
        return json_response(status, message, **fields)

    try:
        request = parse_purge_request(event)
    except BadRequest as error:
        return finish(error.status, "bad_request", error.message)

    try:
        stored = _stored_password(settings)
    except _Unavailable:
        return finish(
            503, "password_unavailable", "The password cannot be checked right now; try again later"
        )
    if not passwords_match(request.password, stored):
        return finish(401, "unauthorized", UNAUTHORIZED)

    log.update(bucket=request.bucket, prefix=request.prefix)
    if request.bucket not in settings.allowed_buckets:
        return finish(403, "forbidden", "This bucket may not be purged")

    s3 = aws.client("s3")
    missing = _bucket_problem(s3, request.bucket)
    if missing is not None:
        status, message = missing
        return finish(status, "bucket_unreachable", message, bucket_name=request.bucket)

    budget = _remaining_seconds(context) - SAFETY_MARGIN_SECONDS
    if is_proxy_event(event):
        budget = min(budget, API_TIME_BUDGET_SECONDS)
    result = BucketPurger(s3, request.bucket, request.prefix, workers=DELETE_WORKERS).run(started + budget)
    log.update(deleted=result.deleted.as_dict())
    fields = {"bucket_name": request.bucket, "prefix": request.prefix, "deleted": result.deleted.as_dict()}

    if result.failures or result.refused:
        return finish(500, "s3_refused", _refusal_message(result), **fields, **_failure_fields(result))
    if result.out_of_time:
        follow_up = Continuation(
            request.bucket, request.prefix, caller.request_id, 1, int(time.time()), result.deleted
        )
        if not _schedule(context, follow_up, stored):
            return finish(
                500, "continuation_failed", "The purge ran out of time and could not continue", **fields
            )
        return finish(
            202, "continuing", "The purge continues in the background; its completion is logged", **fields
        )
    return finish(200, "purged", _done_message(request), **fields)


def _continue(event: dict[str, Any], context: Any, settings: Settings, started: float) -> dict[str, Any]:
    """One background hop of a purge that did not fit in the API's time budget."""
    try:
        stored = _stored_password(settings)
        job = Continuation.from_event(event, stored, time.time())
    except (_Unavailable, InvalidContinuation) as error:
        logger.error("purge continuation rejected", extra={"reason": str(error) or "password unavailable"})
        return json_response(401, UNAUTHORIZED)
    log: dict[str, Any] = {
        "request_id": job.request_id,
        "hop": job.hop,
        "bucket": job.bucket,
        "prefix": job.prefix,
    }
    if job.bucket not in settings.allowed_buckets:
        logger.error("purge continuation rejected", extra={**log, "reason": "bucket no longer allowed"})
        return json_response(403, "This bucket may not be purged")

    s3 = aws.client("s3")
    deadline = started + _remaining_seconds(context) - SAFETY_MARGIN_SECONDS
    result = BucketPurger(s3, job.bucket, job.prefix, workers=DELETE_WORKERS).run(deadline)
    log.update(deleted=(job.deleted_so_far + result.deleted).as_dict())

    if result.failures or result.refused:
        logger.error("purge failed", extra={**log, "outcome": "s3_refused", **_failure_fields(result)})
        return json_response(500, _refusal_message(result), **_failure_fields(result))
    if result.out_of_time:
        if job.hop >= continuation.MAX_HOPS:
            logger.error("purge gave up", extra={**log, "outcome": "too_many_hops"})
            return json_response(500, "The purge did not finish")
        if not _schedule(context, job.next(result.deleted, time.time()), stored):
            logger.error("purge stopped", extra={**log, "outcome": "continuation_failed"})
            return json_response(500, "The purge could not continue")
        logger.info("purge continuing", extra={**log, "outcome": "continuing"})
        return json_response(202, "The purge continues in the background")
    logger.info("purge complete", extra={**log, "outcome": "purged"})
    return json_response(200, "The purge is complete", deleted=log["deleted"])


def _stored_password(settings: Settings) -> str:
    """The stored password, or "" when none is set (which matches nothing)."""
    name = settings.password_parameter
    if not name:
        logger.error("no password parameter configured: every request is denied")
        return ""
    try:
        stored = secure_parameter(name).value()
    except ParameterNotFound as error:
        logger.error("password parameter missing: every request is denied", extra={"error": str(error)})
        return ""
    except ParameterUnavailable as error:
        logger.error("password parameter unavailable: request denied", extra={"error": str(error)})
        raise _Unavailable from None
    if not stored.strip():
        logger.error("password parameter is empty: every request is denied")
        return ""
    return stored


def _bucket_problem(s3: Any, bucket: str) -> tuple[int, str] | None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in {"404", "NoSuchBucket"}:
            return 404, "The bucket does not exist"
        return 500, f"S3 refused access to the bucket ({code})"
    except BotoCoreError as error:
        return 500, f"S3 could not be reached ({type(error).__name__})"
    return None


def _schedule(context: Any, job: Continuation, stored: str) -> bool:
    try:
        continuation.schedule(aws.client("lambda"), context.invoked_function_arn, job.to_event(stored))
    except (ClientError, BotoCoreError, AttributeError) as error:
        logger.error("could not schedule the purge continuation", extra={"error": type(error).__name__})
        return False
    return True


def _remaining_seconds(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else API_TIME_BUDGET_SECONDS + SAFETY_MARGIN_SECONDS


def _done_message(request: PurgeRequest) -> str:
    where = f"Prefix {request.prefix!r} of bucket" if request.prefix else "Bucket"
    return f"{where} {request.bucket!r} is now empty"


def _refusal_message(result: PurgeResult) -> str:
    if result.refused:
        return f"S3 refused the purge ({result.refused}); it stopped part way"
    return f"S3 refused to delete {len(result.failures)} entries; everything else was deleted"


def _failure_fields(result: PurgeResult) -> dict[str, Any]:
    fields: dict[str, Any] = {"not_deleted": result.failure_summary()}
    if result.refused:
        fields["refused"] = result.refused
    return fields
