"""Lambda entry point of the purge endpoint (``handler.lambda_handler`` in the zip).

Two requests reach it: a purge, and the status of a purge job. The order of checks, so the
endpoint reveals nothing it should not:
1. the request's shape (400/405): nothing about any bucket or job is looked at;
2. the password (401, the same body whatever was asked; 503 if it cannot be checked);
3. a status request reads the job (404 when there is none); a purge checks the bucket (403, 404)
   and purges it (``inline``): 200 done, 202 continuing as a job, 409 a purge of that bucket is
   running, 500 S3 refused something.

Every answer leaves within the request's budget (``budget``), and each ends with one log line.
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import Any

from lambda_shared.logs import get_logger
from lambda_shared.parameters import ParameterNotFound, ParameterUnavailable, secure_parameter
from purge_bucket.api import inline
from purge_bucket.api.auth import passwords_match
from purge_bucket.api.budget import Budget
from purge_bucket.api.request import (
    PurgeRequest,
    StatusRequest,
    caller_of,
    is_proxy_event,
    parse_request,
    status_path,
)
from purge_bucket.api.responses import Answer, NotFound, Refusal, Unauthorized, Unavailable
from purge_bucket.clients import STATUS, dynamodb_client, stepfunctions_client
from purge_bucket.config import Settings
from purge_bucket.job import lifecycle
from purge_bucket.job.table import JobTable, TableUnavailable

logger = get_logger("purge_bucket")
#: What an answer's log line copies from its fields.
LOGGED_FIELDS = ("job_id", "state", "deleted", "not_deleted", "refused")


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = Settings.from_environ()
    caller = caller_of(event, context)
    budget = Budget.for_request(context, through_api=is_proxy_event(event), started=started)
    log: dict[str, Any] = {"request_id": caller.request_id, "source_ip": caller.source_ip}
    kind = "purge request"
    try:
        request = parse_request(event)
        if isinstance(request, StatusRequest):
            kind = "status request"
        _check_password(request.password, settings)
        if isinstance(request, PurgeRequest):
            answer = inline.serve(
                request, settings=settings, budget=budget, status_path=status_path(event), log=log
            )
        else:
            answer = _status(request, settings, log)
    except Refusal as refusal:
        answer = refusal.answer()
    log.update(
        status=int(answer.status),
        outcome=answer.outcome,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    log.update({name: answer.fields[name] for name in LOGGED_FIELDS if name in answer.fields})
    logger.log(logging.ERROR if answer.status >= 500 else logging.INFO, kind, extra=log)
    return answer.response()


def _status(request: StatusRequest, settings: Settings, log: dict[str, Any]) -> Answer:
    log["job_id"] = request.job_id
    table = JobTable(dynamodb_client(STATUS), settings.jobs_table, retention_days=settings.retention_days)
    try:
        record = table.get(request.job_id)
    except TableUnavailable as error:
        logger.error("could not read the job", extra={"error": str(error)})
        raise Unavailable("The job's status cannot be read right now; try again") from None
    if record is None:
        raise NotFound(
            f"No purge has this job id (a finished job's status is kept {settings.retention_days} days)",
            job_id=request.job_id,
        )
    log.update(bucket=record.bucket, prefix=record.prefix)
    status = lifecycle.status(
        record,
        stepfunctions=stepfunctions_client(),
        state_machine_arn=settings.state_machine_arn,
        now=time.time(),
    )
    message = status.pop("message")
    return Answer(HTTPStatus.OK, "status", message, status)


def _check_password(given: str, settings: Settings) -> None:
    """Raises ``Unauthorized`` unless ``given`` is the stored password (``Unavailable`` when it
    cannot be read)."""
    if not passwords_match(given, _stored_password(settings)):
        raise Unauthorized


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
        raise Unavailable("The password cannot be checked right now; try again later") from None
    if not stored.strip():
        logger.error("password parameter is empty: every request is denied")
        return ""
    return stored
