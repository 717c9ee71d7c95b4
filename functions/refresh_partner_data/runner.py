"""Running a refresh plan: its exports a few at a time, then one summary, logged whatever happened."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from lambda_shared.logs import get_logger
from refresh_partner_data.events import RefreshPlan
from refresh_partner_data.exporter import Exporter, ExportResult, object_key

logger = get_logger("refresh_partner_data")

#: Exports running at once: each holds one HTTP stream, one spool file and one upload.
PARALLEL_EXPORTS = 3
#: An export is not started with less time than this left before the deadline.
MIN_SECONDS_PER_EXPORT = 30.0


class RefreshFailed(Exception):
    """Some exports failed; the others were written."""


def run_plan(plan: RefreshPlan, exporter: Exporter, bucket: str, started: float) -> dict[str, Any]:
    """Every export of ``plan``; returns the summary, or raises ``RefreshFailed`` naming the failed
    ones once the summary is logged."""

    def run(job: tuple[str, date]) -> ExportResult:
        dataset, day = job
        if exporter.deadline - exporter.clock() < MIN_SECONDS_PER_EXPORT:
            result = ExportResult(dataset, day, object_key(dataset, day))
            result.error = "not started: the invocation was running out of time"
            logger.error("export skipped", extra=result.summary())
            return result
        return exporter.export(dataset, day)

    jobs = plan.jobs
    with ThreadPoolExecutor(
        max_workers=min(PARALLEL_EXPORTS, len(jobs)), thread_name_prefix="export"
    ) as pool:
        results = list(pool.map(run, jobs))

    failed = [result for result in results if not result.ok]
    totals = {
        "bucket": bucket,
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
