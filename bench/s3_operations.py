"""The S3 API operation of a path-style request, for counting requests at a server."""

from __future__ import annotations

from urllib.parse import parse_qs


def s3_operation(method: str, path: str, query: str) -> str:
    """The S3 API operation of a request to a path-style endpoint (enough for these benchmarks)."""
    params = parse_qs(query, keep_blank_values=True)
    on_bucket = path.strip("/").count("/") == 0
    if method == "POST" and "delete" in params:
        return "DeleteObjects"
    if method == "GET" and on_bucket:
        if "versions" in params:
            return "ListObjectVersions"
        if "uploads" in params:
            return "ListMultipartUploads"
        return "ListObjectsV2" if params.get("list-type") == ["2"] else "ListObjects"
    if method == "DELETE":
        return (
            "AbortMultipartUpload"
            if "uploadId" in params
            else ("DeleteObject" if not on_bucket else "DeleteBucket")
        )
    if method == "HEAD":
        return "HeadBucket" if on_bucket else "HeadObject"
    if method == "PUT":
        return "UploadPart" if "partNumber" in params else ("PutObject" if not on_bucket else "PutBucket")
    if method == "POST":
        return "CompleteMultipartUpload" if "uploadId" in params else "CreateMultipartUpload"
    return f"{method} object" if not on_bucket else f"{method} bucket"
