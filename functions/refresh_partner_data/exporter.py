"""One dataset and day: fetch (with retries), spool the rows on local disk, upload the CSV.

Nothing an export meets, from the partner or from S3, escapes it: it ends as a result, written or
failed with a reason, before its deadline. Fetching stops ``UPLOAD_RESERVE_SECONDS`` before it, to
leave the upload its time.
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

from lambda_shared.aws import error_code
from lambda_shared.logs import get_logger
from refresh_partner_data.csv_spool import CsvSpool, RowError
from refresh_partner_data.datasets import declared_columns
from refresh_partner_data.partner_client import PartnerApi, PartnerApiError, RetryPolicy
from refresh_partner_data.s3_upload import upload_csv, upload_csv_file

logger = get_logger("refresh_partner_data")

#: Kept at the end for the upload: three attempts of an 8 MiB part, each bounded by the client's
#: timeouts (S3_CLIENT in handler.py: 5 s to connect, 20 s to read).
UPLOAD_RESERVE_SECONDS = 90.0


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
    extra_columns: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "date": self.day.isoformat(),
            "key": self.key,
            "status": "written" if self.ok else "failed",
            "rows": self.rows,
            "bytes": self.bytes,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            **({"error": self.error} if self.error else {}),
            **({"extra_columns": self.extra_columns[:20]} if self.extra_columns else {}),
        }


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

    def export(self, dataset: str, day: date) -> ExportResult:
        """Fetches, writes and uploads one day of one dataset; never raises."""
        result = ExportResult(dataset, day, object_key(dataset, day))
        started = self.clock()
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
        return result

    def _fetch(self, dataset: str, day: date, scratch: str, result: ExportResult) -> CsvSpool:
        """The day's rows in a spool, after as many attempts as the policy and the clock allow."""
        fetch_deadline = self.deadline - UPLOAD_RESERVE_SECONDS
        while True:
            result.attempts += 1
            spool = CsvSpool(os.path.join(scratch, "rows.spool"), declared_columns(dataset))
            try:
                with self.api.rows(dataset, day, deadline=fetch_deadline) as rows:
                    spool.add_all(rows)
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
        result.rows = spool.rows
        result.extra_columns = list(spool.extra)
        if spool.extra:
            logger.warning(
                "columns the dataset does not declare were appended",
                extra={"dataset": dataset, "date": day.isoformat(), "columns": spool.extra[:20]},
            )
        if self.clock() > self.deadline - UPLOAD_RESERVE_SECONDS:
            raise _GiveUp("no time left to upload the file")
        metadata = {"rows": str(spool.rows), "dataset": dataset, "date": day.isoformat()}
        path = spool.whole_file()
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
