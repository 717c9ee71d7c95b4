"""One dataset and day: fetch (with retries), write the CSV on local disk, upload it."""

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

from lambda_shared.logs import get_logger
from refresh_partner_data.csv_export import CsvSpool, RowError
from refresh_partner_data.partner_client import PartnerApi, PartnerApiError, RetryPolicy
from refresh_partner_data.s3_upload import upload_csv

logger = get_logger("refresh_partner_data")


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
        }


class _GiveUp(Exception):
    pass


@dataclass
class Exporter:
    api: PartnerApi
    s3: Any
    bucket: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    #: Seconds left before the invocation must stop; no retry waits past it.
    remaining_seconds: Callable[[], float] = lambda: float("inf")
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    workdir: str | None = None

    def export(self, dataset: str, day: date) -> ExportResult:
        result = ExportResult(dataset, day, object_key(dataset, day))
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"{dataset}-", dir=self.workdir) as scratch:
            csv_path = os.path.join(scratch, "export.csv")
            try:
                spool = self._fetch(dataset, day, scratch, result)
                result.rows = spool.rows
                result.bytes = spool.write_csv(csv_path)
                upload_csv(
                    self.s3,
                    csv_path,
                    self.bucket,
                    result.key,
                    {"rows": str(result.rows), "dataset": dataset, "date": day.isoformat()},
                )
                result.ok = True
            except _GiveUp as error:
                result.error = str(error)
            except (S3UploadFailedError, ClientError, BotoCoreError) as error:
                result.error = f"upload to S3 failed ({_s3_error_code(error)})"
            except OSError as error:
                result.error = f"local disk error ({type(error).__name__}: {error.strerror or 'unknown'})"
        result.duration_ms = round((time.monotonic() - started) * 1000)
        if result.ok:
            logger.info("export written", extra=result.summary())
        else:
            logger.error("export failed", extra=result.summary())
        return result

    def _fetch(self, dataset: str, day: date, scratch: str, result: ExportResult) -> CsvSpool:
        """The day's rows in a spool, after as many attempts as the policy and the clock allow."""
        while True:
            result.attempts += 1
            spool = CsvSpool(os.path.join(scratch, "rows.spool"))
            try:
                with self.api.rows(dataset, day) as rows:
                    for row in rows:
                        spool.add(row)
                return spool
            except RowError as error:
                spool.discard()
                raise _GiveUp(f"the partner sent a row that cannot be written: {error}") from None
            except PartnerApiError as error:
                spool.discard()
                self._wait_or_give_up(error, dataset, day, result.attempts)

    def _wait_or_give_up(self, error: PartnerApiError, dataset: str, day: date, attempts: int) -> None:
        if not error.retryable:
            raise _GiveUp(str(error))
        if attempts >= self.policy.attempts:
            raise _GiveUp(f"{error}; gave up after {attempts} attempts")
        delay = self.policy.delay(attempts, error.retry_after, self.rng)
        if delay >= self.remaining_seconds():
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


def _s3_error_code(error: Exception) -> str:
    cause = error.__context__ if isinstance(error, S3UploadFailedError) else error
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", "Unknown"))
    return type(cause or error).__name__
