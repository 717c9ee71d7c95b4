#!/usr/bin/env python3
"""The original runbook's purge algorithm, re-implemented faithfully, for the benchmark.

    python bench/contenders/runbook_purge.py --bucket NAME    (endpoint and credentials from the environment)

As in the runbook's ``delete_all_objects``: page through ``list_objects_v2`` deleting each page
with one ``DeleteObjects`` call (no version ids), then page through ``list_object_versions``
deleting each page's versions and delete markers likewise. It stops at the first error.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3
from botocore.exceptions import ClientError


def delete_all_objects(s3, bucket_name: str) -> tuple[bool, str]:
    try:
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket_name):
            if "Contents" in page:
                delete_requests = [{"Key": obj["Key"]} for obj in page["Contents"]]
                s3.delete_objects(Bucket=bucket_name, Delete={"Objects": delete_requests})

        paginator = s3.get_paginator("list_object_versions")
        for version_page in paginator.paginate(Bucket=bucket_name):
            delete_requests = []
            if "Versions" in version_page:
                delete_requests.extend(
                    {"Key": v["Key"], "VersionId": v["VersionId"]} for v in version_page["Versions"]
                )
            if "DeleteMarkers" in version_page:
                delete_requests.extend(
                    {"Key": v["Key"], "VersionId": v["VersionId"]} for v in version_page["DeleteMarkers"]
                )
            if delete_requests:
                s3.delete_objects(Bucket=bucket_name, Delete={"Objects": delete_requests})
    except ClientError as error:
        return False, error.response["Error"]["Message"]
    return True, "Objects deleted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True)
    args = parser.parse_args()
    ok, message = delete_all_objects(boto3.client("s3"), args.bucket)
    print(json.dumps({"ok": ok, "message": message}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
