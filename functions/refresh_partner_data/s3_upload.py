"""Uploading a finished CSV file so that its key only ever holds a complete object.

A single PutObject is atomic; above the multipart threshold S3 shows the object only when the
upload completes, and s3transfer aborts the multipart upload when any part fails, so a failure
leaves neither a partial object nor orphaned parts. Re-running a day overwrites its object.
"""

from __future__ import annotations

from typing import Any

from boto3.s3.transfer import TransferConfig

MiB = 1024 * 1024
#: Parts are read from disk as they are sent: memory stays near chunk size x concurrency.
TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=16 * MiB,
    multipart_chunksize=16 * MiB,
    max_concurrency=4,
    use_threads=True,
)
CONTENT_TYPE = "text/csv; charset=utf-8"


def upload_csv(s3: Any, path: str, bucket: str, key: str, metadata: dict[str, str]) -> None:
    """Uploads ``path`` to ``s3://bucket/key``; raises boto3's ``S3UploadFailedError`` on failure."""
    s3.upload_file(
        path,
        bucket,
        key,
        ExtraArgs={"ContentType": CONTENT_TYPE, "Metadata": metadata},
        Config=TRANSFER_CONFIG,
    )
