"""Deletes every object version, delete marker and incomplete multipart upload under a prefix.

It works in passes. A pass lists the multipart uploads and aborts them while it lists the
versions and delete markers a page (1,000 entries) at a time, deleting each page with
``DeleteObjects`` while the listing goes on. S3's rate limit is per prefix, so the versions are
listed with a "/" delimiter first: when that page holds a few prefixes, each is listed by its own
thread, and its deletes are paced on their own (``pacing``): near the rate S3 accepts for that
prefix, in chunks that never burst past it. Passes repeat until one lists nothing: on S3 the
second pass finds nothing and costs two requests.

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
  counted, deletes still in flight included. An answer botocore cannot parse (a proxy's HTML page
  in place of a listing) is a refusal too, ``UnparseableResponse``: it is not a botocore error, and
  would otherwise end the run without saying how.
* An entry S3 confirms deleted but lists again (S3 confirms a missing key; ``NoSuchUpload`` counts
  as aborted): its count is taken back when it reappears, and a pass that lists nothing but such
  entries ends the purge, which then reports what stays. Counts are of entries that are gone.

The deadline: no request is started that could end after it (one attempt lasts at most
``REQUEST_SECONDS``: botocore's connect and read timeouts), and no wait runs past it.

A paginated listing resumes after the last entry of the page before (its marker); some S3
implementations (moto among them) lose their place, and skip the rest of the bucket, when that
entry is already deleted. So the marker entry alone waits until the next page has been listed;
the rest of a page is deleted as soon as it is listed. Later passes catch anything skipped all
the same.

Versioned, unversioned (every version id is ``"null"``) and suspended buckets all go through the
same path.
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
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
from botocore.parsers import ResponseParserError

from lambda_shared.aws import error_code
from purge_bucket.engine.pacing import Pacer

MAX_KEYS_PER_DELETE = 1000
MAX_UPLOADS_PER_PAGE = 1000
#: Uploads are aborted one request each: small tasks spread them over the workers.
UPLOADS_PER_TASK = 10
#: The most prefixes listed each on its own; more is one listing for all of them.
MAX_LANES = 16
#: Chunks queued or in flight per lane, per worker.
IN_FLIGHT_PER_WORKER = 2
#: botocore's timeouts for the purge's S3 client, which makes a single attempt per request.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
#: The longest one request can take.
REQUEST_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 5.0
#: Error codes that say S3 (or the network to it) is overloaded: retried, and the prefix's pace
#: slows.
THROTTLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "RequestTimeout",
        "503",
    }
)
#: Error codes worth retrying, whether for a whole request or for one key of a DeleteObjects.
TRANSIENT_CODES = THROTTLE_CODES | {"InternalError", "500", "502", "504"}
#: What an answer botocore could not parse is reported as.
UNPARSEABLE = "UnparseableResponse"
#: Where a paced request's answer carries the pacer's ticket it was sent on.
PACER_TICKET = "PacerTicket"
#: An answer slower than this says the server is overloaded: too many deletes in flight.
SLOW_ANSWER_SECONDS = READ_TIMEOUT / 2
#: Characters XML 1.0 cannot carry, or that an XML parser rewrites (CR becomes LF).
_XML_UNSAFE = re.compile("[\x00-\x08\x0b-\x0d\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SAMPLE_SIZE = 10
#: A job's plan follows a chain of single prefixes this deep at most...
MAX_DESCENT = 16
#: ...and lists this many pages at most to find the prefixes at one level (a level with many
#: entries beside its prefixes is purged by one Lambda instead).
MAX_PLAN_PAGES = 20


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


@dataclass(frozen=True, slots=True)
class _Page:
    entries: list[Any]
    #: The (key, version or upload id) the next page is listed after; None on the last page.
    resume_after: tuple[str, str] | None


@dataclass
class _Outcome:
    """What one worker did with one page."""

    gone: list[_Entry] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Not attempted, or not finished, before the deadline.
    unfinished: int = 0


class ListingRefused(Exception):
    """S3 refused to list (its error code), or did not answer before the deadline ("Timeout")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


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
    return _network_error_or(error, TRANSIENT_CODES)


def overload(error: BaseException) -> bool:
    return _network_error_or(error, THROTTLE_CODES)


def _network_error_or(error: BaseException, codes: frozenset[str]) -> bool:
    """A connection or timeout error, or an S3 error whose code is one of ``codes``."""
    if isinstance(error, HTTPClientError | ConnectionError):
        return True
    return isinstance(error, ClientError) and error_code(error) in codes


def _versions_of(page: dict[str, Any], skip: Callable[[tuple[str, str]], bool]) -> list[_Version]:
    return [
        _Version(item["Key"], item["VersionId"], is_marker)
        for is_marker, items in ((False, page.get("Versions", [])), (True, page.get("DeleteMarkers", [])))
        for item in items
        if not skip((item["Key"], item["VersionId"]))
    ]


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
        listers: int = 4,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix
        self.workers = workers
        self.listers = listers
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._deadline = 0.0
        #: One per prefix listed on its own, kept from pass to pass: what S3 accepts is learnt once.
        self._pacers: dict[str, Pacer] = {}
        self._lock = threading.Lock()

    def run(self, deadline: float) -> PurgeResult:
        """Purges until the prefix is empty, S3 refuses a listing, or ``deadline`` (clock time)."""
        self._deadline = deadline
        result = PurgeResult()
        refused: set[tuple[str, str]] = set()
        confirmed_before = array("q")
        with ThreadPoolExecutor(max_workers=self.listers, thread_name_prefix="purge-list") as listers:
            while True:
                current = _Pass(confirmed_before)
                _Sweep(self, listers=listers, result=result, current=current, refused=refused).run()
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

    def pacer(self, prefix: str) -> Pacer:
        with self._lock:
            if prefix not in self._pacers:
                self._pacers[prefix] = Pacer(self.clock, slow_answer_seconds=SLOW_ANSWER_SECONDS)
            return self._pacers[prefix]

    # Requests ----------------------------------------------------------------------------------

    def _request(
        self,
        operation: Callable[..., dict],
        *,
        pacer: Pacer | None = None,
        keys: int = 0,
        attempt: int = 0,
        **params: Any,
    ) -> dict:
        """One request, retried while transient and the deadline allows; raises _Refused or
        _OutOfTime.

        With a ``pacer``, each attempt waits for a slot for its ``keys`` deletes, and tells the
        pacer how S3 answered. ``attempt`` > 0: this is already a retry, which backs off first.
        """
        while True:
            delay, ticket = pacer.book(keys) if pacer else (0.0, 0)
            if attempt:
                delay = max(delay, self._jitter(attempt))
            self._wait(delay, wait_for_zero=attempt > 0)
            while pacer and not pacer.still_valid(ticket):
                delay, ticket = pacer.book(keys)
                self._wait(delay)
            started = self.clock()
            try:
                response = operation(**params)
            except ResponseParserError:
                raise _Refused(UNPARSEABLE) from None
            except (ClientError, BotoCoreError) as error:
                if not transient(error):
                    raise _Refused(error_code(error)) from None
                if pacer and overload(error):
                    pacer.overloaded(ticket)
            else:
                if pacer:
                    pacer.answered(keys, self.clock() - started, ticket)
                    # For throttles S3 reports per key inside the answer.
                    response.setdefault("ResponseMetadata", {})[PACER_TICKET] = ticket
                return response
            attempt += 1

    def _jitter(self, attempt: int) -> float:
        """A random time up to an exponentially growing bound (full jitter)."""
        return self.rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt))

    def _wait(self, delay: float, *, wait_for_zero: bool = False) -> None:
        """Waits ``delay`` seconds, unless a request started after it could end past the deadline."""
        if self.clock() + delay + REQUEST_SECONDS > self._deadline:
            raise _OutOfTime
        if delay > 0 or wait_for_zero:
            self.sleep(delay)

    # Listing -----------------------------------------------------------------------------------

    def prefixes(self, skip: Callable[[tuple[str, str]], bool]) -> tuple[list[str], list[_Version]] | None:
        """The prefixes one level below the purge's ("/" delimited) and the entries directly under
        it, from one listing page; None when they do not fit in it, or are more than
        ``MAX_LANES`` prefixes (listing each would cost more requests than it gains)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": MAX_KEYS_PER_DELETE, "Delimiter": "/"}
        if self.prefix:
            params["Prefix"] = self.prefix
        page = self._request(self.s3.list_object_versions, **params)
        prefixes = [common["Prefix"] for common in page.get("CommonPrefixes", [])]
        if page.get("IsTruncated") or len(prefixes) > MAX_LANES:
            return None
        return prefixes, _versions_of(page, skip)

    def job_lanes(self, deadline: float, *, max_lanes: int, max_bytes: int) -> list[str]:
        """The prefixes a job purges each in a Lambda of its own: those one level below the
        purge's ("/" delimited), or below the only prefix there when nothing else is (down to
        where the keys fan out, ``MAX_DESCENT`` levels at most).

        [] when one Lambda would do as well: at most one prefix, more than ``max_lanes`` of them,
        names longer than ``max_bytes`` in all (JSON), or more than ``MAX_PLAN_PAGES`` listing
        pages to find them. Raises ``ListingRefused`` when S3 refuses the listing or the deadline
        comes first.
        """
        self._deadline = deadline
        prefix = self.prefix
        try:
            for _ in range(MAX_DESCENT):
                found = self._prefixes_below(prefix, max_lanes)
                if found is None:
                    return []
                prefixes, entries_beside = found
                if len(prefixes) == 1 and not entries_beside:
                    prefix = prefixes[0]
                    continue
                names_bytes = len(json.dumps(prefixes, ensure_ascii=False).encode("utf-8", "surrogatepass"))
                return prefixes if len(prefixes) > 1 and names_bytes <= max_bytes else []
        except _Refused as refusal:
            raise ListingRefused(refusal.code) from None
        except _OutOfTime:
            raise ListingRefused("Timeout") from None
        return []

    def _prefixes_below(self, prefix: str, limit: int) -> tuple[list[str], bool] | None:
        """Every prefix one level below ``prefix``, and whether entries lie beside them; None past
        ``limit`` prefixes or ``MAX_PLAN_PAGES`` pages."""
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": MAX_KEYS_PER_DELETE, "Delimiter": "/"}
        if prefix:
            params["Prefix"] = prefix
        prefixes: list[str] = []
        entries_beside = False
        for _ in range(MAX_PLAN_PAGES):
            page = self._request(self.s3.list_object_versions, **params)
            prefixes += [common["Prefix"] for common in page.get("CommonPrefixes", [])]
            entries_beside = entries_beside or bool(page.get("Versions") or page.get("DeleteMarkers"))
            if len(prefixes) > limit:
                return None
            if not page.get("IsTruncated"):
                return prefixes, entries_beside
            params["KeyMarker"] = page.get("NextKeyMarker", "")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker", "")
        return None

    def version_pages(
        self, prefix: str, *, skip: Callable[[tuple[str, str]], bool], stop: threading.Event
    ) -> Iterator[_Page]:
        """Pages of versions and delete markers under ``prefix``."""
        params: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": MAX_KEYS_PER_DELETE}
        if prefix:
            params["Prefix"] = prefix
        while not stop.is_set():
            # botocore asks for EncodingType=url here and decodes the keys itself.
            page = self._request(self.s3.list_object_versions, **params)
            entries = _versions_of(page, skip)
            if not page.get("IsTruncated"):
                yield _Page(entries, None)
                return
            params["KeyMarker"] = page.get("NextKeyMarker", "")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker", "")
            yield _Page(entries, (params["KeyMarker"], params["VersionIdMarker"]))

    def upload_pages(
        self, *, skip: Callable[[tuple[str, str]], bool], stop: threading.Event
    ) -> Iterator[_Page]:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "MaxUploads": MAX_UPLOADS_PER_PAGE,
            "EncodingType": "url",
        }
        if self.prefix:
            params["Prefix"] = self.prefix
        while not stop.is_set():
            page = self._request(self.s3.list_multipart_uploads, **params)
            encoded = page.get("EncodingType") == "url"
            entries = [
                _Upload(unquote_plus(item["Key"]) if encoded else item["Key"], item["UploadId"])
                for item in page.get("Uploads", [])
            ]
            entries = [upload for upload in entries if not skip(upload.identity)]
            if not page.get("IsTruncated"):
                yield _Page(entries, None)
                return
            marker = page.get("NextKeyMarker", "")
            params["KeyMarker"] = unquote_plus(marker) if encoded else marker
            params["UploadIdMarker"] = page.get("NextUploadIdMarker", "")
            yield _Page(entries, (params["KeyMarker"], params["UploadIdMarker"]))

    # Deleting ----------------------------------------------------------------------------------

    def abort_uploads(self, uploads: list[_Upload]) -> _Outcome:
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

    def delete_versions(self, batch: list[_Version], pacer: Pacer) -> _Outcome:
        """One page, in chunks the pacer allows: DeleteObjects for what XML can carry,
        DeleteObject for the rest."""
        outcome = _Outcome()
        one_by_one = [v for v in batch if xml_unsafe(v.key)]
        pending = [v for v in batch if not xml_unsafe(v.key)]
        chunk: list[_Version] = []
        try:
            while pending:
                size = pacer.chunk_size()
                chunk, pending = pending[:size], pending[size:]
                one_by_one += self._delete_chunk(chunk, pacer, outcome)
            while one_by_one:
                version = one_by_one[0]
                try:
                    self._request(
                        self.s3.delete_object,
                        pacer=pacer,
                        keys=1,
                        Bucket=self.bucket,
                        Key=version.key,
                        VersionId=version.version_id,
                    )
                    outcome.gone.append(version)
                except _Refused as refusal:
                    outcome.failures.append(version.failure(refusal.code))
                one_by_one.pop(0)
        except _OutOfTime:
            outcome.unfinished = len(chunk) + len(pending) + len(one_by_one)
        return outcome

    def _delete_chunk(self, chunk: list[_Version], pacer: Pacer, outcome: _Outcome) -> list[_Version]:
        """Deletes ``chunk`` (retrying keys S3 throttled); returns the keys to delete one by one.

        Raises _OutOfTime with the keys not yet deleted still in ``chunk`` (its caller counts them);
        whatever else happens, ``chunk`` is empty on return.
        """
        attempt = 0
        while chunk:
            try:
                errors = self._delete_objects(chunk, pacer, attempt)
            except _Refused as refusal:
                refused_chunk = chunk[:]
                chunk[:] = []
                if refusal.code == "MalformedXML":
                    return refused_chunk
                outcome.failures += [v.failure(refusal.code) for v in refused_chunk]
                return []
            outcome.gone += [v for v in chunk if v.identity not in errors]
            outcome.failures += [
                v.failure(errors[v.identity])
                for v in chunk
                if v.identity in errors and errors[v.identity] not in TRANSIENT_CODES
            ]
            chunk[:] = [v for v in chunk if errors.get(v.identity) in TRANSIENT_CODES]
            attempt += 1
        return []

    def _delete_objects(
        self, batch: list[_Version], pacer: Pacer, attempt: int
    ) -> dict[tuple[str, str], str]:
        """One DeleteObjects call (Quiet: S3 reports errors only); returns error codes by entry."""
        response = self._request(
            self.s3.delete_objects,
            pacer=pacer,
            keys=len(batch),
            attempt=attempt,
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": v.key, "VersionId": v.version_id} for v in batch], "Quiet": True},
        )
        errors: dict[tuple[str, str], str] = {}
        if any(error.get("Code") in THROTTLE_CODES for error in response.get("Errors", [])):
            pacer.overloaded(response["ResponseMetadata"][PACER_TICKET])
        for error in response.get("Errors", []):
            code = error.get("Code") or "Unknown"
            if error.get("VersionId") is not None:
                errors[(error.get("Key"), error["VersionId"])] = code
            else:  # No version id in the error: it applies to every entry of that key.
                errors.update({v.identity: code for v in batch if v.key == error.get("Key")})
        return errors


class _Sweep:
    """One pass over the bucket: every lane listed and deleted at once.

    Lanes: the multipart uploads; and, when one listing page with a "/" delimiter holds every
    prefix one level down (``MAX_LANES`` at most), one lane per prefix, each listed by its own
    thread (``listers`` at a time) and paced on its own, since S3's rate limit is per prefix, and
    the entries beside them deleted from that page. Otherwise (a flat bucket, or thousands of
    small prefixes) the versions are one lane, listed page by page.

    Each lane deletes with workers of its own (``workers`` of them): a chunk waits for its pacer's
    slot in the worker that took it, so with workers shared, the chunks of one lane booked ahead at
    its rate held the workers the other lanes needed (three prefixes of 50,000 objects on the model
    of S3: 7,285-7,481 entries/s with one shared pool, 8,569 with a pool each).

    A lane that S3 refuses, or that runs out of time, stops the others from listing further; what
    is in flight is waited for and recorded first.
    """

    def __init__(
        self,
        purger: BucketPurger,
        *,
        listers: ThreadPoolExecutor,
        result: PurgeResult,
        current: _Pass,
        refused: set[tuple[str, str]],
    ) -> None:
        self.purger = purger
        self.listers = listers
        self.result = result
        self.current = current
        self.refused = refused
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._lanes: list[Future[None]] = []

    def run(self) -> None:
        self._start(self._uploads_lane)
        self._guarded(self._versions)
        # Only _versions starts lanes, and it has returned: the list is final.
        for lane in self._lanes:
            lane.result()

    def _start(self, lane: Callable[[], None]) -> None:
        self._lanes.append(self.listers.submit(self._guarded, lane))

    def _guarded(self, lane: Callable[[], None]) -> None:
        try:
            lane()
        except _OutOfTime:
            self.result.out_of_time = True
            self.stop.set()
        except _Refused as refusal:
            self.result.refused = refusal.code
            self.stop.set()

    def _uploads_lane(self) -> None:
        self._pipelined(
            self.purger.upload_pages(skip=self._skip, stop=self.stop),
            self.purger.abort_uploads,
            lambda: UPLOADS_PER_TASK,
        )

    def _versions(self) -> None:
        """A lane per prefix found one level down, and the entries beside them; or, when there are
        too many prefixes to list one by one, one lane for everything."""
        found = self.purger.prefixes(self._skip)
        if found is None:
            self._lane(self.purger.prefix)
            return
        prefixes, top_level = found
        for prefix in prefixes:
            self._start(functools.partial(self._lane, prefix))
        if top_level:
            pacer = self.purger.pacer(self.purger.prefix)
            work = functools.partial(self.purger.delete_versions, pacer=pacer)
            self._pipelined(iter([_Page(top_level, None)]), work, pacer.chunk_size)

    def _lane(self, prefix: str) -> None:
        pacer = self.purger.pacer(prefix)
        pages = self.purger.version_pages(prefix, skip=self._skip, stop=self.stop)
        self._pipelined(pages, functools.partial(self.purger.delete_versions, pacer=pacer), pacer.chunk_size)

    def _skip(self, identity: tuple[str, str]) -> bool:
        return identity in self.refused

    def _pipelined(
        self, pages: Iterator[_Page], work: Callable[[list[Any]], _Outcome], chunk_size: Callable[[], int]
    ) -> None:
        """Runs ``work`` on each listed page, in chunks of ``chunk_size()`` entries spread over the
        lane's workers, while the listing goes on.

        The entry a listing resumes after (its marker) is held back until the next page has been
        listed: some S3 implementations (moto among them) lose their place, and skip the rest of
        the bucket, when it is already gone. Whatever ends the listing (its end, a refusal, the
        deadline), the work in flight is waited for and recorded first.
        """
        in_flight: deque[Future[_Outcome]] = deque()
        held: list[Any] = []
        with ThreadPoolExecutor(max_workers=self.purger.workers, thread_name_prefix="purge") as pool:
            try:
                for page in pages:
                    self._listed(page.entries)
                    ready = held + [entry for entry in page.entries if entry.identity != page.resume_after]
                    held = [entry for entry in page.entries if entry.identity == page.resume_after]
                    while ready:
                        size = chunk_size()
                        in_flight.append(pool.submit(work, ready[:size]))
                        ready = ready[size:]
                    # Bounded: a few pages in memory at most.
                    while len(in_flight) > IN_FLIGHT_PER_WORKER * self.purger.workers:
                        self._record(in_flight.popleft().result())
                if held:
                    in_flight.append(pool.submit(work, held))
            finally:
                while in_flight:
                    self._record(in_flight.popleft().result())

    def _listed(self, entries: list[Any]) -> None:
        with self._lock:
            # Confirmed gone in the pass before, and listed again: it was not gone.
            self.result.deleted.tally([entry for entry in entries if self.current.saw(entry)], sign=-1)

    def _record(self, outcome: _Outcome) -> None:
        with self._lock:
            self.result.deleted.tally(outcome.gone)
            self.current.confirm(outcome.gone)
            for failure in outcome.failures:
                self.refused.add((failure.key, failure.version_id or failure.upload_id or ""))
            self.result.failures.extend(outcome.failures)
            if outcome.unfinished:
                self.result.out_of_time = True
