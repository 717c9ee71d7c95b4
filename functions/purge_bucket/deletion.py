"""Deletes every object version, delete marker and incomplete multipart upload under a prefix.

It works in passes. Each pass lists the multipart uploads and aborts them, then lists the
versions and delete markers a page (1,000 entries) at a time and deletes each page with one
``DeleteObjects`` call, several pages in flight while the listing goes on. Passes repeat until one
lists nothing: on S3 the second pass finds nothing and costs one request.

What S3 may answer, and what happens then:

* Throttling (``SlowDown``) and transient errors, of a whole request or of single keys inside a
  ``DeleteObjects`` answer: retried with exponential backoff and full jitter, for as long as the
  deadline allows. botocore's own retries are off, so every wait is on this module's clock.
* A key XML cannot carry (a control character, a lone surrogate): botocore would send it raw and
  S3 would refuse the whole ``DeleteObjects`` with ``MalformedXML``. Such keys are deleted one by
  one with ``DeleteObject``, whose key travels in the URL; a batch refused as ``MalformedXML``
  anyway is deleted the same way, key by key, so one bad key never holds back the rest.
* Uploads are listed with ``EncodingType=url`` and decoded here (botocore does this itself only
  for the object listings): unencoded, such a key comes back as an XML character reference that no
  XML parser accepts, and every purge of the bucket would fail on it.
* An entry S3 refuses to delete (Object Lock, AccessDenied...): reported, and left out of later
  passes, so a purge always ends. A refused listing stops the purge: what was deleted by then is
  counted, deletes still in flight included.
* An entry S3 confirms deleted but lists again (S3 confirms a missing key; ``NoSuchUpload`` counts
  as aborted): its count is taken back when it reappears, and a pass that lists nothing but such
  entries ends the purge, which then reports what stays. Counts are of entries that are gone.

The deadline: no request is started that could end after it (one attempt lasts at most
``REQUEST_SECONDS``: botocore's connect and read timeouts), and no wait runs past it.

A page is deleted only once the next page has been listed. A paginated listing resumes after the
last entry of the page before; some S3 implementations (moto among them) lose their place, and
skip the rest of the bucket, when that entry is already deleted. Later passes catch anything
skipped all the same.

Versioned, unversioned (every version id is ``"null"``) and suspended buckets all go through the
same path.
"""

from __future__ import annotations

import functools
import random
import re
import time
from array import array
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from lambda_shared.aws import error_code

MAX_KEYS_PER_DELETE = 1000
#: Uploads are aborted one request each: smaller pages spread them over the workers.
MAX_UPLOADS_PER_PAGE = 100
#: botocore's timeouts for the purge's S3 client, which makes a single attempt per request.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
#: The longest one request can take.
REQUEST_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 5.0
#: Error codes worth retrying, whether for a whole request or for one key of a DeleteObjects.
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "500",
        "502",
        "503",
        "504",
    }
)
#: Characters XML 1.0 cannot carry, or that an XML parser rewrites (CR becomes LF).
_XML_UNSAFE = re.compile("[\x00-\x08\x0b-\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SAMPLE_SIZE = 10


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

    def __sub__(self, other: PurgeCounts) -> PurgeCounts:
        return PurgeCounts(
            self.versions - other.versions,
            self.delete_markers - other.delete_markers,
            self.multipart_uploads - other.multipart_uploads,
        )

    @property
    def total(self) -> int:
        return self.versions + self.delete_markers + self.multipart_uploads

    def tally(self, entries: list[Any], sign: int = 1) -> None:
        """Adds (or, with sign -1, takes back) one per entry, by the entry's kind."""
        for entry in entries:
            setattr(self, entry.kind, getattr(self, entry.kind) + sign)

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
    #: Entries S3 refused to delete; left in place.
    failures: list[Failure] = field(default_factory=list)
    #: S3's error code when it refused a listing: the purge stopped, and the rest was not reached.
    refused: str | None = None
    #: The deadline came before the prefix was empty.
    out_of_time: bool = False
    #: Entries S3 confirmed deleted but kept listing, when a pass found nothing else: (count, keys).
    still_listed: int = 0
    still_listed_sample: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.failures or self.refused or self.out_of_time or self.still_listed)

    def failure_summary(self) -> dict[str, Any]:
        codes = Counter(failure.code for failure in self.failures)
        return {
            "count": len(self.failures),
            "by_error_code": dict(sorted(codes.items())),
            "sample_keys": sorted({failure.key for failure in self.failures})[:SAMPLE_SIZE],
        }


@dataclass(frozen=True, slots=True)
class _Version:
    key: str
    version_id: str
    is_delete_marker: bool

    @property
    def identity(self) -> tuple[str, str]:
        return self.key, self.version_id

    @property
    def kind(self) -> str:
        return "delete_markers" if self.is_delete_marker else "versions"

    def failure(self, code: str) -> Failure:
        return Failure(self.key, code, version_id=self.version_id)


@dataclass(frozen=True, slots=True)
class _Upload:
    key: str
    upload_id: str

    @property
    def identity(self) -> tuple[str, str]:
        return self.key, self.upload_id

    kind = "multipart_uploads"

    def failure(self, code: str) -> Failure:
        return Failure(self.key, code, upload_id=self.upload_id)


_Entry = _Version | _Upload


@dataclass
class _Outcome:
    """What one worker did with one page."""

    gone: list[_Entry] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Not attempted, or not finished, before the deadline.
    unfinished: int = 0


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _OutOfTime(Exception):
    pass


class _Pass:
    """One pass's bookkeeping: what it listed, and what S3 confirmed gone that was listed before."""

    def __init__(self, confirmed_before: array) -> None:
        self.confirmed_before = confirmed_before
        self.listed = 0
        self.relisted = 0
        self.relisted_sample: list[str] = []
        self.confirmed = array("q")
        self.confirmed_counts = PurgeCounts()

    def saw(self, entry: _Entry) -> bool:
        """Counts a listed entry; True when S3 had confirmed it gone in the pass before."""
        self.listed += 1
        fingerprint = hash(entry.identity)
        index = bisect_left(self.confirmed_before, fingerprint)
        if index < len(self.confirmed_before) and self.confirmed_before[index] == fingerprint:
            self.relisted += 1
            if len(self.relisted_sample) < SAMPLE_SIZE:
                self.relisted_sample.append(entry.key)
            return True
        return False

    def confirm(self, entries: list[_Entry]) -> None:
        self.confirmed.extend(hash(entry.identity) for entry in entries)
        self.confirmed_counts.tally(entries)

    def made_no_progress(self) -> bool:
        return self.listed > 0 and self.relisted == self.listed

    def sorted_confirmed(self) -> array:
        return array("q", sorted(self.confirmed))


def xml_unsafe(key: str) -> bool:
    return _XML_UNSAFE.search(key) is not None


def transient(error: BaseException) -> bool:
    if isinstance(error, HTTPClientError | ConnectionError):
        return True
    return isinstance(error, ClientError) and error_code(error) in TRANSIENT_CODES


class BucketPurger:
    """Empties ``bucket`` (or the part of it under ``prefix``) until done or out of time.

    ``s3`` must make a single attempt per request with the timeouts above:
    ``lambda_shared.aws.client("s3", attempts=1, connect_timeout=CONNECT_TIMEOUT,
    read_timeout=READ_TIMEOUT)``.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str = "",
        *,
        workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.workers = workers
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._deadline = 0.0

    def run(self, deadline: float) -> PurgeResult:
        """Purges until the prefix is empty, S3 refuses a listing, or ``deadline`` (clock time)."""
        self._deadline = deadline
        result = PurgeResult()
        refused: set[tuple[str, str]] = set()
        confirmed_before = array("q")
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="purge") as pool:
            while True:
                current = _Pass(confirmed_before)
                try:
                    for pages, work in (
                        (self._upload_pages(refused, current, result), self._abort_uploads),
                        (self._version_pages(refused, current, result), self._delete_versions),
                    ):
                        record = functools.partial(
                            self._record, result=result, current=current, refused=refused
                        )
                        self._pipelined(pool, pages, work, record)
                except _OutOfTime:
                    result.out_of_time = True
                except _Refused as refusal:
                    result.refused = refusal.code
                if result.refused or result.out_of_time or current.listed == 0:
                    return result
                if current.made_no_progress():
                    # Everything listed was confirmed gone before: this pass's confirmations too
                    # are of entries that stay.
                    result.deleted -= current.confirmed_counts
                    result.still_listed = current.listed
                    result.still_listed_sample = current.relisted_sample
                    return result
                confirmed_before = current.sorted_confirmed()

    def bucket_problem(self, deadline: float) -> tuple[str, str] | None:
        """None when the bucket can be purged; else ("missing" or "refused", S3's error code)."""
        self._deadline = deadline
        try:
            self._request(self.s3.head_bucket, Bucket=self.bucket)
        except _Refused as refusal:
            return ("missing" if refusal.code in {"404", "NoSuchBucket"} else "refused"), refusal.code
        except _OutOfTime:
            return "refused", "Timeout"
        return None

    # The pipeline ------------------------------------------------------------------------------

    def _pipelined(
        self,
        pool: ThreadPoolExecutor,
        pages: Iterator[list[Any]],
        work: Callable[[list[Any]], _Outcome],
        record: Callable[[_Outcome], None],
    ) -> None:
        """Runs ``work`` on each listed page while the listing goes on.

        A page is handed to ``work`` only once the next page has been listed: the listing resumes
        after the last entry of the page before, so that entry must still exist when it does.
        Whatever ends the listing (its end, a refusal, the deadline), the work in flight is waited
        for and recorded first.
        """
        in_flight: deque[Future[_Outcome]] = deque()
        waiting: list[Any] = []
        try:
            for page in pages:
                if waiting:
                    in_flight.append(pool.submit(work, waiting))
                while len(in_flight) > self.workers:  # Bounded: a few pages in memory at most.
                    record(in_flight.popleft().result())
                waiting = page
            if waiting:
                in_flight.append(pool.submit(work, waiting))
        finally:
            while in_flight:
                record(in_flight.popleft().result())

    @staticmethod
    def _record(
        outcome: _Outcome, result: PurgeResult, current: _Pass, refused: set[tuple[str, str]]
    ) -> None:
        result.deleted.tally(outcome.gone)
        current.confirm(outcome.gone)
        for failure in outcome.failures:
            refused.add((failure.key, failure.version_id or failure.upload_id or ""))
        result.failures.extend(outcome.failures)
        if outcome.unfinished:
            result.out_of_time = True

    # Requests ----------------------------------------------------------------------------------

    def _request(self, operation: Callable[..., dict], **params: Any) -> dict:
        """One request, retried while transient and the deadline allows; raises _Refused or
        _OutOfTime."""
        attempt = 0
        while True:
            if self.clock() + REQUEST_SECONDS > self._deadline:
                raise _OutOfTime
            try:
                return operation(**params)
            except (ClientError, BotoCoreError) as error:
                if not transient(error):
                    raise _Refused(error_code(error)) from None
            attempt += 1
            self._back_off(attempt)

    def _back_off(self, attempt: int) -> None:
        """Waits a random time up to an exponentially growing bound (full jitter)."""
        delay = self.rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))
        if self.clock() + delay + REQUEST_SECONDS > self._deadline:
            raise _OutOfTime
        self.sleep(delay)

    # Listing -----------------------------------------------------------------------------------

    def _version_pages(
        self, refused: set[tuple[str, str]], current: _Pass, result: PurgeResult
    ) -> Iterator[list[_Version]]:
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": MAX_KEYS_PER_DELETE}
        if self.prefix:
            params["Prefix"] = self.prefix
        while True:
            # botocore asks for EncodingType=url here and decodes the keys itself.
            page = self._request(self.s3.list_object_versions, **params)
            entries = [
                _Version(item["Key"], item["VersionId"], is_marker)
                for is_marker, items in (
                    (False, page.get("Versions", [])),
                    (True, page.get("DeleteMarkers", [])),
                )
                for item in items
                if (item["Key"], item["VersionId"]) not in refused
            ]
            yield self._listed(entries, current, result)
            if not page.get("IsTruncated"):
                return
            params["KeyMarker"] = page.get("NextKeyMarker", "")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker", "")

    def _upload_pages(
        self, refused: set[tuple[str, str]], current: _Pass, result: PurgeResult
    ) -> Iterator[list[_Upload]]:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "MaxUploads": MAX_UPLOADS_PER_PAGE,
            "EncodingType": "url",
        }
        if self.prefix:
            params["Prefix"] = self.prefix
        while True:
            page = self._request(self.s3.list_multipart_uploads, **params)
            encoded = page.get("EncodingType") == "url"
            entries = [
                _Upload(unquote_plus(item["Key"]) if encoded else item["Key"], item["UploadId"])
                for item in page.get("Uploads", [])
            ]
            yield self._listed([u for u in entries if u.identity not in refused], current, result)
            if not page.get("IsTruncated"):
                return
            marker = page.get("NextKeyMarker", "")
            params["KeyMarker"] = unquote_plus(marker) if encoded else marker
            params["UploadIdMarker"] = page.get("NextUploadIdMarker", "")

    @staticmethod
    def _listed(entries: list[Any], current: _Pass, result: PurgeResult) -> list[Any]:
        # Confirmed gone in the pass before, and listed again: it was not gone.
        result.deleted.tally([entry for entry in entries if current.saw(entry)], sign=-1)
        return entries

    # Deleting ----------------------------------------------------------------------------------

    def _abort_uploads(self, uploads: list[_Upload]) -> _Outcome:
        outcome = _Outcome()
        for done, upload in enumerate(uploads):
            try:
                self._request(
                    self.s3.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=upload.key,
                    UploadId=upload.upload_id,
                )
                outcome.gone.append(upload)
            except _Refused as refusal:
                if refusal.code == "NoSuchUpload":
                    outcome.gone.append(upload)
                else:
                    outcome.failures.append(upload.failure(refusal.code))
            except _OutOfTime:
                outcome.unfinished = len(uploads) - done
                break
        return outcome

    def _delete_versions(self, batch: list[_Version]) -> _Outcome:
        """One page: DeleteObjects for what XML can carry, DeleteObject for the rest."""
        outcome = _Outcome()
        one_by_one = [v for v in batch if xml_unsafe(v.key)]
        pending = [v for v in batch if not xml_unsafe(v.key)]
        attempt = 0
        try:
            while pending:
                try:
                    errors = self._delete_objects(pending)
                except _Refused as refusal:
                    if refusal.code == "MalformedXML":
                        one_by_one += pending
                    else:
                        outcome.failures += [v.failure(refusal.code) for v in pending]
                    pending = []
                    break
                outcome.gone += [v for v in pending if v.identity not in errors]
                outcome.failures += [
                    v.failure(errors[v.identity])
                    for v in pending
                    if v.identity in errors and errors[v.identity] not in TRANSIENT_CODES
                ]
                pending = [v for v in pending if errors.get(v.identity) in TRANSIENT_CODES]
                if pending:
                    attempt += 1
                    self._back_off(attempt)
            while one_by_one:
                version = one_by_one[0]
                try:
                    self._request(
                        self.s3.delete_object,
                        Bucket=self.bucket,
                        Key=version.key,
                        VersionId=version.version_id,
                    )
                    outcome.gone.append(version)
                except _Refused as refusal:
                    outcome.failures.append(version.failure(refusal.code))
                one_by_one.pop(0)
        except _OutOfTime:
            outcome.unfinished = len(pending) + len(one_by_one)
        return outcome

    def _delete_objects(self, batch: list[_Version]) -> dict[tuple[str, str], str]:
        """One DeleteObjects call (Quiet: S3 reports errors only); returns error codes by entry."""
        response = self._request(
            self.s3.delete_objects,
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": v.key, "VersionId": v.version_id} for v in batch], "Quiet": True},
        )
        errors: dict[tuple[str, str], str] = {}
        for error in response.get("Errors", []):
            code = error.get("Code") or "Unknown"
            if error.get("VersionId") is not None:
                errors[(error.get("Key"), error["VersionId"])] = code
            else:  # No version id in the error: it applies to every entry of that key.
                errors.update({v.identity: code for v in batch if v.key == error.get("Key")})
        return errors
