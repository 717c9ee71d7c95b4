"""One dataset and day: fetch (with retries), spool the rows on local disk, upload the CSV.

Nothing an export meets, from the partner or from S3, escapes it: it ends as a result, written or
failed with a reason, before its deadline. Fetching stops ``UPLOAD_RESERVE_SECONDS`` before it, to
leave the upload its time.

Each file's metadata names the invocation that wrote it (``request_id``, Lambda's request id,
which its asynchronous retries keep): a retry skips the exports it already wrote, so the tail of a
long backfill gets done instead of the head being written again.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared import metrics
from lambda_shared.aws import error_code
from lambda_shared.logs import get_logger
from refresh_partner_data.csv_spool import CsvSpool, RowError
from refresh_partner_data.datasets import declared_columns
from refresh_partner_data.partner_client import PartnerApi, PartnerApiError, RetryPolicy
from refresh_partner_data.partner_text import cut
from refresh_partner_data.s3_upload import upload_csv, upload_csv_file

logger = get_logger("refresh_partner_data")

#: Kept at the end for the upload: three attempts of an 8 MiB part, each bounded by the client's
#: timeouts (S3_CLIENT in handler.py: 5 s to connect, 20 s to read).
UPLOAD_RESERVE_SECONDS = 90.0
#: The file's metadata key naming the invocation that wrote it.
REQUEST_ID_METADATA = "refresh-request-id"
#: Undeclared column names listed in a log line or the summary, at most.
LISTED_COLUMNS = 20


def object_key(dataset: str, day: date) -> str:
    return f"{dataset}/{day.isoformat()}.csv"


@dataclass
class ExportResult:
    dataset: str
    day: date
    key: str
    ok: bool = False
    rows: int = 0
    bytes: int = 0
    attempts: int = 0
    duration_ms: int = 0
    error: str | None = None
    #: Undeclared columns, cut (partner_text.cut): the partner names them.
    extra_columns: list[str] = field(default_factory=list)
    #: Declared columns that no row carried.
    absent_columns: list[str] = field(default_factory=list)
    nul_replaced: int = 0
    #: Written earlier by this same invocation (a retry of it): not fetched again.
    already_written: bool = False
    #: Not started: not enough time was left to finish it.
    not_started: bool = False

    @property
    def status(self) -> str:
        return "written" if self.ok else "not started" if self.not_started else "failed"

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "date": self.day.isoformat(),
            "key": self.key,
            "status": self.status,
            "rows": self.rows,
            "bytes": self.bytes,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            **({"error": self.error} if self.error else {}),
            **({"already_written": True} if self.already_written else {}),
            **({"extra_columns": self.extra_columns[:LISTED_COLUMNS]} if self.extra_columns else {}),
            **({"absent_columns": self.absent_columns} if self.absent_columns else {}),
            **({"nul_replaced": self.nul_replaced} if self.nul_replaced else {}),
        }


def export_metrics(result: ExportResult) -> None:
    """The export's metrics (lambda_shared/metrics.py), under the dimension Dataset. A file written
    gives its rows, bytes and seconds; one skipped as already written by this invocation only
    counts as written (its rows were counted when it was); one failed or not started counts as
    failed."""
    values: dict[str, float] = {"ExportsWritten": int(result.ok), "ExportsFailed": int(not result.ok)}
    if result.ok and not result.already_written:
        values.update(
            ExportRows=result.rows, ExportBytes=result.bytes, ExportSeconds=result.duration_ms / 1000
        )
    metrics.emit(
        {"Dataset": result.dataset}, values, {"date": result.day.isoformat(), "status": result.status}
    )


class _GiveUp(Exception):
    pass


@dataclass
class Exporter:
    api: PartnerApi
    s3: Any
    bucket: str
    #: Clock time by which every export must have ended, uploaded or failed.
    deadline: float = float("inf")
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    workdir: str | None = None
    #: The invocation's request id, written in each file's metadata; None: nothing is skipped.
    request_id: str | None = None

    def export(self, dataset: str, day: date) -> ExportResult:
        """Fetches, writes and uploads one day of one dataset; never raises."""
        result = ExportResult(dataset, day, object_key(dataset, day))
        started = self.clock()
        if self._written_by_this_invocation(result):
            logger.info("export already written by this invocation: skipped", extra=result.summary())
            export_metrics(result)
            return result
        with tempfile.TemporaryDirectory(prefix=f"{dataset}-", dir=self.workdir) as scratch:
            try:
                spool = self._fetch(dataset, day, scratch, result)
                try:
                    self._upload(spool, dataset, day, result)
                finally:
                    spool.discard()
                result.ok = True
            except _GiveUp as error:
                result.error = str(error)
            except (S3UploadFailedError, ClientError, BotoCoreError) as error:
                result.error = f"upload to S3 failed ({_s3_error_code(error)})"
            except OSError as error:
                result.error = f"local disk error ({type(error).__name__}: {error.strerror or 'unknown'})"
            except Exception as error:  # Partner data is hostile: nothing escapes an export.
                # The type only: a message may hold the partner's bytes.
                result.error = f"unexpected error ({type(error).__name__})"
        result.duration_ms = round((self.clock() - started) * 1000)
        if result.ok:
            logger.info("export written", extra=result.summary())
        else:
            logger.error("export failed", extra=result.summary())
        export_metrics(result)
        return result

    def _written_by_this_invocation(self, result: ExportResult) -> bool:
        if not self.request_id:
            return False
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=result.key)
        except (ClientError, BotoCoreError):
            return False  # Not there (403 without s3:ListBucket, or 404), or S3 unsure: export it.
        metadata = head.get("Metadata", {})
        if metadata.get(REQUEST_ID_METADATA) != self.request_id:
            return False
        result.ok = result.already_written = True
        result.rows = int(metadata.get("rows", "0")) if metadata.get("rows", "").isdigit() else 0
        result.bytes = head.get("ContentLength", 0)
        return True

    def _fetch(self, dataset: str, day: date, scratch: str, result: ExportResult) -> CsvSpool:
        """The day's rows in a spool, after as many attempts as the policy and the clock allow."""
        fetch_deadline = self.deadline - UPLOAD_RESERVE_SECONDS
        while True:
            result.attempts += 1
            spool = CsvSpool(os.path.join(scratch, "rows.spool"), declared_columns(dataset))
            try:
                with self.api.rows(dataset, day, deadline=fetch_deadline) as rows:
                    spool.add_all(rows, position=rows.bytes_read)
                return spool
            except RowError as error:
                spool.discard()
                raise _GiveUp(f"the partner sent a row that cannot be written: {error}") from None
            except PartnerApiError as error:
                spool.discard()
                self._wait_or_give_up(error, dataset, day, result.attempts, fetch_deadline)
            except BaseException:
                spool.discard()
                raise

    def _upload(self, spool: CsvSpool, dataset: str, day: date, result: ExportResult) -> None:
        path = spool.whole_file()  # Ends the writing: the spool's counts are final.
        result.rows = spool.rows
        result.extra_columns = [cut(name) for name in spool.extra[:LISTED_COLUMNS]]
        result.absent_columns = spool.absent
        result.nul_replaced = spool.nul_replaced
        where = {"dataset": dataset, "date": day.isoformat()}
        if spool.extra:
            logger.warning(
                "columns the dataset does not declare were added after the declared ones, sorted",
                extra={**where, "count": len(spool.extra), "columns": result.extra_columns},
            )
        if result.absent_columns:
            logger.warning(
                "declared columns that no row carried are written empty",
                extra={**where, "columns": result.absent_columns},
            )
        if spool.nul_replaced:
            logger.warning(
                "U+0000 characters were written as U+FFFD (loaders refuse NUL in text)",
                extra={**where, "count": spool.nul_replaced},
            )
        if self.clock() > self.deadline - UPLOAD_RESERVE_SECONDS:
            raise _GiveUp("no time left to upload the file")
        metadata = {"rows": str(spool.rows), "dataset": dataset, "date": day.isoformat()}
        if self.request_id:
            metadata[REQUEST_ID_METADATA] = self.request_id
        if path is not None:
            upload_csv_file(self.s3, path, self.bucket, result.key, metadata)
            result.bytes = os.path.getsize(path)
            return
        with spool.stream() as body:
            counted = _Counted(body)
            upload_csv(self.s3, counted, self.bucket, result.key, metadata)
        result.bytes = counted.bytes

    def _wait_or_give_up(
        self, error: PartnerApiError, dataset: str, day: date, attempts: int, deadline: float
    ) -> None:
        if not error.retryable:
            raise _GiveUp(str(error))
        if attempts >= self.policy.attempts:
            raise _GiveUp(f"{error}; gave up after {attempts} attempts")
        delay = self.policy.delay(attempts, error.retry_after, self.rng)
        if self.clock() + delay >= deadline:
            raise _GiveUp(f"{error}; no time left to retry after {attempts} attempts")
        logger.warning(
            "partner API request failed; retrying",
            extra={
                "dataset": dataset,
                "date": day.isoformat(),
                "attempt": attempts,
                "error": str(error),
                "retry_in_s": round(delay, 3),
                "url": self.api.url(dataset, day, redacted=True),
            },
        )
        self.sleep(delay)


class _Counted:
    """A readable stream that counts the bytes read from it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.bytes += len(data)
        return data


def _s3_error_code(error: Exception) -> str:
    """S3's code: boto3 wraps a failed upload's ClientError in S3UploadFailedError."""
    cause = error.__context__ if isinstance(error, S3UploadFailedError) else error
    return error_code(cause or error)
