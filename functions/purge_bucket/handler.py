"""Lambda entry point for the purge endpoint (``handler.lambda_handler`` in the zip).

Order of checks, so the endpoint reveals nothing it should not:
1. the request's shape (400/405) - nothing about any bucket is looked at;
2. the password (401, same body for every bucket; 503 if it cannot be checked);
3. the bucket allowlist (403), then the bucket's existence (404);
4. the purge itself: 200 done, 202 finishing in the background, 500 S3 refused something.

A purge that does not fit in the time it has continues in the background, hop by hop
(``continuation``); every hop ends the same way, decided in one place: ``_after_purge``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared import aws
from lambda_shared.invocation import remaining_seconds
from lambda_shared.logs import get_logger
from lambda_shared.parameters import ParameterNotFound, ParameterUnavailable, secure_parameter
from purge_bucket import continuation
from purge_bucket.auth import passwords_match
from purge_bucket.config import Settings
from purge_bucket.continuation import Continuation, InvalidContinuation, SessionError, SessionKeys
from purge_bucket.deletion import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    REQUEST_SECONDS,
    BucketPurger,
    PurgeCounts,
    PurgeResult,
)
from purge_bucket.request import BadRequest, PurgeRequest, caller_of, is_proxy_event, parse_purge_request
from purge_bucket.responses import json_response

logger = get_logger("purge_bucket")

#: API Gateway gives up on a REST integration after 29 s: the answer must be out before.
API_DEADLINE_SECONDS = 27.0
#: A direct invocation has no gateway in front, but its caller usually waits for the answer: the
#: AWS SDKs and CLI read for 60 s by default, then retry, which would start a second purge.
DIRECT_DEADLINE_SECONDS = 50.0
#: Kept from the purge for what follows it: storing the next hop's key, then scheduling the hop
#: (one SSM and one Lambda request, each at most REQUEST_SECONDS), and answering.
RESERVE_SECONDS = 2 * REQUEST_SECONDS + 1.0
#: Delete requests in flight per lane (a prefix listed on its own, or the multipart uploads).
DELETE_WORKERS = 16
#: Lanes listed at once (the multipart uploads take one of them); the entries beside the prefixes
#: are one more lane.
LISTERS = 4
#: Every client makes one attempt per request, bounded by these timeouts; retries are the
#: purge's own, on its clock.
BOUNDED = {"attempts": 1, "connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT}

#: A connection for every thread that may send a request at once: each lane's listing and its workers.
CONNECTIONS = (LISTERS + 1) * (DELETE_WORKERS + 1)

UNAUTHORIZED = "Unauthorized"


class _Unavailable(Exception):
    """The stored password could not be read; nothing may be deleted."""


@dataclass
class _Answer:
    status: HTTPStatus
    outcome: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = Settings.from_environ()
    if continuation.is_continuation_event(event) and not is_proxy_event(event):
        return _continue(event, context, settings, started)
    return _serve(event, context, settings, started)


def _serve(event: Any, context: Any, settings: Settings, started: float) -> dict[str, Any]:
    caller = caller_of(event, context)
    log: dict[str, Any] = {"request_id": caller.request_id, "source_ip": caller.source_ip}

    def finish(answer: _Answer) -> dict[str, Any]:
        log.update(
            status=int(answer.status),
            outcome=answer.outcome,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        log.update(
            {name: answer.fields[name] for name in ("deleted", "not_deleted") if name in answer.fields}
        )
        logger.log(logging.ERROR if answer.status >= 500 else logging.INFO, "purge request", extra=log)
        return json_response(answer.status, answer.message, **answer.fields)

    try:
        request = parse_purge_request(event)
    except BadRequest as error:
        return finish(_Answer(error.status, "bad_request", error.message))

    try:
        stored = _stored_password(settings)
    except _Unavailable:
        return finish(
            _Answer(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "password_unavailable",
                "The password cannot be checked right now; try again later",
            )
        )
    if not passwords_match(request.password, stored):
        return finish(_Answer(HTTPStatus.UNAUTHORIZED, "unauthorized", UNAUTHORIZED))

    log.update(bucket=request.bucket, prefix=request.prefix)
    if request.bucket not in settings.allowed_buckets:
        return finish(_Answer(HTTPStatus.FORBIDDEN, "forbidden", "This bucket may not be purged"))

    budget = API_DEADLINE_SECONDS if is_proxy_event(event) else DIRECT_DEADLINE_SECONDS
    end = started + min(budget, remaining_seconds(context, budget + 1) - 1.0)
    purger = _purger(request.bucket, request.prefix)
    problem = purger.bucket_problem(end)
    if problem is not None:
        kind, code = problem
        if kind == "missing":
            return finish(
                _Answer(
                    HTTPStatus.NOT_FOUND,
                    "bucket_unreachable",
                    "The bucket does not exist",
                    {"bucket_name": request.bucket},
                )
            )
        return finish(
            _Answer(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "bucket_unreachable",
                f"S3 refused access to the bucket ({code})",
                {"bucket_name": request.bucket},
            )
        )

    job = Continuation(request.bucket, request.prefix, caller.request_id, 0, int(time.time()), PurgeCounts())
    result = purger.run(end - RESERVE_SECONDS)
    return finish(_after_purge(job, result, context, settings))


def _continue(event: dict[str, Any], context: Any, settings: Settings, started: float) -> dict[str, Any]:
    """One background hop of a purge that did not fit in the time it had."""
    keys = _session_keys(settings)
    try:
        if keys is None:
            raise InvalidContinuation("continuations are not configured")
        job = Continuation.from_event(event, keys, time.time())
    except InvalidContinuation as error:
        logger.error("purge continuation rejected", extra={"reason": str(error)})
        return json_response(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED)
    except SessionError as error:
        # Raised, so that Lambda retries the event: the purge is not abandoned over one SSM error.
        logger.error("purge continuation could not be checked", extra={"error": str(error)})
        raise
    log: dict[str, Any] = {
        "request_id": job.request_id,
        "hop": job.hop,
        "bucket": job.bucket,
        "prefix": job.prefix,
    }
    if job.bucket not in settings.allowed_buckets:
        _end(keys, job)
        logger.error("purge continuation rejected", extra={**log, "reason": "bucket no longer allowed"})
        return json_response(HTTPStatus.FORBIDDEN, "This bucket may not be purged")

    end = started + remaining_seconds(context, 900.0) - 1.0
    result = _purger(job.bucket, job.prefix).run(end - RESERVE_SECONDS)
    answer = _after_purge(job, result, context, settings)
    log.update(outcome=answer.outcome, status=int(answer.status), **answer.fields)
    message = {HTTPStatus.OK: "purge complete", HTTPStatus.ACCEPTED: "purge continuing"}.get(
        answer.status, "purge failed"
    )
    logger.log(logging.ERROR if answer.status >= 500 else logging.INFO, message, extra=log)
    return json_response(answer.status, answer.message, **answer.fields)


def _after_purge(job: Continuation, result: PurgeResult, context: Any, settings: Settings) -> _Answer:
    """How a purge run ends: done, failed (and why), or continued in a next hop.

    ``job`` is hop 0 for the API request itself; a background hop (1 and up) has a stored key,
    which an ending purge deletes.
    """
    deleted = job.deleted_so_far + result.deleted
    fields: dict[str, Any] = {"bucket_name": job.bucket, "prefix": job.prefix, "deleted": deleted.as_dict()}
    if result.failures:
        fields["not_deleted"] = result.failure_summary()
    keys = _session_keys(settings)
    done = f"{_count(deleted)} deleted"

    if result.out_of_time and not result.refused:
        if job.hop >= continuation.MAX_HOPS:
            answer = _Answer(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "too_many_hops",
                f"The purge did not finish in {continuation.MAX_HOPS} runs: {done}; the rest is still there",
                fields,
            )
        elif _schedule(context, keys, job.next(result.deleted, time.time())):
            refused = f"; {len(result.failures)} refused so far, tried again later" if result.failures else ""
            return _Answer(
                HTTPStatus.ACCEPTED,
                "continuing",
                f"The purge continues in the background ({done} so far{refused}); its end is logged",
                fields,
            )
        else:
            answer = _Answer(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "continuation_failed",
                f"The purge ran out of time and could not continue: {done}; the rest is still there",
                fields,
            )
    elif result.refused:
        answer = _Answer(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "s3_refused",
            f"S3 refused to list the bucket ({result.refused}): {done} before that; the rest was not reached",
            {**fields, "refused": result.refused},
        )
    elif result.still_listed:
        fields["still_listed"] = {"count": result.still_listed, "sample_keys": result.still_listed_sample}
        answer = _Answer(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "s3_keeps_listing",
            f"S3 confirmed deleting {result.still_listed} entries that it still lists: {done};"
            " nothing else remains",
            fields,
        )
    elif result.failures:
        summary = result.failure_summary()
        codes = ", ".join(f"{code} {count}" for code, count in summary["by_error_code"].items())
        answer = _Answer(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "s3_refused",
            f"S3 refused to delete {summary['count']} entries ({codes}): {done}; nothing else remains",
            fields,
        )
    else:
        answer = _Answer(HTTPStatus.OK, "purged", _done_message(job), fields)
    if job.hop > 0 and keys is not None:
        _end(keys, job)
    return answer


def purge_s3_client() -> Any:
    """The purge's S3 client: bounded, with a connection for every thread that uses it.

    Its requests are built by deletion.py from S3's own listings (the bucket and prefix were
    checked by request.py), so botocore's check of each one is skipped: checking the keys of a
    DeleteObjects took about a quarter of the purge's CPU.
    """
    return aws.client("s3", **BOUNDED, pool_connections=CONNECTIONS, validate_parameters=False)


def _purger(bucket: str, prefix: str) -> BucketPurger:
    return BucketPurger(purge_s3_client(), bucket, prefix, workers=DELETE_WORKERS, listers=LISTERS)


def _session_keys(settings: Settings) -> SessionKeys | None:
    if not settings.continuation_keys_path:
        return None
    return SessionKeys(
        aws.client("ssm", **BOUNDED),
        settings.continuation_keys_path,
        settings.continuation_keys_kms_key or None,
    )


def _schedule(context: Any, keys: SessionKeys | None, job: Continuation) -> bool:
    """Stores a fresh key for ``job`` and invokes the function with it; False when it could not."""
    if keys is None:
        logger.error("the purge cannot continue: CONTINUATION_KEYS_PATH is not set")
        return False
    try:
        key = keys.new(job.request_id)
        continuation.schedule(
            aws.client("lambda", **BOUNDED), context.invoked_function_arn, job.to_event(key)
        )
    except (SessionError, ClientError, BotoCoreError, AttributeError) as error:
        logger.error("could not schedule the purge continuation", extra={"error": type(error).__name__})
        _end(keys, job)
        return False
    return True


def _end(keys: SessionKeys, job: Continuation) -> None:
    """Makes the purge's continuations useless; a failure is logged (the key expires with them)."""
    try:
        keys.end(job.request_id)
    except (SessionError, InvalidContinuation) as error:
        logger.error("could not delete the purge's continuation key", extra={"error": str(error)})


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


def _count(counts: PurgeCounts) -> str:
    return (
        f"{counts.versions} versions, {counts.delete_markers} delete markers,"
        f" {counts.multipart_uploads} multipart uploads"
    )


def _done_message(job: Continuation | PurgeRequest) -> str:
    if not job.prefix:
        return f"Bucket {job.bucket!r} is now empty"
    message = f"Nothing is left under the prefix {job.prefix!r} of bucket {job.bucket!r}"
    if not job.prefix.endswith("/"):
        example = job.prefix + "s/…"
        message += f" (a prefix is the start of a key, not a folder: {job.prefix!r} also covers {example!r})"
    return message
