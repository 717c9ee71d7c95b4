"""A large day is streamed: the function's peak memory does not grow with the number of rows.

Each size runs in a fresh process (peak RSS is per process) against the partner API simulator
and moto's S3 server, the way the function runs on Lambda.
"""

import uuid
from pathlib import Path

import pytest

from lambda_host import LambdaProcess, link_packages
from partner_api import PartnerApiSimulator
from partner_data import Volume

FUNCTIONS = Path(__file__).parents[1] / "functions"
LAMBDA_MEMORY_MB = 256


def peak_rss_mb(rows: int, local_aws, runtime_dir: Path, deps_dir: Path, tmp_path: Path) -> float:
    bucket = f"memory-{uuid.uuid4().hex[:12]}"
    s3 = local_aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    with PartnerApiSimulator(volume=Volume(establishments=rows)) as simulator:
        env = {
            **local_aws.environment(),
            "PARTNER_API_URL": simulator.url,
            "DATA_BUCKET": bucket,
            "DATASETS": "establishment",
        }
        with (
            open(tmp_path / f"logs-{rows}.jsonl", "w") as logs,
            LambdaProcess(
                "refresh_partner_data.handler.lambda_handler",
                [FUNCTIONS, deps_dir],
                runtime_dir=runtime_dir,
                env=env,
                stderr=logs,
            ) as function,
        ):
            reply = function.invoke({"date": "2026-11-01"})
    assert reply["ok"], reply
    assert reply["result"]["rows"] == rows
    head = s3.head_object(Bucket=bucket, Key="establishment/2026-11-01.csv")
    assert head["ContentLength"] == reply["result"]["bytes"]
    return reply["max_rss_kb"] / 1024


@pytest.mark.slow
def test_peak_memory_is_flat_from_ten_thousand_to_a_million_rows(local_aws, lambda_runtime_dir, tmp_path):
    deps = link_packages(tmp_path / "deps", ["ijson", "tzdata"])
    small = peak_rss_mb(10_000, local_aws, lambda_runtime_dir, deps, tmp_path)
    large = peak_rss_mb(1_000_000, local_aws, lambda_runtime_dir, deps, tmp_path)
    print(f"peak RSS: {small:.1f} MB at 10,000 rows, {large:.1f} MB at 1,000,000 rows")
    assert large - small < 8, f"{small:.1f} MB -> {large:.1f} MB"
    assert large < LAMBDA_MEMORY_MB * 0.6
