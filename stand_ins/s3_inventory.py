"""What a bucket holds, counted through the S3 API, so it reads the same on moto, SeaweedFS or S3."""

from __future__ import annotations

from typing import Any


def bucket_contents(s3: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    """Counts of versions, delete markers and incomplete multipart uploads under ``prefix``."""
    counts = {"versions": 0, "delete_markers": 0, "multipart_uploads": 0}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        counts["versions"] += len(page.get("Versions", []))
        counts["delete_markers"] += len(page.get("DeleteMarkers", []))
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        counts["multipart_uploads"] += len(page.get("Uploads", []))
    return counts
