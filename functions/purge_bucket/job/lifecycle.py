"""A purge job: its id, its start as a Step Functions execution, and its status as partners read it.

The execution is named after the job, so the job's id is all a status request needs. Its state
comes from the job's record (``table``), which each run of the worker adds its counts to; the
execution's own status overrides a record still ``running`` when the execution has ended (a
state machine that failed before it could record why).
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared.aws import error_code
from lambda_shared.logs import get_logger
from purge_bucket.job.table import FAILED, INLINE, RUNNING, SUCCEEDED, JobRecord

logger = get_logger("purge_bucket")

#: How long after its answer was due a record of an inline run may still say ``running`` before
#: the run is taken to have stopped without recording its end (its function crashed).
INLINE_GRACE_SECONDS = 60.0
_EXECUTION_STATES = {"RUNNING": RUNNING, "SUCCEEDED": SUCCEEDED}


class StartFailed(Exception):
    """Step Functions did not start the job's execution; the message says why."""


def new_job_id(now: datetime | None = None) -> str:
    """When the purge started (UTC, to the second) and 64 random bits: unique, and sorted by time."""
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(8)}"


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    """arn:...:stateMachine:<name> -> arn:...:execution:<name>:<job id>."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{job_id}"


def start(stepfunctions: Any, state_machine_arn: str, job_id: str) -> None:
    """Starts the job's execution; its input names the job only (the worker reads the rest from
    the job's record, which only a request with the password writes)."""
    if not state_machine_arn:
        raise StartFailed("no state machine is configured (JOB_STATE_MACHINE_ARN)")
    try:
        stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=job_id, input=json.dumps({"job_id": job_id})
        )
    except (ClientError, BotoCoreError) as error:
        raise StartFailed(f"Step Functions refused to start the job: {error_code(error)}") from None


def status(record: JobRecord, *, stepfunctions: Any, state_machine_arn: str, now: float) -> dict[str, Any]:
    """The job's state, counts, refusals and times, in the fields the purge's answers use."""
    state, ended_at, message = record.state, record.ended_at, record.message
    counts_exact = record.counts_exact
    if state == RUNNING and record.mode == INLINE and now > record.answer_by + INLINE_GRACE_SECONDS:
        state, message = FAILED, "The purge stopped before it could record how it ended; send it again"
        counts_exact = False
    elif state == RUNNING and record.mode != INLINE:
        execution = _execution(stepfunctions, state_machine_arn, record.job_id)
        if execution is not None and execution.get("status") != "RUNNING":
            state = _EXECUTION_STATES.get(str(execution.get("status")), FAILED)
            ended_at = _seconds(execution.get("stopDate")) or ended_at
            message = (
                f"The purge job ended {execution.get('status')} before it could record how"
                f" ({execution.get('error') or 'no error given'}); send the purge again for the rest"
            )
            counts_exact = False
    if state == RUNNING:
        counts = record.deleted
        message = (
            f"The purge job is running: {counts.versions} versions, {counts.delete_markers} delete"
            f" markers, {counts.multipart_uploads} multipart uploads deleted so far"
        )
    fields: dict[str, Any] = {
        "job_id": record.job_id,
        "state": state,
        "bucket_name": record.bucket,
        "prefix": record.prefix,
        "deleted": record.deleted.as_dict(),
        "started_at": _iso(record.started_at),
        "ended_at": _iso(ended_at) if state != RUNNING and ended_at else None,
    }
    for name in ("not_deleted", "refused", "still_listed"):
        value = getattr(record, name)
        if value is not None:
            fields[name] = value
    if not counts_exact:
        fields["counts_exact"] = False
    return {"message": message, **fields}


def _execution(stepfunctions: Any, state_machine_arn: str, job_id: str) -> dict[str, Any] | None:
    try:
        return stepfunctions.describe_execution(executionArn=execution_arn(state_machine_arn, job_id))
    except (ClientError, BotoCoreError) as error:
        # The record alone answers: it is the counts' source, and it says running.
        logger.warning("could not read the job's execution", extra={"error": error_code(error)})
        return None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(value: Any) -> float | None:
    """A timestamp as botocore returns it here: a datetime, or (timestamps left unparsed, see
    lambda_shared/aws.py) the epoch seconds or ISO text AWS sent."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value).timestamp()
            except ValueError:
                return None
    return None
