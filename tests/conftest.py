"""Fixtures shared by the tests: an in-process AWS (moto), fake credentials, handler contexts."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lambda_shared import aws, parameters
from scripts import package
from stand_ins import moto_fixes
from stand_ins.aws_endpoint import LocalAws
from stand_ins.local_system import LocalSystem, create_jobs_table
from stand_ins.local_terraform import terraform_available
from stand_ins.s3_model import S3Model
from stand_ins.state_machine_definition import definition
from support import (
    ARCHIVE_OBJECTS,
    ARCHIVE_PREFIXES,
    JOBS_TABLE,
    MODEL_BUCKET,
    REGION,
    STATE_MACHINE,
    PurgeJobs,
)

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first: with `pytest -n`, the others fill the workers around them."""

    def expected_seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        return marker.kwargs.get("seconds", 10) if marker else 0

    items.sort(key=expected_seconds, reverse=True)


@pytest.fixture(autouse=True)
def _isolated_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test can reach real AWS, and no client or cached value leaks from one test to the next."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    aws.client.cache_clear()
    parameters.secure_parameter.cache_clear()
    yield
    aws.client.cache_clear()
    parameters.secure_parameter.cache_clear()


#: In-process moto records state machine executions without running them, whatever a local AWS
#: endpoint of the same process configured (stand_ins/aws_endpoint.py): a test starts the job's
#: execution and reads it back; the job itself runs in tests/test_purge_job.py.
IN_PROCESS_CONFIG = {"stepfunctions": {"execute_state_machine": False}, "lambda": {"use_docker": True}}


@pytest.fixture
def moto_aws() -> Iterator[None]:
    # moto's backend is not thread-safe and S3 is: the purge lists while it deletes.
    moto_fixes.serialize_s3_backend()
    with mock_aws(config=IN_PROCESS_CONFIG):
        yield


@pytest.fixture
def s3(moto_aws):
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def ssm(moto_aws):
    return boto3.client("ssm", region_name=REGION)


@pytest.fixture
def purge_jobs(moto_aws, monkeypatch) -> PurgeJobs:
    """The job table and a state machine (recorded, not run), named in the functions' environment."""
    create_jobs_table(boto3.client("dynamodb", region_name=REGION))
    worker = f"arn:aws:lambda:{REGION}:123456789012:function:partner-data-purge-worker"
    arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=STATE_MACHINE,
        definition=json.dumps(definition(worker)),
        roleArn="arn:aws:iam::123456789012:role/partner-data-purge-job-us-east-1",
    )["stateMachineArn"]
    monkeypatch.setenv("JOBS_TABLE", JOBS_TABLE)
    monkeypatch.setenv("JOB_STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("JOB_RETENTION_DAYS", "30")
    return PurgeJobs(arn)


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """A real local AWS endpoint (moto's server) on a free loopback port, for other processes."""
    with LocalAws() as aws:
        yield aws


@pytest.fixture(scope="session")
def lambda_runtime_dir(tmp_path_factory) -> Path:
    """A folder with only what the Lambda Python runtime provides: boto3, botocore and their deps."""
    from stand_ins.lambda_host import make_runtime_dir

    return make_runtime_dir(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """The zips and manifest `make package` builds (arm64), in a folder of their own."""
    out = tmp_path_factory.mktemp("dist")
    package.build("arm64", out, functions_dir=ROOT / "functions", cache=ROOT / ".cache" / "wheels")
    return out


@pytest.fixture(scope="session")
def native_dist(tmp_path_factory) -> Path:
    """The zips built for this machine's architecture, so the vendored C extensions load here."""
    out = tmp_path_factory.mktemp("native-dist")
    arch = package.ARCHITECTURE_OF_MACHINE[platform.machine()]
    package.build(arch, out, functions_dir=ROOT / "functions", cache=ROOT / ".cache" / "wheels")
    return out


@pytest.fixture(scope="session")
def terraform_installed() -> None:
    """Terraform must run here: CI sets REQUIRE_TERRAFORM=1, so it can never pass without it."""
    if terraform_available():
        return
    if os.environ.get("REQUIRE_TERRAFORM") == "1":
        pytest.fail("terraform is not installed, and REQUIRE_TERRAFORM=1 requires it")
    pytest.skip("terraform is not installed: `make test` printed that the Terraform checks are skipped")


def _local_stack(dist: Path, work: Path, *, inline_seconds: float | None) -> Iterator[LocalSystem]:
    stack = LocalSystem(dist, work, terraform=False, inline_seconds=inline_seconds).start()
    try:
        stack.add_archive(prefixes=ARCHIVE_PREFIXES, objects_per_prefix=ARCHIVE_OBJECTS)
        yield stack
    finally:
        stack.stop()


# One stack at a time in a process: moto's Lambda has one runner (stand_ins/lambda_service.py).
@pytest.fixture
def inline_stack(dist, tmp_path) -> Iterator[LocalSystem]:
    """The local stack (deployed directly, the partner API simulator, both functions from their
    zips behind the API Gateway stand-in), its bucket holding an archive: a purge of it is done
    inline, as a deployed stack does with a small bucket (200)."""
    yield from _local_stack(dist, tmp_path, inline_seconds=None)


@pytest.fixture
def job_stack(dist, tmp_path) -> Iterator[LocalSystem]:
    """The same, purging nothing inline: every purge is a job (202), another while it runs 409."""
    yield from _local_stack(dist, tmp_path, inline_seconds=0)


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Model]:
    """The model of S3 (stand_ins/s3_model.py) on a free port, holding ``MODEL_BUCKET``, as the
    endpoint boto3 uses."""
    with S3Model() as model:
        model.create_bucket(MODEL_BUCKET)
        monkeypatch.setenv("AWS_ENDPOINT_URL", model.endpoint)
        yield model
