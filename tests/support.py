"""Helpers for the tests: contexts, putting many versions into moto quickly, response bodies."""

from __future__ import annotations

import json

from moto.s3.models import s3_backends

from stand_ins.lambda_context import LambdaContext
from stand_ins.local_account import ACCOUNT, REGION

#: What an emptied bucket holds.
EMPTY = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
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
