"""Helpers for the tests: contexts, fast moto seeding, bucket inventories."""

from __future__ import annotations

import json

from moto.s3.models import s3_backends

from lambda_context import DEFAULT_ACCOUNT, LambdaContext

REGION = "us-east-1"


def lambda_context(function_name: str, timeout_seconds: float = 900.0) -> LambdaContext:
    return LambdaContext(function_name, timeout_seconds=timeout_seconds, region=REGION)


def seed_versions(bucket: str, keys: list[str], *, versions: int = 1, body: bytes = b"x") -> None:
    """Puts ``versions`` versions of each key straight into moto's backend.

    Thousands of objects through boto3 take tens of seconds in moto; the backend call is the same
    code moto's S3 endpoint runs for a PutObject, without the HTTP round trip.
    """
    backend = s3_backends[DEFAULT_ACCOUNT]["aws"]
    for key in keys:
        for _ in range(versions):
            backend.put_object(bucket, key, body)


def add_delete_markers(bucket: str, keys: list[str]) -> None:
    backend = s3_backends[DEFAULT_ACCOUNT]["aws"]
    for key in keys:
        backend.delete_object(bucket, key)


def bucket_contents(s3_client, bucket: str, prefix: str = "") -> dict[str, int]:
    """Counts of what is left: versions, delete markers and multipart uploads."""
    counts = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
    for page in s3_client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        counts["versions"] += len(page.get("Versions", []))
        counts["delete_markers"] += len(page.get("DeleteMarkers", []))
    for page in s3_client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        counts["multipart_uploads"] += len(page.get("Uploads", []))
    return counts


def response_body(response: dict) -> dict:
    assert response["headers"]["Content-Type"] == "application/json"
    return json.loads(response["body"])
