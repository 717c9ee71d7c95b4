"""Lambda entry point for the nightly refresh (``handler.lambda_handler`` in the zip).

Reads the configuration and the event, runs the plan (``runner``), and raises ``RefreshFailed``
naming the exports that failed, after the others are written, so Lambda's asynchronous retries
and on-failure destination fire. Nothing it raises or logs carries the partner API token.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import urllib3

from lambda_shared import aws
from lambda_shared.invocation import remaining_seconds
from lambda_shared.logs import get_logger
from lambda_shared.parameters import ParameterError, secure_parameter
from refresh_partner_data.config import Settings
from refresh_partner_data.events import plan_from_event
from refresh_partner_data.exporter import Exporter
from refresh_partner_data.partner_client import PartnerApi, RetryPolicy
from refresh_partner_data.runner import RefreshFailed, run_plan

logger = get_logger("refresh_partner_data")

RETRY_POLICY = RetryPolicy()
#: Per read of the partner's response; the whole response has the invocation's deadline besides.
HTTP_TIMEOUT = urllib3.Timeout(connect=10.0, read=60.0)
#: Uploads: an 8 MiB part gets three attempts of at most 5 + 20 s (export.UPLOAD_RESERVE_SECONDS).
S3_CLIENT = {"attempts": 3, "connect_timeout": 5.0, "read_timeout": 20.0}
#: Kept from the Lambda timeout for logging the summary and returning.
SUMMARY_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 900.0

__all__ = ["RefreshFailed", "lambda_handler"]


def now() -> datetime:
    return datetime.now(UTC)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    settings = Settings.from_environ()
    plan = plan_from_event(event, now=now(), timezone=settings.timezone, configured=settings.datasets)
    api = PartnerApi(
        settings.api_url,
        _token(settings),
        token_in=settings.token_in,
        timeout=HTTP_TIMEOUT,
        limits=settings.limits,
    )
    deadline = started + remaining_seconds(context, DEFAULT_TIMEOUT_SECONDS) - SUMMARY_SECONDS
    exporter = Exporter(
        api,
        aws.client("s3", **S3_CLIENT),
        settings.bucket,
        deadline=deadline,
        policy=RETRY_POLICY,
        request_id=getattr(context, "aws_request_id", None),
    )
    return run_plan(plan, exporter, settings.bucket, started)


def _token(settings: Settings) -> str | None:
    name = settings.token_parameter
    if not name:
        return None
    try:
        token = secure_parameter(name).value()
    except ParameterError as error:
        raise RefreshFailed(f"the partner API token could not be read: {error}") from None
    return token or None
