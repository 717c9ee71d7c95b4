"""Lambda entry point for the nightly refresh (``handler.lambda_handler`` in the zip).

Every (dataset, day) in the plan is attempted, a few at a time. The handler returns a summary
per export and logs it; when any export failed it then raises ``RefreshFailed`` naming them, so
Lambda's asynchronous retries and on-failure destination fire. Nothing it raises or logs carries
the partner API token.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import urllib3

from lambda_shared import aws
from lambda_shared.logs import get_logger
from lambda_shared.parameters import ParameterError, secure_parameter
from refresh_partner_data.config import Settings
from refresh_partner_data.events import plan_from_event
from refresh_partner_data.export import Exporter, ExportResult, object_key
from refresh_partner_data.partner_client import PartnerApi, RetryPolicy

logger = get_logger("refresh_partner_data")

#: Exports running at once: each holds one HTTP stream, one spool file and one upload.
PARALLEL_EXPORTS = 3
#: An export is not started with less time than this left before the Lambda timeout.
MIN_SECONDS_PER_EXPORT = 30.0
RETRY_POLICY = RetryPolicy()
HTTP_TIMEOUT = urllib3.Timeout(connect=10.0, read=60.0)


class RefreshFailed(Exception):
    """Some exports failed; the others were written."""


def now() -> datetime:
    return datetime.now(UTC)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = Settings.from_environ()
    today = now().astimezone(settings.timezone).date()
    plan = plan_from_event(event, today=today, configured=settings.datasets)
    api = PartnerApi(settings.api_url, _token(settings), timeout=HTTP_TIMEOUT)

    deadline = started + _remaining_seconds(context)
    exporter = Exporter(
        api,
        aws.client("s3"),
        settings.bucket,
        policy=RETRY_POLICY,
        remaining_seconds=lambda: deadline - time.monotonic() - MIN_SECONDS_PER_EXPORT / 2,
    )

    def run(job: tuple[str, Any]) -> ExportResult:
        dataset, day = job
        if deadline - time.monotonic() < MIN_SECONDS_PER_EXPORT:
            result = ExportResult(dataset, day, object_key(dataset, day))
            result.error = "not started: the invocation was running out of time"
            logger.error("export skipped", extra=result.summary())
            return result
        return exporter.export(dataset, day)

    jobs = plan.jobs
    workers = min(PARALLEL_EXPORTS, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
        results = list(pool.map(run, jobs))

    failed = [result for result in results if not result.ok]
    totals = {
        "bucket": settings.bucket,
        "first_day": plan.days[0].isoformat(),
        "last_day": plan.days[-1].isoformat(),
        "written": len(results) - len(failed),
        "failed": len(failed),
        "rows": sum(result.rows for result in results),
        "bytes": sum(result.bytes for result in results),
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    # Each export already logged its own line; this one stays small however long the backfill.
    logger.log(
        logging.ERROR if failed else logging.INFO,
        "refresh finished",
        extra={**totals, "failed_keys": [result.key for result in failed][:50]},
    )
    if failed:
        names = ", ".join(f"{r.key} ({r.error})" for r in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        raise RefreshFailed(f"{len(failed)} of {len(results)} exports failed: {names}{more}")
    return {**totals, "exports": [result.summary() for result in results]}


def _token(settings: Settings) -> str | None:
    name = settings.token_parameter
    if not name:
        return None
    try:
        token = secure_parameter(name).value()
    except ParameterError as error:
        raise RefreshFailed(f"the partner API token could not be read: {error}") from None
    return token or None


def _remaining_seconds(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else float(timedelta(minutes=15).total_seconds())
