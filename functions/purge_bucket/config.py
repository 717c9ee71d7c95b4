"""The functions' configuration, read from environment variables set by Terraform.

The purge function (the API's) reads ``ENVIRONMENT_VARIABLES``; the worker, which the job's state
machine invokes, reads ``WORKER_ENVIRONMENT_VARIABLES``. Missing values fail closed: no password
matches, no bucket is allowed, no job can start.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from lambda_shared.metrics import METRICS_NAMESPACE

PASSWORD_PARAMETER = "PASSWORD_PARAMETER"  # noqa: S105 - a variable name, not a password
ALLOWED_BUCKETS = "ALLOWED_BUCKETS"
JOBS_TABLE = "JOBS_TABLE"
JOB_STATE_MACHINE_ARN = "JOB_STATE_MACHINE_ARN"
JOB_RETENTION_DAYS = "JOB_RETENTION_DAYS"
#: Not set by Terraform: the local stack's way to make a small bucket need a job (the demo, the
#: tests). It can only shorten the time a request purges inline, never lengthen it.
INLINE_SECONDS = "PURGE_INLINE_SECONDS"

#: Every environment variable Terraform sets on each function: exactly these.
ENVIRONMENT_VARIABLES = (
    PASSWORD_PARAMETER,
    ALLOWED_BUCKETS,
    JOBS_TABLE,
    JOB_STATE_MACHINE_ARN,
    JOB_RETENTION_DAYS,
    METRICS_NAMESPACE,
)
WORKER_ENVIRONMENT_VARIABLES = (ALLOWED_BUCKETS, JOBS_TABLE, JOB_RETENTION_DAYS, METRICS_NAMESPACE)

#: A finished job's status is readable this long; terraform/variables.tf allows no less.
MIN_RETENTION_DAYS = 7
DEFAULT_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Settings:
    password_parameter: str
    allowed_buckets: frozenset[str]
    jobs_table: str
    state_machine_arn: str
    retention_days: int
    #: At most this long purging inline (None: as long as the request's budget allows).
    inline_seconds: float | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        allowed = frozenset(
            name.strip() for name in environ.get(ALLOWED_BUCKETS, "").split(",") if name.strip()
        )
        return cls(
            password_parameter=environ.get(PASSWORD_PARAMETER, "").strip(),
            allowed_buckets=allowed,
            jobs_table=environ.get(JOBS_TABLE, "").strip(),
            state_machine_arn=environ.get(JOB_STATE_MACHINE_ARN, "").strip(),
            retention_days=_retention_days(environ.get(JOB_RETENTION_DAYS, "")),
            inline_seconds=_seconds(environ.get(INLINE_SECONDS, "")),
        )


def _retention_days(text: str) -> int:
    """At least the promised seven days, whatever is set."""
    try:
        days = int(text)
    except ValueError:
        return DEFAULT_RETENTION_DAYS
    return max(days, MIN_RETENTION_DAYS)


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None
