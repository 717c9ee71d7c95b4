"""A model of real S3's limits as a benchmark target: latency per request, a delete rate per prefix.

Real S3 is neither as quick as a loopback server nor unlimited: it answers after some tens to
hundreds of milliseconds, and it accepts "at least 3,500 PUT/COPY/POST/DELETE requests per second
per partitioned prefix" (Amazon S3 User Guide, "Best practices design patterns: optimizing Amazon
S3 performance", docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html), each
key of a DeleteObjects counted; above it, ``503 SlowDown``. ``stand_ins/s3_model.py`` serves the
operations the purge contenders use with S3's XML shapes, in memory, so its own cost is small
beside the modelled latency; this wraps it with the interface of the other targets.

Results on this target are a model's, not S3's: the latency and the rate are parameters (the
defaults are stated in bench/results.md), not measurements.
"""

from __future__ import annotations

from typing import Any

from bench.s3_beside_moto import S3BesideMoto
from stand_ins.s3_model import DeletesAdmitted, RateLimit, S3Model

#: The lower end of the "roughly 100-200 milliseconds" S3 documents for small objects (User Guide,
#: "Performance guidelines for Amazon S3": retry requests for latency-sensitive applications).
DEFAULT_LATENCY_SECONDS = 0.1
DEFAULT_DELETES_PER_SECOND = 3500.0


class S3ModelTarget(S3BesideMoto):
    #: The model serves what a purge of versions needs, not ListObjectsV2.
    serves_current_object_listing = False

    def __init__(
        self,
        latency_seconds: float = DEFAULT_LATENCY_SECONDS,
        deletes_per_second: float = DEFAULT_DELETES_PER_SECOND,
        *,
        prefixes: int = 1,
        objects: int | None = None,
    ) -> None:
        super().__init__()
        self.latency_seconds = latency_seconds
        self.deletes_per_second = deletes_per_second
        self.prefixes = prefixes
        #: The bucket's size on this target, when it is not the benchmark's (``--objects``).
        self.objects = objects
        self.name = ("s3-model" if prefixes == 1 else f"s3-model-{prefixes}-prefixes") + (
            "-sustained" if objects else ""
        )
        size = f", {objects:,} objects" if objects else ""
        under = "1 prefix" if prefixes == 1 else f"{prefixes} prefixes"
        self.label = (
            f"a model of S3 ({latency_seconds * 1000:.0f} ms per request,"
            f" {deletes_per_second:,.0f} deletes/s per prefix, keys under {under}{size})"
        )
        self._model: S3Model | None = None
        self.endpoint = ""

    def reset(self) -> None:
        if self._model is not None:
            self._model.stop()
        self._model = S3Model(
            latency_seconds=self.latency_seconds, delete_rate=RateLimit(self.deletes_per_second)
        ).start()
        self.endpoint = self._model.endpoint
        self.aws.reset()

    def stop(self) -> None:
        if self._model is not None:
            self._model.stop()
        super().stop()

    def client(self, service: str) -> Any:
        assert service != "s3", "the model is filled and counted directly"
        return self.aws.client(service)

    def take_counts(self) -> dict[str, int]:
        assert self._model is not None
        counts = dict(self._model.requests)
        self._model.requests.clear()
        return counts

    def deletes_admitted(self) -> DeletesAdmitted:
        """The deletes the model accepted since it was reset: the rate a contender kept once it
        was deleting, without the start and the round trips before its first delete."""
        assert self._model is not None
        return self._model.admitted

    def slowdowns(self) -> int:
        """How many requests the model refused with ``SlowDown`` since it was reset."""
        assert self._model is not None
        return self._model.slowed_down

    def fill_purge_bucket(
        self, bucket: str, objects: int, *, marker_every: int = 10, uploads: int = 5
    ) -> dict[str, int]:
        """The other targets' bucket, spread evenly over ``prefixes`` top-level prefixes."""
        assert self._model is not None
        self._model.create_bucket(bucket)
        for i in range(objects):
            key = f"partner-{i % self.prefixes}/{i % 97:02d}/{i:07d}.csv"
            self._model.put(
                bucket, key, versions=2, delete_marker=bool(marker_every) and i % marker_every == 0
            )
        for i in range(uploads):
            self._model.start_upload(bucket, f"partner-0/uploads/{i}.csv")
        return self.inventory(bucket)

    def inventory(self, bucket: str) -> dict[str, int]:
        assert self._model is not None
        return self._model.inventory(bucket)
