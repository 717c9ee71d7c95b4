"""The built functions against SeaweedFS, a real S3 server, as well as moto.

Each function runs from its zip in its own process, as on Lambda, with S3 calls going to a fresh
``weed server -s3`` and SSM calls (its secrets) to moto. What only a real server shows is caught
here: its versioning, its delete markers and multipart uploads, its paging, and its quirks.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from stand_ins.lambda_host import LambdaProcess
from stand_ins.local_system import JOBS_TABLE, create_jobs_table, unpack
from stand_ins.partner_api_simulator import PartnerApiSimulator
from stand_ins.s3_inventory import bucket_contents
from stand_ins.seaweedfs import SeaweedFs
from stand_ins.synthetic_partner_data import Volume, row_count

pytestmark = pytest.mark.slow(seconds=15)

PASSWORD = "seaweedfs-test-purge-password"
PASSWORD_PARAMETER = "/seaweedfs-test/purge-password"
NOTHING = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}


@pytest.fixture(scope="module")
def seaweedfs():
    with SeaweedFs() as server:
        yield server


@pytest.fixture
def versioned_bucket(seaweedfs):
    s3 = seaweedfs.client("s3", max_pool_connections=16)
    bucket = f"purge-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3, bucket


def fill(s3, bucket: str, keys: int) -> None:
    """``keys`` keys with two versions each, a delete marker on every tenth, three open uploads."""

    def put(i: int) -> None:
        key = f"sale/{i:05d}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=b"id,value\n1,2\n")
        s3.put_object(Bucket=bucket, Key=key, Body=b"id,value\n1,3\n")
        if i % 10 == 0:
            s3.delete_object(Bucket=bucket, Key=key)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, range(keys)))
    for i in range(3):
        s3.create_multipart_upload(Bucket=bucket, Key=f"uploads/{i}.csv")


def purge(dist, tmp_path, seaweedfs, local_aws, lambda_runtime_dir, *, bucket: str) -> dict:
    local_aws.client("ssm").put_parameter(
        Name=PASSWORD_PARAMETER, Value=PASSWORD, Type="SecureString", Overwrite=True
    )
    create_jobs_table(local_aws.client("dynamodb"))
    code = unpack(dist / "purge_bucket.zip", tmp_path / "purge")
    env = {
        **seaweedfs.environment(aws_endpoint=local_aws.endpoint),
        "PASSWORD_PARAMETER": PASSWORD_PARAMETER,
        "ALLOWED_BUCKETS": bucket,
        "JOBS_TABLE": JOBS_TABLE,
    }
    # Invoked directly, not through API Gateway, whose 29 s would turn a slow run into a 202.
    with LambdaProcess.of_package(code, lambda_runtime_dir, env=env) as function:
        reply = function.invoke({"bucket_name": bucket, "password": PASSWORD})
    assert reply["ok"], reply
    return reply["result"]


def test_the_purge_empties_a_versioned_bucket_across_listing_pages(  # noqa: PLR0917 - fixtures
    dist, tmp_path, seaweedfs, local_aws, lambda_runtime_dir, versioned_bucket
):
    s3, bucket = versioned_bucket
    fill(s3, bucket, 600)
    assert bucket_contents(s3, bucket) == {"versions": 1200, "delete_markers": 60, "multipart_uploads": 3}

    answer = purge(dist, tmp_path, seaweedfs, local_aws, lambda_runtime_dir, bucket=bucket)

    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["deleted"] == {
        "versions": 1200,
        "delete_markers": 60,
        "multipart_uploads": 3,
    }
    assert bucket_contents(s3, bucket) == NOTHING


def test_a_key_the_version_listing_cannot_name_is_reported_and_everything_else_deleted(  # noqa: PLR0917
    dist, tmp_path, seaweedfs, local_aws, lambda_runtime_dir, versioned_bucket
):
    """SeaweedFS 4.48 ignores ``encoding-type=url`` in ListObjectVersions (its ListObjectsV2
    honours it) and writes a control character as U+FFFD: the name it lists is not the key's, so
    deleting it removes nothing. The purge must not loop on it or call the bucket empty."""
    s3, bucket = versioned_bucket
    fill(s3, bucket, 20)
    s3.put_object(Bucket=bucket, Key="escape\x1bkey.csv", Body=b"x")

    answer = purge(dist, tmp_path, seaweedfs, local_aws, lambda_runtime_dir, bucket=bucket)

    body = json.loads(answer["body"])
    assert answer["statusCode"] == 500, body
    assert "S3 confirmed deleting 1 entries that it still lists" in body["message"]
    assert body["deleted"] == {"versions": 40, "delete_markers": 2, "multipart_uploads": 3}
    assert body["still_listed"] == {"count": 1, "sample_keys": ["escape\ufffdkey.csv"]}
    assert bucket_contents(s3, bucket) == {"versions": 1, "delete_markers": 0, "multipart_uploads": 0}


def test_the_refresh_writes_a_multipart_csv_whole(
    native_dist, tmp_path, seaweedfs, local_aws, lambda_runtime_dir
):
    s3 = seaweedfs.client("s3")
    bucket = f"refresh-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    volume = Volume(establishments=450_000)  # About 10 MiB of CSV: two 8 MiB parts.
    code = unpack(native_dist / "refresh_partner_data.zip", tmp_path / "refresh")
    with PartnerApiSimulator(volume=volume) as partner:
        env = {
            **seaweedfs.environment(aws_endpoint=local_aws.endpoint),
            "PARTNER_API_URL": partner.url,
            "DATA_BUCKET": bucket,
        }
        with LambdaProcess.of_package(code, lambda_runtime_dir, env=env) as function:
            reply = function.invoke({"date": "2026-11-01", "datasets": ["establishment", "category"]})
    assert reply["ok"], reply
    assert reply["result"]["written"] == 2, reply

    head = s3.head_object(Bucket=bucket, Key="establishment/2026-11-01.csv")
    assert head["ETag"].strip('"').endswith("-2"), head["ETag"]  # Uploaded in two parts.
    body = s3.get_object(Bucket=bucket, Key="establishment/2026-11-01.csv")["Body"].read()
    assert len(body) == head["ContentLength"]
    lines = body.decode().split("\r\n")
    assert lines[-1] == ""
    assert len(lines) - 2 == row_count("establishment", None, volume) == 450_000
    assert lines[0].startswith('"id",')
    assert bucket_contents(s3, bucket) == {"versions": 2, "delete_markers": 0, "multipart_uploads": 0}
