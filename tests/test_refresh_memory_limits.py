"""No partner answer takes the function past its memory (issue 24).

The real handler runs in a child process held to 512 MB, Lambda's default memory here: by a cgroup
where this machine lets the test make one (going past it kills the process, as Lambda does), else
by RLIMIT_AS. Each hostile answer goes to one dataset; that export fails with a ``RefreshFailed``
naming it, or is written within bounded memory, and the other datasets are written either way.

Before this issue: one 50 MB string peaked at 375 MB; 100 KB of gzip inflating to a 100 MB string
at 725 MB; 20 rows of 100,000 keys at 312 MB; 1,024 rows of 500 KB at 521 MB (batches ended by
rows only). The whole handler in a 512 MiB cgroup was killed with no summary at all.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from refresh_partner_data import config
from stand_ins.lambda_host import LambdaProcess, link_packages
from stand_ins.memory_limit import MemoryLimit
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.synthetic_partner_data import Volume

FUNCTIONS = Path(__file__).parents[1] / "functions"
MEMORY_MB = 512
DAY = "2026-11-01"
DATASETS = ("category", "establishment", "sale")
MB = 1_000_000


def long_string(size: int) -> bytes:
    return b'[{"id": 1, "name": "' + b"a" * size + b'", "isActive": true}]'


def wide_rows(count: int, size: int) -> bytes:
    row = b'{"id": 1, "name": "' + b"w" * size + b'", "isActive": true}'
    return b"[" + b",".join([row] * count) + b"]"


def many_keys(rows: int, keys: int) -> bytes:
    row = json.dumps({"id": 1, **{f"k{n}": n for n in range(keys)}}).encode()
    return b"[" + b",".join([row] * rows) + b"]"


@pytest.fixture(scope="module")
def deps(tmp_path_factory) -> Path:
    return link_packages(tmp_path_factory.mktemp("deps"), ["ijson", "tzdata"])


@pytest.fixture
def refresh(local_aws, lambda_runtime_dir, deps, tmp_path):
    def run(payload: bytes, *, gzip: bool = False):
        return refresh_under_the_limit(payload, gzip, local_aws, lambda_runtime_dir, deps, tmp_path)

    return run


def refresh_under_the_limit(payload: bytes, gzip: bool, local_aws, runtime_dir, deps, tmp_path):  # noqa: PLR0917
    """The reply of one refresh of every dataset, ``payload`` being category's answer."""
    bucket = f"memory-limit-{uuid.uuid4().hex[:12]}"
    s3 = local_aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    limit = MemoryLimit(MEMORY_MB)
    try:
        with PartnerApiSimulator(volume=Volume(establishments=200, sales_per_day=50)) as partner:
            partner.state.payloads["category"] = payload
            partner.state.gzip = gzip
            env = {
                **local_aws.environment(),
                "PARTNER_API_URL": partner.url,
                "DATA_BUCKET": bucket,
                "DATASETS": ",".join(DATASETS),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB),
            }
            with (
                open(tmp_path / "log", "w") as log,
                LambdaProcess(
                    "refresh_partner_data.handler.lambda_handler",
                    [FUNCTIONS, deps],
                    runtime_dir=runtime_dir,
                    env=env,
                    stderr=log,
                    memory_limit=limit,
                ) as function,
            ):
                reply = function.invoke({"date": DAY})
        assert not limit.oom_killed()
    finally:
        limit.remove()
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    print(f"{limit.kind}: peak RSS {reply['max_rss_kb'] / 1024:.0f} MB")
    return reply, keys


@pytest.mark.slow(seconds=40)
@pytest.mark.parametrize(
    ("payload", "gzip", "refusal"),
    [
        (lambda: long_string(50 * MB), False, "the response holds a value of more than"),
        (lambda: long_string(200 * MB), False, "the response holds a value of more than"),
        (lambda: long_string(100 * MB), True, "the response holds a value of more than"),
        (lambda: many_keys(20, 100_000), False, "columns the dataset does not declare"),
        (lambda: wide_rows(1_100, 500_000), False, "the response is longer than"),
    ],
    ids=["string-50MB", "string-200MB", "gzip-to-100MB", "20-rows-of-100000-keys", "1100-rows-of-500KB"],
)
def test_a_hostile_answer_fails_its_dataset_and_the_others_are_written(refresh, payload, gzip, refusal):
    reply, keys = refresh(payload(), gzip=gzip)
    assert not reply["ok"]
    assert reply["error_type"] == "RefreshFailed"
    assert f"category/{DAY}.csv (" in reply["error_message"]
    assert refusal in reply["error_message"]
    assert keys == [f"establishment/{DAY}.csv", f"sale/{DAY}.csv"]
    assert reply["max_rss_kb"] < MEMORY_MB * 1024


@pytest.mark.slow(seconds=30)
def test_wide_rows_are_written_in_batches_bounded_by_bytes(refresh):
    """150 MB of 250 KB rows: batches of 1,024 rows held them all (about 150 MB more); batches
    ended by bytes hold a few MB."""
    small, _ = refresh(wide_rows(10, 250_000))
    wide, keys = refresh(wide_rows(600, 250_000))
    assert small["ok"], small
    assert wide["ok"], wide
    assert keys == [f"{dataset}/{DAY}.csv" for dataset in DATASETS]
    grown_mb = (wide["max_rss_kb"] - small["max_rss_kb"]) / 1024
    print(f"600 rows of 250 KB: +{grown_mb:.0f} MB over 10 rows")
    assert grown_mb < 60


def test_the_default_limits_fit_the_function_memory():
    """Three exports at once, each holding its longest string at about 7 times its size, use
    under half the function's memory."""
    assert 3 * 7 * config.max_field_bytes_for(MEMORY_MB) < MEMORY_MB * 1024 * 1024 / 2
    assert config.max_field_bytes_for(MEMORY_MB) > 10 * MB, "a 10 MB text field is still written"
