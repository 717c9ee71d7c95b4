"""Refresh benchmark: a day of partner data to a CSV in S3, by this project's handler and by the
naive approach (whole response in memory, csv.DictWriter, upload_file).

Both run in a fresh process per measurement (peak RSS is per process), on the same interpreter,
against the partner API simulator and the same local S3 endpoint.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.counting_s3 import BenchS3
from stand_ins.lambda_host import LambdaProcess
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume, row_count

HERE = Path(__file__).resolve().parent
BUCKET = "bench-refresh"
DAY = date(2026, 11, 27)


@dataclass(frozen=True)
class Setup:
    s3: BenchS3
    simulator: PartnerApiSimulator
    code_dir: Path
    runtime_dir: Path
    python: str


def _ours(setup: Setup, table: str) -> dict[str, Any]:
    env = {
        **setup.s3.environment(),
        "PARTNER_API_URL": setup.simulator.url,
        "DATA_BUCKET": BUCKET,
        "DATASETS": table,
    }
    started = time.perf_counter()
    with LambdaProcess.of_package(
        setup.code_dir, setup.runtime_dir, env=env, python=setup.python, stderr=subprocess.DEVNULL
    ) as function:
        reply = function.invoke({"date": DAY.isoformat(), "datasets": [table]})
    seconds = time.perf_counter() - started
    if not reply.get("ok"):
        raise RuntimeError(f"the handler failed: {reply.get('error_type')}: {reply.get('error_message')}")
    return {"seconds": seconds, "rows": reply["result"]["rows"], "peak_rss_kb": reply["max_rss_kb"]}


def _naive(setup: Setup, table: str) -> dict[str, Any]:
    started = time.perf_counter()
    report = _run_script(setup, HERE / "contenders" / "naive_refresh.py", [setup.runtime_dir], table)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": report["rows"], "peak_rss_kb": report["peak_rss_kb"]}


def _run_script(setup: Setup, script: Path, path: list[Path], table: str, *extra: str) -> dict[str, Any]:
    """Runs a bench script on the functions' interpreter, with ``path`` as its PYTHONPATH, against
    the simulator and the bench bucket; returns the JSON it prints."""
    env = {
        **os.environ,
        **setup.s3.environment(),
        "PYTHONPATH": os.pathsep.join(str(folder) for folder in path),
    }
    result = subprocess.run(
        [
            setup.python,
            str(script),
            "--url",
            setup.simulator.url,
            "--bucket",
            BUCKET,
            "--table",
            table,
            "--date",
            DAY.isoformat(),
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"{script.name} failed: {result.stderr[-500:]}")
    return json.loads(result.stdout)


CONTENDERS = {
    "partner-data refresh": (
        "this project's handler (refresh_partner_data.zip): streamed, spooled, multipart",
        _ours,
    ),
    "naive": ("json.loads of the whole body, csv.DictWriter, upload_file (the original's approach)", _naive),
}


def run_case(setup: Setup, table: str, volume: Volume, runs: int) -> dict[str, Any]:
    """Every contender on one dataset-day; medians over ``runs``."""
    setup.simulator.state.volume = volume
    expected = row_count(table, DAY, volume)
    results = {}
    for name, (how, run) in CONTENDERS.items():
        attempts = []
        for _ in range(runs):
            attempt = run(setup, table)
            if attempt["rows"] != expected:
                raise RuntimeError(f"{name} wrote {attempt['rows']} rows of {expected}")
            attempts.append(attempt)
        seconds = statistics.median(a["seconds"] for a in attempts)
        results[name] = {
            "how": how,
            "runs": attempts,
            "median_seconds": seconds,
            "rows_per_second": expected / seconds,
            "median_peak_rss_mb": statistics.median(a["peak_rss_kb"] for a in attempts) / 1024,
        }
    return {"table": table, "rows": expected, "contenders": results}


#: The breakdown's stages, each the difference between two cumulative measurements.
STAGES = (
    ("parse (ijson, C backend)", "parse_only", None),
    ("rows to the CSV spool (checked, turned into fields, written)", "parse_csv", "parse_only"),
    ("HTTP read and byte checks", "fetch", "parse_csv"),
    ("upload (S3 multipart, from the spool file)", "upload", None),
)


def stages(setup: Setup, table: str, volume: Volume, runs: int) -> dict[str, Any]:
    """Where one export's time goes (bench/refresh_stages.py, warm, in the functions' interpreter)."""
    setup.simulator.state.volume = volume
    report = _run_script(
        setup, HERE / "refresh_stages.py", [setup.code_dir, setup.runtime_dir], table, "--runs", str(runs)
    )
    seconds = report["seconds"]
    total = seconds["fetch"] + seconds["upload"]
    breakdown = [
        {
            "stage": label,
            "seconds": seconds[measured] - (seconds[before] if before else 0.0),
        }
        for label, measured, before in STAGES
    ]
    for stage in breakdown:
        stage["share"] = stage["seconds"] / total
    return {
        "table": table,
        "rows": report["rows"],
        "ijson_backend": report["ijson_backend"],
        "runs": runs,
        "parse_only_rows_per_second": report["rows"] / seconds["parse_only"],
        "export_rows_per_second": report["rows"] / total,
        "export_share_of_parse_only": seconds["parse_only"] / total,
        "stages": breakdown,
    }
