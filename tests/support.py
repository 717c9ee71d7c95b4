"""Helpers for the tests: contexts, putting many versions into moto quickly, response bodies, the
functions' log lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from moto.s3.models import s3_backends

from purge_bucket.job.table import JobTable
from stand_ins.lambda_context import LambdaContext
from stand_ins.local_account import ACCOUNT, REGION
from stand_ins.local_system import JOBS_TABLE, STATE_MACHINE

__all__ = ["JOBS_TABLE", "STATE_MACHINE"]

#: What an emptied bucket holds.
EMPTY = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
#: What the ``inline_stack`` and ``job_stack`` fixtures (conftest.py) put in the stack's bucket:
#: objects under ``archive-0/``, ``archive-1/``, ...
ARCHIVE_PREFIXES, ARCHIVE_OBJECTS = 3, 20
#: The bucket the ``model`` fixture (conftest.py) creates in the model of S3.
MODEL_BUCKET = "partner-data-model"


def lambda_context(function_name: str, timeout_seconds: float = 900.0) -> LambdaContext:
    return LambdaContext(function_name, timeout_seconds=timeout_seconds, region=REGION)


def put_versions(bucket: str, keys: list[str], *, versions: int = 1, body: bytes = b"x") -> None:
    """Puts ``versions`` versions of each key straight into moto's backend.

    Thousands of objects through boto3 take tens of seconds in moto; the backend call is the same
    code moto's S3 endpoint runs for a PutObject, without the HTTP round trip.
    """
    backend = s3_backends[ACCOUNT]["aws"]
    for key in keys:
        for _ in range(versions):
            backend.put_object(bucket, key, body)


def add_delete_markers(bucket: str, keys: list[str]) -> None:
    backend = s3_backends[ACCOUNT]["aws"]
    for key in keys:
        backend.delete_object(bucket, key)


def response_body(response: dict) -> dict:
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])


@dataclass(frozen=True)
class PurgeJobs:
    """The job table and the state machine, as the functions see them (``purge_jobs`` fixture)."""

    state_machine_arn: str
    retention_days: int = 30

    def table(self, **options: Any) -> JobTable:
        client = boto3.client("dynamodb", region_name=REGION)
        return JobTable(client, JOBS_TABLE, retention_days=self.retention_days, **options)

    def lease(self, bucket: str) -> dict[str, Any] | None:
        """The bucket's lease item, or None."""
        item = (
            boto3.client("dynamodb", region_name=REGION)
            .get_item(TableName=JOBS_TABLE, Key={"pk": {"S": f"lease#{bucket}"}}, ConsistentRead=True)
            .get("Item")
        )
        return {name: next(iter(value.values())) for name, value in item.items()} if item else None

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        listed = sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


def json_lines(text: str) -> list[dict]:
    """A function's JSON log lines, its EMF metric lines among them."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def log_records(text: str) -> list[dict]:
    """A function's log lines, without its EMF metric lines (tests/test_metrics.py checks those)."""
    return [line for line in json_lines(text) if "_aws" not in line]
