"""A large day is streamed: the function's peak memory does not grow with the number of rows.

The usual day's spool is the CSV file itself, and the upload reads its parts from disk as they go
(s3_upload.upload_csv_file): from 10,000 rows (one PutObject) to 2,000,000 (a 45 MiB multipart
upload, two parts in flight) memory grows only by what the upload's threads and connections
cost, far below the parts themselves; twice the rows again must cost no more memory.

Each size runs in a fresh process (peak RSS is per process) against the partner API simulator
and moto's S3 server, the way the function runs on Lambda.
"""

import uuid
from pathlib import Path

import pytest

from refresh_partner_data.s3_upload import UPLOAD_MEMORY_BYTES
from stand_ins.lambda_host import LambdaProcess, link_packages
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume

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
    print(f"{rows:,} rows: {head['ContentLength'] / 2**20:.1f} MiB of CSV")
    return reply["max_rss_kb"] / 1024


@pytest.mark.slow(seconds=60)
def test_peak_memory_is_bounded_by_the_upload_parts_not_the_rows(local_aws, lambda_runtime_dir, tmp_path):
    deps = link_packages(tmp_path / "deps", ["ijson", "tzdata"])
    sizes = (10_000, 2_000_000, 4_000_000)
    peaks = [peak_rss_mb(rows, local_aws, lambda_runtime_dir, deps, tmp_path) for rows in sizes]
    small, large, larger = peaks
    print("peak RSS:", ", ".join(f"{mb:.1f} MB at {n:,} rows" for mb, n in zip(peaks, sizes, strict=True)))
    # Measured here: +5.6 MB (the upload's two threads and their connections; four took +9.5 MB),
    # where holding the parts in memory (a stream's upload) took +49 MB.
    assert large - small < 10 < UPLOAD_MEMORY_BYTES / 2**20, f"{small:.1f} MB -> {large:.1f} MB"
    assert larger - large < 8, f"{large:.1f} MB -> {larger:.1f} MB: memory grows with the rows"
    assert larger < LAMBDA_MEMORY_MB * 0.6
