"""Purge benchmark: the same prepared bucket, emptied by each contender in turn.

The bucket: ``objects`` keys with two versions each, a delete marker on every tenth key and five
incomplete multipart uploads. Each contender runs in its own process against the same local S3
endpoint, on a fresh copy of the bucket; the endpoint counts its requests, and what is left in
the bucket afterwards is counted too.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from bench.counting_s3 import BenchS3
from bench.s3_model_target import S3ModelTarget
from bench.seaweedfs_s3 import SeaweedBenchS3
from stand_ins.lambda_host import LambdaProcess
from stand_ins.local_system import JOBS_TABLE, create_jobs_table

HERE = Path(__file__).resolve().parent
BUCKET = "bench-purge"
PASSWORD_PARAMETER = "/bench/purge-password"  # noqa: S105 - a parameter name
PASSWORD = "bench-purge-password"  # noqa: S105 - a throwaway for the local benchmark
WRONG_PASSWORD = "not-the-bench-password"  # noqa: S105 - refused on purpose
LIST_OPERATIONS = {"ListObjectVersions", "ListObjectsV2", "ListObjects", "ListMultipartUploads", "HeadBucket"}
DELETE_OPERATIONS = {"DeleteObjects", "DeleteObject"}


@dataclass(frozen=True)
class Setup:
    """What the contenders need: the server, the unpacked purge zip, the interpreters and tools."""

    s3: BenchS3 | SeaweedBenchS3 | S3ModelTarget
    code_dir: Path
    runtime_dir: Path
    python: str
    tools_dir: Path | None


@dataclass(frozen=True)
class Contender:
    name: str
    how: str
    #: Returns what the contender said about its outcome, and, for a handler, how long the
    #: purge took once its process had served a request (a warm Lambda) or None.
    run: Callable[[Setup], tuple[str, float | None]]
    tool: str | None = None
    #: Lists current objects (ListObjectsV2), which the model of S3 does not serve.
    lists_current_objects: bool = False


def _ours(setup: Setup) -> tuple[str, float | None]:
    env = {
        **setup.s3.environment(),
        "PASSWORD_PARAMETER": PASSWORD_PARAMETER,
        "ALLOWED_BUCKETS": BUCKET,
        "JOBS_TABLE": JOBS_TABLE,
    }
    with LambdaProcess.of_package(
        setup.code_dir, setup.runtime_dir, env=env, python=setup.python, stderr=subprocess.DEVNULL
    ) as function:
        # The host imports the handler at its first event: a request with a wrong password first,
        # so that the purge is timed as a warm Lambda serves it (boto3 imported, the password read).
        warm_up = function.invoke({"bucket_name": BUCKET, "password": WRONG_PASSWORD})
        if not warm_up.get("ok") or warm_up["result"]["statusCode"] != HTTPStatus.UNAUTHORIZED:
            return f"warm-up answered {warm_up.get('result', warm_up)}", None
        # The direct-invocation shape: no API Gateway 29 s budget, so a large bucket is purged in
        # one invocation here instead of in a job (the job's lanes: bench/purge_job.py).
        started = time.perf_counter()
        reply = function.invoke({"bucket_name": BUCKET, "password": PASSWORD})
        warm = time.perf_counter() - started
    if not reply.get("ok"):
        return f"error {reply.get('error_type')}", warm
    status = reply["result"]["statusCode"]
    if status != HTTPStatus.OK:  # What the purge said about it, for the results.
        return f"HTTP {status}: {json.loads(reply['result'].get('body') or '{}').get('message')}", warm
    return f"HTTP {status}", warm


def _original_runbook(setup: Setup) -> tuple[str, float | None]:
    result = subprocess.run(
        [sys.executable, str(HERE / "contenders" / "runbook_purge.py"), "--bucket", BUCKET],
        env=_env(setup),
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(result.stdout or "{}").get("message", f"exit {result.returncode}"), None


def _awscli(setup: Setup) -> tuple[str, float | None]:
    assert setup.tools_dir is not None
    result = subprocess.run(
        [
            str(setup.tools_dir / "aws"),
            "s3",
            "rm",
            f"s3://{BUCKET}",
            "--recursive",
            "--only-show-errors",
            "--endpoint-url",
            setup.s3.endpoint,
        ],
        env=_env(setup),
        capture_output=True,
        text=True,
        check=False,
    )
    return f"exit {result.returncode}", None


def _s5cmd(setup: Setup) -> tuple[str, float | None]:
    assert setup.tools_dir is not None
    result = subprocess.run(
        [
            str(setup.tools_dir / "s5cmd"),
            "--endpoint-url",
            setup.s3.endpoint,
            "--log",
            "error",
            "--numworkers",
            "256",
            "rm",
            "--all-versions",
            f"s3://{BUCKET}/*",
        ],
        env=_env(setup),
        capture_output=True,
        text=True,
        check=False,
    )
    return f"exit {result.returncode}", None


def _env(setup: Setup) -> dict[str, str]:
    return {**os.environ, **setup.s3.environment(), "AWS_PAGER": ""}


CONTENDERS = (
    Contender("partner-data purge", "this project's handler (purge_bucket.zip), direct invocation", _ours),
    Contender(
        "original runbook",
        "list_objects_v2 then list_object_versions pages, one DeleteObjects each",
        _original_runbook,
        lists_current_objects=True,
    ),
    Contender(
        "aws s3 rm --recursive",
        "awscli 1.x, current objects only, one DeleteObject per key",
        _awscli,
        "aws",
        lists_current_objects=True,
    ),
    Contender("s5cmd rm --all-versions", "s5cmd 2.x, 256 workers", _s5cmd, "s5cmd"),
)


def run_contender(setup: Setup, contender: Contender, objects: int, runs: int) -> dict[str, Any]:
    attempts = []
    for _ in range(runs):
        setup.s3.reset()
        setup.s3.client("ssm").put_parameter(Name=PASSWORD_PARAMETER, Value=PASSWORD, Type="SecureString")
        create_jobs_table(setup.s3.client("dynamodb"))
        before = setup.s3.fill_purge_bucket(BUCKET, objects)
        cpu_before = _children_cpu_seconds()
        started = time.perf_counter()
        outcome, warm_seconds = contender.run(setup)
        seconds = time.perf_counter() - started
        cpu_seconds = _children_cpu_seconds() - cpu_before
        requests = setup.s3.take_counts()
        model = _model_figures(setup.s3)
        left = setup.s3.inventory(BUCKET)
        removed = (before["versions"] + before["delete_markers"]) - (
            left["versions"] + left["delete_markers"]
        )
        attempts.append(
            {
                "seconds": seconds,
                "removed": removed,
                "entries_per_second": max(removed, 0) / seconds,
                "warm_seconds": warm_seconds,
                "client_cpu_seconds": cpu_seconds,
                "requests": requests,
                "before": before,
                "left": left,
                "outcome": outcome,
                **model,
            }
        )
    median = sorted(attempts, key=lambda a: a["seconds"])[len(attempts) // 2]
    requests = median["requests"]
    delete_requests = sum(n for op, n in requests.items() if op in DELETE_OPERATIONS)
    removed = median["removed"]
    warm_rates = [max(a["removed"], 0) / a["warm_seconds"] for a in attempts if a["warm_seconds"]]
    return {
        "name": contender.name,
        "how": contender.how,
        "runs": attempts,
        "median_seconds": statistics.median(a["seconds"] for a in attempts),
        "median_entries_per_second": statistics.median(a["entries_per_second"] for a in attempts),
        "median_warm_entries_per_second": statistics.median(warm_rates) if warm_rates else None,
        "requests": requests,
        "list_requests": sum(n for op, n in requests.items() if op in LIST_OPERATIONS),
        "delete_requests": delete_requests,
        "abort_requests": requests.get("AbortMultipartUpload", 0),
        "deletes_per_1000_removed": 1000 * delete_requests / removed if removed > 0 else None,
        "client_cpu_ms_per_1000_removed": (
            1_000_000 * statistics.median(a["client_cpu_seconds"] for a in attempts) / removed
            if removed > 0
            else None
        ),
        "range_entries_per_second": [
            min(a["entries_per_second"] for a in attempts),
            max(a["entries_per_second"] for a in attempts),
        ],
        **_model_medians(setup.s3, attempts),
        "left": median["left"],
        "left_behind": any(sum(a["left"].values()) for a in attempts),
        "outcome": median["outcome"],
    }


def _model_figures(s3: BenchS3 | SeaweedBenchS3 | S3ModelTarget) -> dict[str, Any]:
    """What only the model of S3 measures: the rate kept while deleting, and its SlowDowns."""
    if not isinstance(s3, S3ModelTarget):
        return {}
    return {"deleting_entries_per_second": s3.deletes_admitted().per_second(), "slowdowns": s3.slowdowns()}


def _model_medians(
    s3: BenchS3 | SeaweedBenchS3 | S3ModelTarget, attempts: list[dict[str, Any]]
) -> dict[str, Any]:
    rates = [a["deleting_entries_per_second"] for a in attempts if a.get("deleting_entries_per_second")]
    if not isinstance(s3, S3ModelTarget) or not rates:
        return {}
    return {
        "median_deleting_entries_per_second": statistics.median(rates),
        "range_deleting_entries_per_second": [min(rates), max(rates)],
        "median_slowdowns": statistics.median(a["slowdowns"] for a in attempts),
        "limit_entries_per_second": s3.deletes_per_second * s3.prefixes,
    }


def _children_cpu_seconds() -> float:
    """CPU used by this process's finished children: the contender's processes, once reaped. The
    S3 server is not among them (moto runs in this process; a SeaweedFS is reaped only when the
    next run replaces it, after this run's reading)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def available(contender: Contender, tools_dir: Path | None) -> bool:
    return contender.tool is None or (
        tools_dir is not None and shutil.which(contender.tool, path=str(tools_dir)) is not None
    )
