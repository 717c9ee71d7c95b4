"""Deletes every object version, delete marker and incomplete multipart upload under a prefix.

It works in passes. Each pass lists the multipart uploads and aborts them, then lists the
versions and delete markers a page (1,000 entries) at a time and deletes each page with one
``DeleteObjects`` call, several pages in flight while the listing goes on. Passes repeat until a
listing comes back empty: on S3 the second pass finds nothing and costs one request.

A page is deleted only once the next page has been listed. A paginated listing resumes after the
last entry of the page before; some S3 implementations (moto among them) lose their place, and
skip the rest of the bucket, when that entry is already deleted. The repeated passes catch
anything skipped all the same.

Versioned, unversioned (every version id is ``"null"``) and suspended buckets all go through the
same path. Entries S3 refuses to delete (Object Lock, AccessDenied...) are retried, then reported
and left out of later rounds, so a purge always ends.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

MAX_KEYS_PER_DELETE = 1000
#: Uploads are aborted one request each: smaller pages spread them over the workers.
MAX_UPLOADS_PER_PAGE = 100


@dataclass
class PurgeCounts:
    versions: int = 0
    delete_markers: int = 0
    multipart_uploads: int = 0

    def __add__(self, other: PurgeCounts) -> PurgeCounts:
        return PurgeCounts(
            self.versions + other.versions,
            self.delete_markers + other.delete_markers,
            self.multipart_uploads + other.multipart_uploads,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "versions": self.versions,
            "delete_markers": self.delete_markers,
            "multipart_uploads": self.multipart_uploads,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PurgeCounts:
        values = [data.get(name) for name in ("versions", "delete_markers", "multipart_uploads")]
        if not all(type(value) is int and value >= 0 for value in values):
            raise ValueError("counts must be three non-negative integers")
        return cls(*values)


@dataclass(frozen=True)
class Failure:
    """An entry S3 would not remove, with S3's error code."""

    key: str
    code: str
    version_id: str | None = None
    upload_id: str | None = None


@dataclass
class PurgeResult:
    deleted: PurgeCounts = field(default_factory=PurgeCounts)
    failures: list[Failure] = field(default_factory=list)
    #: S3's error code when it refused a whole listing or request; nothing further could be seen.
    refused: str | None = None
    #: The deadline came before the prefix was empty.
    out_of_time: bool = False

    @property
    def complete(self) -> bool:
        return not (self.failures or self.refused or self.out_of_time)

    def failure_summary(self) -> dict[str, Any]:
        codes = Counter(failure.code for failure in self.failures)
        return {
            "count": len(self.failures),
            "by_error_code": dict(sorted(codes.items())),
            "sample_keys": sorted({failure.key for failure in self.failures})[:10],
        }


@dataclass(frozen=True)
class _Version:
    key: str
    version_id: str
    is_delete_marker: bool


@dataclass(frozen=True)
class _Upload:
    key: str
    upload_id: str


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "Unknown")
    return type(error).__name__


class BucketPurger:
    """Empties ``bucket`` (or the part of it under ``prefix``) until done or out of time."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str = "",
        *,
        workers: int = 8,
        key_attempts: int = 3,
        retry_delay: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.workers = workers
        self.key_attempts = key_attempts
        self.retry_delay = retry_delay
        self.clock = clock
        self.sleep = sleep

    def run(self, deadline: float) -> PurgeResult:
        """Purges until the prefix is empty, S3 refuses something, or ``deadline`` (clock time)."""
        result = PurgeResult()
        refused_versions: set[tuple[str, str]] = set()
        refused_uploads: set[tuple[str, str]] = set()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="purge") as pool:
            try:
                while (
                    True
                ):  # One pass: abort the uploads, then delete the versions; until a pass finds nothing.
                    if self.clock() >= deadline:
                        result.out_of_time = True
                        return result
                    found = self._pipelined(
                        pool,
                        self._upload_pages(refused_uploads, deadline),
                        self._abort_uploads,
                        lambda outcome: self._record_aborts(outcome, result, refused_uploads),
                        deadline,
                    )
                    found += self._pipelined(
                        pool,
                        self._version_pages(refused_versions, deadline),
                        self._delete_batch,
                        lambda outcome: self._record_deletes(outcome, result, refused_versions),
                        deadline,
                    )
                    if not found:
                        return result
            except _Refused as refusal:
                result.refused = refusal.code
                return result

    def _pipelined(
        self,
        pool: ThreadPoolExecutor,
        pages: Iterator[list[Any]],
        work: Callable[[list[Any]], Any],
        record: Callable[[Any], None],
        deadline: float,
    ) -> int:
        """Runs ``work`` on each listed page while the listing goes on; returns the entries listed.

        A page is handed to ``work`` only once the next page has been listed: the listing resumes
        after the last entry of the page before, so that entry must still exist when it does.
        """
        found = 0
        in_flight: deque[Future[Any]] = deque()
        waiting: list[Any] = []
        for page in pages:
            found += len(page)
            if waiting:
                in_flight.append(pool.submit(work, waiting))
            while len(in_flight) > self.workers:  # Bounded: a few pages in memory at most.
                record(in_flight.popleft().result())
            waiting = page
        if waiting and self.clock() < deadline:
            in_flight.append(pool.submit(work, waiting))
        while in_flight:
            record(in_flight.popleft().result())
        return found

    # Listing ---------------------------------------------------------------------------------

    def _version_pages(self, skip: set[tuple[str, str]], deadline: float) -> Iterator[list[_Version]]:
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": MAX_KEYS_PER_DELETE}
        if self.prefix:
            params["Prefix"] = self.prefix
        while True:
            page = self._call(self.s3.list_object_versions, **params)
            entries = [
                _Version(item["Key"], item["VersionId"], is_marker)
                for is_marker, items in (
                    (False, page.get("Versions", [])),
                    (True, page.get("DeleteMarkers", [])),
                )
                for item in items
                if (item["Key"], item["VersionId"]) not in skip
            ]
            yield entries
            if not page.get("IsTruncated") or self.clock() >= deadline:
                return
            params["KeyMarker"] = page.get("NextKeyMarker", "")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker", "")

    def _upload_pages(self, skip: set[tuple[str, str]], deadline: float) -> Iterator[list[_Upload]]:
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxUploads": MAX_UPLOADS_PER_PAGE}
        if self.prefix:
            params["Prefix"] = self.prefix
        while True:
            page = self._call(self.s3.list_multipart_uploads, **params)
            yield [
                _Upload(item["Key"], item["UploadId"])
                for item in page.get("Uploads", [])
                if (item["Key"], item["UploadId"]) not in skip
            ]
            if not page.get("IsTruncated") or self.clock() >= deadline:
                return
            params["KeyMarker"] = page.get("NextKeyMarker", "")
            params["UploadIdMarker"] = page.get("NextUploadIdMarker", "")

    @staticmethod
    def _call(operation: Callable[..., dict], **params: Any) -> dict:
        try:
            return operation(**params)
        except (ClientError, BotoCoreError) as error:
            raise _Refused(_error_code(error)) from None

    # Deleting --------------------------------------------------------------------------------

    def _abort_uploads(self, uploads: list[_Upload]) -> list[tuple[_Upload, str | None]]:
        """Aborts each upload; pairs it with S3's error code, or None when it is gone."""
        outcome = []
        for upload in uploads:
            try:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=upload.key, UploadId=upload.upload_id)
                code = None
            except (ClientError, BotoCoreError) as error:
                code = _error_code(error)
            outcome.append((upload, None if code == "NoSuchUpload" else code))
        return outcome

    @staticmethod
    def _record_aborts(
        outcome: list[tuple[_Upload, str | None]], result: PurgeResult, refused: set[tuple[str, str]]
    ) -> None:
        for upload, code in outcome:
            if code is None:
                result.deleted.multipart_uploads += 1
            else:
                refused.add((upload.key, upload.upload_id))
                result.failures.append(Failure(upload.key, code, upload_id=upload.upload_id))

    @staticmethod
    def _record_deletes(
        outcome: tuple[list[_Version], list[Failure]], result: PurgeResult, refused: set[tuple[str, str]]
    ) -> None:
        deleted, failures = outcome
        for version in deleted:
            if version.is_delete_marker:
                result.deleted.delete_markers += 1
            else:
                result.deleted.versions += 1
        for failure in failures:
            refused.add((failure.key, failure.version_id or ""))
        result.failures.extend(failures)

    def _delete_batch(self, batch: list[_Version]) -> tuple[list[_Version], list[Failure]]:
        """Deletes one batch, retrying the keys S3 reports as errors; returns (deleted, failed)."""
        pending = batch
        deleted: list[_Version] = []
        errors: dict[tuple[str, str], str] = {}
        for attempt in range(self.key_attempts):
            if attempt:
                self.sleep(self.retry_delay * 2 ** (attempt - 1))
            errors = self._delete_objects(pending)
            deleted.extend(v for v in pending if (v.key, v.version_id) not in errors)
            pending = [v for v in pending if (v.key, v.version_id) in errors]
            if not pending:
                break
        return deleted, [
            Failure(v.key, errors[(v.key, v.version_id)], version_id=v.version_id) for v in pending
        ]

    def _delete_objects(self, batch: Iterable[_Version]) -> dict[tuple[str, str], str]:
        """One DeleteObjects call (Quiet: S3 reports errors only); returns error codes by entry."""
        batch = list(batch)
        try:
            response = self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={
                    "Objects": [{"Key": v.key, "VersionId": v.version_id} for v in batch],
                    "Quiet": True,
                },
            )
        except (ClientError, BotoCoreError) as error:
            code = _error_code(error)
            return {(v.key, v.version_id): code for v in batch}
        errors: dict[tuple[str, str], str] = {}
        for error in response.get("Errors", []):
            code = error.get("Code") or "Unknown"
            if error.get("VersionId") is not None:
                errors[(error.get("Key"), error["VersionId"])] = code
            else:  # No version id in the error: it applies to every entry of that key.
                errors.update({(v.key, v.version_id): code for v in batch if v.key == error.get("Key")})
        return errors
