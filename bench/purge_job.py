"""Purge job benchmark: one bucket over 8 prefixes, purged by the job with 1, 2, 4 and 8 lanes at once.

The bucket lives in the model of S3 (``stand_ins/s3_model.py``: a latency per request, a delete
rate per top-level prefix); the job runs as it does in the tests: moto's Step Functions executes
the state machine, each lane's worker is the built zip in a process of its own, and the purge is
asked for as a partner's integration would, with ``PURGE_INLINE_SECONDS=0`` so that all of it is
the job's. What is measured, per Map concurrency:

* the job's time, from the 202 to the status that says it ended;
* the rate the model accepted deletes at, from its first accepted delete to its last, beside its
  limit (prefixes x the rate per prefix);
* the worker's runs and the execution's history events (Step Functions' quota is 25,000).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.s3_model_target import S3ModelTarget
from stand_ins.purge_stack import PurgeStack

BUCKET = "bench-purge-job"
PREFIXES = 8
CONCURRENCIES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Settings:
    objects: int
    latency_seconds: float
    deletes_per_second: float
    concurrencies: tuple[int, ...] = CONCURRENCIES


def run(settings: Settings, purge_zip: Path) -> list[dict[str, Any]]:
    rows = []
    for concurrency in settings.concurrencies:
        size = f"{settings.objects:,} objects over {PREFIXES} prefixes"
        print(f"purge job: {size}, {concurrency} lane(s) at once...", flush=True)
        rows.append(run_one(settings, purge_zip, concurrency))
    return rows


def run_one(settings: Settings, purge_zip: Path, concurrency: int) -> dict[str, Any]:
    target = S3ModelTarget(settings.latency_seconds, settings.deletes_per_second, prefixes=PREFIXES)
    with target, tempfile.TemporaryDirectory(prefix="bench-job-") as work:
        target.reset()
        before = target.fill_purge_bucket(BUCKET, settings.objects)
        target.take_counts()
        stack = PurgeStack(
            target._ssm,
            purge_zip,
            Path(work),
            buckets=[BUCKET],
            s3_endpoint=target.endpoint,
            max_concurrency=concurrency,
            inline_seconds=0,
        )
        with stack:
            started = time.perf_counter()
            answer = stack.purge(BUCKET)
            if answer.status != 202:
                raise RuntimeError(f"the purge did not start a job: {answer.status} {answer.body}")
            final = stack.wait(answer.body["job_id"], timeout_seconds=1800, every_seconds=0.25)[-1]
            seconds = time.perf_counter() - started
            history = stack.history(answer.body["job_id"])
            runs = stack.service.invocations.get("partner-data-purge-worker", 0) if stack.service else 0
        left = target.inventory(BUCKET)
        removed = sum(before.values()) - sum(left.values())
        return {
            "concurrency": concurrency,
            "prefixes": PREFIXES,
            "objects": settings.objects,
            "entries": sum(before.values()),
            "removed": removed,
            "state": final.body["state"],
            "counted": final.body["deleted"],
            "counts_exact": final.body["deleted"] == {k: before[k] - left[k] for k in before},
            "job_seconds": seconds,
            "entries_per_second": removed / seconds,
            "deleting_entries_per_second": target.deletes_admitted().per_second(),
            "limit_entries_per_second": settings.deletes_per_second * PREFIXES,
            "slowdowns": target.slowdowns(),
            "worker_runs": runs,
            "history_events": len(history),
            "left": left,
        }


def markdown(rows: list[dict[str, Any]], settings: Settings) -> list[str]:
    if not rows:
        return []
    limit = rows[0]["limit_entries_per_second"]
    out = [
        "",
        "## Purge job: lanes at once",
        "",
        f"One bucket on the model of S3 ({settings.latency_seconds * 1000:.0f} ms per request,"
        f" {settings.deletes_per_second:,.0f} deletes/s per prefix): {rows[0]['objects']:,} objects with 2"
        f" versions each and a delete marker on every tenth, spread over {rows[0]['prefixes']} top-level"
        " prefixes"
        f" ({rows[0]['entries']:,} entries). Purged by the job alone (`PURGE_INLINE_SECONDS=0`): moto's"
        " Step Functions runs the state machine, each lane's worker is the built zip in a process of its"
        " own on this machine. The job's time runs from the 202 to the status that says it ended (polled"
        f" every 0.25 s); the deleting rate is the model's, from its first accepted delete to its last;"
        f" the limit is {rows[0]['prefixes']} prefixes x {settings.deletes_per_second:,.0f}/s"
        f" = {limit:,.0f}/s.",
        "",
        "| Lanes at once | Job (s) | Removed/s | Deleting: entries/s | Share of the limit | Per lane running"
        " | SlowDown answers | Worker runs | History events | Counts exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        deleting = r["deleting_entries_per_second"] or 0.0
        lanes = min(r["concurrency"], r["prefixes"])
        out.append(
            f"| {r['concurrency']} | {r['job_seconds']:.1f} | {r['entries_per_second']:,.0f}"
            f" | {deleting:,.0f} | {deleting / limit:.0%} | {deleting / lanes:,.0f} | {r['slowdowns']}"
            f" | {r['worker_runs']}"
            f" | {r['history_events']} | {'yes' if r['counts_exact'] else '**no**'} ({r['state']}) |"
        )
    return out
