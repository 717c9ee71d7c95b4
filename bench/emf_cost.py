"""The cold-start cost of writing one EMF line: aws-lambda-powertools' Metrics against the small
writer the functions use (functions/lambda_shared/metrics.py). docs/deploy-and-operate.md
("Metrics") quotes it.

Each sample is a fresh interpreter as Lambda starts one (``-I -S``: only the code's own folders on
the path), on this Python (3.13 in .venv, the Lambda runtime's version); it times the import and
the first line written. powertools is installed into a scratch folder (``pip install --target``).

    .venv/bin/python -m bench.emf_cost [--samples 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

POWERTOOLS_VERSION = "3.37.0"
ROOT = Path(__file__).resolve().parents[1]

POWERTOOLS = """
import io, sys, time
sys.path.insert(0, PATH)
started = time.perf_counter()
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
imported = time.perf_counter()
metrics = Metrics(namespace="partner-data", service="refresh")
metrics.add_dimension(name="Dataset", value="sale")
metrics.add_metric(name="ExportRows", unit=MetricUnit.Count, value=100)
sys.stdout = io.StringIO()
metrics.flush_metrics()
sys.stdout = sys.__stdout__
written = time.perf_counter()
print((imported - started) * 1000, (written - imported) * 1000)
"""
SMALL_WRITER = """
import io, sys, time
sys.path.insert(0, PATH)
started = time.perf_counter()
from lambda_shared import metrics
imported = time.perf_counter()
metrics.emit({"Dataset": "sale"}, {"ExportRows": 100}, stream=io.StringIO())
written = time.perf_counter()
print((imported - started) * 1000, (written - imported) * 1000)
"""


def samples(code: str, path: str, count: int) -> tuple[float, float]:
    imports, writes = [], []
    for _ in range(count):
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-c", f"PATH = {path!r}\n{code}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        imports.append(float(out[0]))
        writes.append(float(out[1]))
    return statistics.median(imports), statistics.median(writes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", scratch, f"aws-lambda-powertools=={POWERTOOLS_VERSION}"],
            check=True,
        )  # fmt: skip
        print(f"Python {sys.version.split()[0]}, {args.samples} fresh interpreters each, medians:")
        for name, code, path in (
            (f"powertools {POWERTOOLS_VERSION} Metrics", POWERTOOLS, scratch),
            ("lambda_shared/metrics.py", SMALL_WRITER, str(ROOT / "functions")),
        ):
            imported, written = samples(code, path, args.samples)
            print(f"  {name}: import {imported:.1f} ms, first line {written:.2f} ms")


if __name__ == "__main__":
    main()
