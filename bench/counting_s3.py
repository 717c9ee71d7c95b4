"""The S3 endpoint the benchmarks run against: moto's server, in this process, counting requests.

Every contender talks to it over HTTP from its own process; this process only serves, fills the
buckets (straight into moto's backend, which is quick) and counts requests at the server, so the
count is the same for a Python, a Go or a shell client.

moto is patched the same way for every contender (stand_ins/moto_fixes.py, applied by LocalAws):
its backend is made thread-safe, as S3 is, and its ListObjectVersions stops deep-copying the
whole bucket on every call (one page of a 21,000-entry bucket would take over ten seconds).
"""

from __future__ import annotations

import threading
from collections import Counter
from importlib.metadata import version
from typing import Any

from bench.s3_operations import s3_operation
from stand_ins.aws_endpoint import LocalAws
from stand_ins.local_account import ACCOUNT
from stand_ins.s3_inventory import bucket_contents


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


class BenchS3(LocalAws):
    """The local AWS endpoint, counting S3 requests, with fast filling and inventories."""

    name = "moto"
    serves_current_object_listing = True

    def __init__(self) -> None:
        self.label = f"moto {version('moto')}"
        self._counting: _Counting | None = None

        def count(app: Any) -> _Counting:
            self._counting = _Counting(app)
            return self._counting

        super().__init__(middleware=count)

    # Counting ---------------------------------------------------------------------------------

    def take_counts(self) -> dict[str, int]:
        """The requests counted since the last call, by operation."""
        assert self._counting is not None
        with self._counting.lock:
            counts = dict(self._counting.counts)
            self._counting.counts.clear()
        return counts

    # Filling (straight into the backend: not counted, and quick) and inventory --------------

    @property
    def backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["aws"]

    def fill_purge_bucket(
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
        return self.inventory(bucket)

    def inventory(self, bucket: str) -> dict[str, int]:
        """What the bucket holds; the listing requests it makes are not counted."""
        contents = bucket_contents(self.client("s3"), bucket)
        self.take_counts()
        return contents
