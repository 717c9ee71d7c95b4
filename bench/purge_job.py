"""Purge job benchmark: one bucket over 8 prefixes, purged by the job with 1, 2, 4 and 8 lanes at once.

The bucket lives in the model of S3 (``stand_ins/s3_model.py``: a latency per request, a delete
rate per top-level prefix); the job runs as it does in the tests: moto's Step Functions executes
the state machine, each lane's worker is the built zip in a process of its own, and the purge is
asked for as a partner's integration would, with ``PURGE_INLINE_SECONDS=0`` so that all of it is
the job's. What is measured, per Map concurrency:

* the job's time, from the 202 to the status that says it ended;
* the rate the model accepted deletes at, from its first accepted delete to its last, beside its
  limit (prefixes x the rate per prefix);
* the worker's runs and the execution's history events (Step Functions' quota is 25,000);
* the CPU it took, in the two places it runs here: this process (moto with its Step Functions
  interpreter, the model of S3, the status polling) and the functions' processes (the purge
  function and each lane's worker), beside the CPU the machine had for the job's time.
"""

from __future__ import annotations

import os
import resource
import statistics
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
    runs: int = 1


def run(settings: Settings, purge_zip: Path) -> list[dict[str, Any]]:
    """One row per job run; the concurrencies take turns, run by run, so that a slow spell of
    the machine does not fall on one of them only."""
    rows = []
    for attempt in range(settings.runs):
        for concurrency in settings.concurrencies:
            size = f"{settings.objects:,} objects over {PREFIXES} prefixes"
            print(f"purge job: {size}, {concurrency} lane(s) at once, run {attempt + 1}...", flush=True)
            measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            rows.append(
                {"run": attempt + 1, "measured": measured, **run_one(settings, purge_zip, concurrency)}
            )
    return rows


def by_concurrency(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per concurrency: the median of each figure over its runs, the deleting rate's range, and
    whether every run ended with the bucket empty and its counts exact."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["concurrency"], []).append(row)
    summary = {}
    for concurrency, runs in sorted(grouped.items()):
        rates = [r["deleting_entries_per_second"] or 0.0 for r in runs]
        summary[concurrency] = {
            **{
                name: statistics.median(r[name] for r in runs)
                for name in (
                    "job_seconds",
                    "entries_per_second",
                    "deleting_entries_per_second",
                    "slowdowns",
                    "worker_runs",
                    "history_events",
                    "harness_cpu_seconds",
                    "functions_cpu_seconds",
                    "machine_cpu_seconds",
                )
            },
            "deleting_range": (min(rates), max(rates)),
            "runs": len(runs),
            "all_exact": all(r["counts_exact"] and r["state"] == "succeeded" for r in runs),
            "limit_entries_per_second": runs[0]["limit_entries_per_second"],
            "prefixes": runs[0]["prefixes"],
        }
    return summary


def run_one(settings: Settings, purge_zip: Path, concurrency: int) -> dict[str, Any]:
    target = S3ModelTarget(settings.latency_seconds, settings.deletes_per_second, prefixes=PREFIXES)
    with target, tempfile.TemporaryDirectory(prefix="bench-job-") as work:
        target.reset()
        before = target.fill_purge_bucket(BUCKET, settings.objects)
        target.take_counts()
        stack = PurgeStack(
            target.aws,
            purge_zip,
            Path(work),
            buckets=[BUCKET],
            s3_endpoint=target.endpoint,
            max_concurrency=concurrency,
            inline_seconds=0,
        )
        functions_cpu_before = _children_cpu_seconds()
        with stack:
            started = time.perf_counter()
            harness_cpu_before = time.process_time()
            answer = stack.purge(BUCKET)
            if answer.status != 202:
                raise RuntimeError(f"the purge did not start a job: {answer.status} {answer.body}")
            final = stack.wait(answer.body["job_id"], timeout_seconds=1800, every_seconds=0.25)[-1]
            seconds = time.perf_counter() - started
            harness_cpu = time.process_time() - harness_cpu_before
            history = stack.history(answer.body["job_id"])
            runs = stack.service.invocations.get("partner-data-purge-worker", 0) if stack.service else 0
        # The functions' processes are reaped when the stack stops: their CPU counts from then.
        functions_cpu = _children_cpu_seconds() - functions_cpu_before
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
            "harness_cpu_seconds": harness_cpu,
            "functions_cpu_seconds": functions_cpu,
            "machine_cpu_seconds": seconds * (os.cpu_count() or 1),
            "left": left,
        }


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def markdown(rows: list[dict[str, Any]], settings: Settings) -> list[str]:
    if not rows:
        return []
    summary = by_concurrency(rows)
    first = rows[0]
    limit = first["limit_entries_per_second"]
    runs = max(r["runs"] for r in summary.values())
    out = [
        "",
        "## Purge job: lanes at once",
        "",
        f"One bucket on the model of S3 ({settings.latency_seconds * 1000:.0f} ms per request,"
        f" {settings.deletes_per_second:,.0f} deletes/s per prefix): {first['objects']:,} objects with 2"
        f" versions each and a delete marker on every tenth, spread over {first['prefixes']} top-level"
        f" prefixes ({first['entries']:,} entries). Purged by the job alone (`PURGE_INLINE_SECONDS=0`):"
        " moto's Step Functions runs the state machine, each lane's worker is the built zip in a process"
        " of its own on this machine. The job's time runs from the 202 to the status that says it ended"
        " (polled every 0.25 s); the deleting rate is the model's, from its first accepted delete to its"
        f" last; the limit is {first['prefixes']} prefixes x {settings.deletes_per_second:,.0f}/s"
        f" = {limit:,.0f}/s. CPU: this process (moto, its Step Functions interpreter, the model) and"
        " the functions' processes (each worker's start included), as a share of what the machine's"
        f" CPUs had for the job's time. Medians of {runs} run(s), the concurrencies taking turns,"
        f" measured from {first['measured']}.",
        "",
        "| Lanes at once | Job (s) | Removed/s | Deleting: entries/s (range) | Share of the limit"
        " | Per lane running | SlowDown answers | Worker runs | History events"
        " | CPU: harness + functions (s) | Machine busy | Every run exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for concurrency, r in summary.items():
        deleting = r["deleting_entries_per_second"]
        low, high = r["deleting_range"]
        lanes = min(concurrency, r["prefixes"])
        out.append(
            f"| {concurrency} | {r['job_seconds']:.1f} | {r['entries_per_second']:,.0f}"
            f" | {deleting:,.0f} ({low:,.0f}-{high:,.0f}) | {deleting / limit:.0%} | {deleting / lanes:,.0f}"
            f" | {r['slowdowns']:.0f} | {r['worker_runs']:.0f} | {r['history_events']:.0f} | {_cpu(r)}"
            f" | {_busy(r)} | {'yes' if r['all_exact'] else '**no**'} |"
        )
    return out


def _cpu(row: dict[str, Any]) -> str:
    return f"{row['harness_cpu_seconds']:.1f} + {row['functions_cpu_seconds']:.1f}"


def _busy(row: dict[str, Any]) -> str:
    used = row["harness_cpu_seconds"] + row["functions_cpu_seconds"]
    return f"{used / row['machine_cpu_seconds']:.0%}"
