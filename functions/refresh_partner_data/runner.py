"""Running a refresh plan: its exports a few at a time, then one summary, logged whatever happened.

An export is started only if it can finish: with at least ``MIN_FETCH_SECONDS``, or the longest
export so far if that is more, left before fetching must stop (the exporter's deadline less the
upload's reserve). The ones not started are named in the summary and in ``RefreshFailed``, with the
event that refreshes exactly the rest (``rerun``): finishing a backfill is one more invocation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from lambda_shared.logs import get_logger
from refresh_partner_data.events import RefreshPlan
from refresh_partner_data.exporter import (
    UPLOAD_RESERVE_SECONDS,
    Exporter,
    ExportResult,
    export_metrics,
    object_key,
)

logger = get_logger("refresh_partner_data")

#: Exports running at once: each holds one HTTP stream, one spool file and one upload.
PARALLEL_EXPORTS = 3
#: An export is not started with less time than this left before fetching must stop.
MIN_FETCH_SECONDS = 30.0


class RefreshFailed(Exception):
    """Some exports failed; the others were written."""


def run_plan(plan: RefreshPlan, exporter: Exporter, bucket: str, started: float) -> dict[str, Any]:
    """Every export of ``plan``; returns the summary, or raises ``RefreshFailed`` naming the failed
    ones once the summary is logged."""
    longest = _Longest(MIN_FETCH_SECONDS)

    def run(job: tuple[str, date]) -> ExportResult:
        dataset, day = job
        fetch_time_left = exporter.deadline - UPLOAD_RESERVE_SECONDS - exporter.clock()
        if fetch_time_left < longest.seconds:
            result = ExportResult(dataset, day, object_key(dataset, day), not_started=True)
            result.error = (
                f"not started: {max(fetch_time_left, 0):.0f} s of fetching left,"
                f" an export may take {longest.seconds:.0f} s"
            )
            export_metrics(result)
            return result
        result = exporter.export(dataset, day)
        longest.saw(result.duration_ms / 1000)
        return result

    jobs = plan.jobs
    with ThreadPoolExecutor(
        max_workers=min(PARALLEL_EXPORTS, len(jobs)), thread_name_prefix="export"
    ) as pool:
        results = list(pool.map(run, jobs))

    not_started = [result for result in results if result.not_started]
    failed = [result for result in results if not result.ok and not result.not_started]
    totals = {
        "bucket": bucket,
        "first_day": plan.days[0].isoformat(),
        "last_day": plan.days[-1].isoformat(),
        "written": sum(result.ok for result in results),
        "already_written": sum(result.already_written for result in results),
        "failed": len(failed),
        "not_started": len(not_started),
        "rows": sum(result.rows for result in results),
        "bytes": sum(result.bytes for result in results),
        "duration_ms": round((time.monotonic() - started) * 1000),
    }
    rerun = _rest_of(plan, not_started)
    if rerun:
        totals["rerun"] = rerun
    # Each export already logged its own line; this one stays small however long the backfill.
    logger.log(
        logging.ERROR if failed or not_started else logging.INFO,
        "refresh finished",
        extra={**totals, "failed_keys": [result.key for result in failed][:50]},
    )
    if failed or not_started:
        raise RefreshFailed(_failure_message(results, failed, not_started, rerun))
    return {**totals, "exports": [result.summary() for result in results]}


class _Longest:
    """The longest export so far, and at least ``floor`` seconds (exports run in threads)."""

    def __init__(self, floor: float) -> None:
        self.seconds = floor
        self._lock = threading.Lock()

    def saw(self, seconds: float) -> None:
        with self._lock:
            self.seconds = max(self.seconds, seconds)


def _rest_of(plan: RefreshPlan, not_started: list[ExportResult]) -> dict[str, Any] | None:
    """The event that refreshes what was not started: from its first day to the plan's last, for
    the datasets concerned (a day already written is written again, whole)."""
    if not not_started:
        return None
    event: dict[str, Any] = {
        "start_date": min(result.day for result in not_started).isoformat(),
        "end_date": plan.days[-1].isoformat(),
    }
    datasets = [name for name in plan.datasets if any(r.dataset == name for r in not_started)]
    if datasets != list(plan.datasets):
        event["datasets"] = datasets
    return event


def _failure_message(
    results: list[ExportResult],
    failed: list[ExportResult],
    not_started: list[ExportResult],
    rerun: dict[str, Any] | None,
) -> str:
    parts = []
    if failed:
        names = ", ".join(f"{r.key} ({r.error})" for r in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        parts.append(f"{len(failed)} of {len(results)} exports failed: {names}{more}")
    if not_started and rerun:
        days = f"{rerun['start_date']} to {rerun['end_date']}"
        parts.append(
            f"{len(not_started)} of {len(results)} exports were not started for lack of time"
            f" (days {days}); to refresh them, invoke with {json.dumps(rerun)}"
        )
    return "; ".join(parts)
