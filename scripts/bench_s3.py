"""The S3 endpoint the benchmarks run against: moto's server, in this process, counting requests.

Every contender talks to it over HTTP from its own process; this process only serves, seeds the
buckets (straight into moto's backend, which is quick) and counts requests at the server, so the
count is the same for a Python, a Go or a shell client.

moto is patched the same way for every contender (scripts/moto_patches.py): its backend is made
thread-safe, as S3 is, and its ListObjectVersions stops deep-copying the whole bucket on every
call (one page of a 21,000-entry bucket would take over ten seconds). No answer changes.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

import boto3

import moto_patches

ACCOUNT, REGION = "123456789012", "us-east-1"


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


class _Counting:
    """WSGI middleware counting requests by S3 operation (SSM and moto's own API excluded)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if path != "/" and not path.startswith("/moto-api") and not target:
            operation = s3_operation(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""))
            with self.lock:
                self.counts[operation] += 1
        return self.app(environ, start_response)


class BenchS3:
    """moto's server on a free loopback port, with request counts and fast seeding."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto_patches.serialize_s3_backend()
        moto_patches.shallow_copy_version_listing()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._counting = _Counting(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, self._counting, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-s3", daemon=True)
        self.endpoint = "http://{}:{}".format(*self._server.server_address[:2])

    def start(self) -> BenchS3:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> BenchS3:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto accepts anything
        )

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=30).close()

    # Counting ---------------------------------------------------------------------------------

    def take_counts(self) -> dict[str, int]:
        """The requests counted since the last call, by operation."""
        with self._counting.lock:
            counts = dict(self._counting.counts)
            self._counting.counts.clear()
        return counts

    # Seeding and inventory (straight into the backend: not counted, and quick) ----------------

    @property
    def backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["aws"]

    def seed_purge_bucket(
        self, bucket: str, objects: int, *, marker_every: int = 10, uploads: int = 5
    ) -> dict[str, int]:
        """A versioned bucket: ``objects`` keys with 2 versions each, a delete marker on every
        ``marker_every``-th key, and ``uploads`` incomplete multipart uploads."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        backend = self.backend
        for i in range(objects):
            key = f"partner/{i % 97:02d}/{i:07d}.csv"
            backend.put_object(bucket, key, b"id,value\n1,2\n")
            backend.put_object(bucket, key, b"id,value\n1,3\n")
            if marker_every and i % marker_every == 0:
                backend.delete_object(bucket, key)
        for i in range(uploads):
            s3.create_multipart_upload(Bucket=bucket, Key=f"partner/uploads/{i}.csv")
        self.take_counts()
        return self.inventory(bucket)

    def inventory(self, bucket: str) -> dict[str, int]:
        from moto.s3.models import FakeDeleteMarker

        found = self.backend.get_bucket(bucket)
        versions = markers = 0
        for _key, entries in found.keys.iterlists():
            for entry in entries:
                if isinstance(entry, FakeDeleteMarker):
                    markers += 1
                else:
                    versions += 1
        return {"versions": versions, "delete_markers": markers, "multipart_uploads": len(found.multiparts)}
