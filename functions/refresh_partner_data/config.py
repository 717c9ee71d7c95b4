"""The function's configuration, read from environment variables set by Terraform.

Every problem is reported with the variable's name, before any request is made.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lambda_shared.metrics import METRICS_NAMESPACE
from lambda_shared.s3_names import is_valid_bucket_name
from refresh_partner_data.body_checks import MIN_FIELD_BYTES
from refresh_partner_data.partner_client import BodyLimits

PARTNER_API_URL = "PARTNER_API_URL"
PARTNER_API_TOKEN_PARAMETER = "PARTNER_API_TOKEN_PARAMETER"  # noqa: S105 - a variable name
PARTNER_API_TOKEN_IN = "PARTNER_API_TOKEN_IN"  # noqa: S105 - a variable name
DATA_BUCKET = "DATA_BUCKET"
DATASETS = "DATASETS"
TIMEZONE = "TIMEZONE"
MAX_FIELD_BYTES = "MAX_FIELD_BYTES"
MAX_BODY_BYTES = "MAX_BODY_BYTES"
#: Set by Lambda itself: the function's memory, in MB.
LAMBDA_MEMORY_MB = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"

#: Every environment variable this function reads: Terraform must set exactly these.
ENVIRONMENT_VARIABLES = (
    PARTNER_API_URL,
    PARTNER_API_TOKEN_PARAMETER,
    PARTNER_API_TOKEN_IN,
    DATA_BUCKET,
    DATASETS,
    TIMEZONE,
    MAX_FIELD_BYTES,
    MAX_BODY_BYTES,
    METRICS_NAMESPACE,
)
#: Where the token goes: the x-functions-key header (Azure Functions' own), or the code parameter.
TOKEN_PLACES = ("header", "query")

DEFAULT_DATASETS = ("category", "establishment", "sale")
DEFAULT_TIMEZONE = "America/Sao_Paulo"
#: Query parameters this function sets itself; the configured URL must not carry them.
RESERVED_QUERY_PARAMETERS = frozenset({"table", "saleDate", "code"})
_DATASET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
MiB = 1024 * 1024
#: The longest value is at most this share of memory: ijson builds a string whole and the process
#: peaks at about 7 times its size, in each of the three exports running at once (7 x 3 = 21 of
#: 48 parts), beside the uploads' parts. Terraform computes the same (terraform/main.tf).
MEMORY_PER_FIELD_BYTE = 48
#: A body is at most this share of /tmp: its CSV is about half its size (the keys are gone), and three
#: exports spool at once.
STORAGE_PER_BODY_BYTE = 2
DEFAULT_MEMORY_MB = 512
DEFAULT_EPHEMERAL_STORAGE_MB = 512


def max_field_bytes_for(memory_mb: int) -> int:
    return memory_mb * MiB // MEMORY_PER_FIELD_BYTE


def max_body_bytes_for(ephemeral_storage_mb: int) -> int:
    return ephemeral_storage_mb * MiB // STORAGE_PER_BODY_BYTE


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    token_parameter: str | None
    token_in: str
    bucket: str
    datasets: tuple[str, ...]
    timezone: ZoneInfo
    limits: BodyLimits

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            api_url=_api_url(environ.get(PARTNER_API_URL, "").strip()),
            token_parameter=environ.get(PARTNER_API_TOKEN_PARAMETER, "").strip() or None,
            token_in=_token_in(environ.get(PARTNER_API_TOKEN_IN, "").strip() or TOKEN_PLACES[0]),
            bucket=_bucket(environ.get(DATA_BUCKET, "").strip()),
            datasets=_datasets(environ.get(DATASETS, "").strip()),
            timezone=_timezone(environ.get(TIMEZONE, "").strip() or DEFAULT_TIMEZONE),
            limits=_limits(environ),
        )


def _limits(environ: Mapping[str, str]) -> BodyLimits:
    memory = environ.get(LAMBDA_MEMORY_MB, "").strip()
    memory_mb = int(memory) if memory.isascii() and memory.isdigit() else DEFAULT_MEMORY_MB
    return BodyLimits(
        max_field_bytes=_byte_count(
            environ, MAX_FIELD_BYTES, max_field_bytes_for(memory_mb), minimum=MIN_FIELD_BYTES
        ),
        max_body_bytes=_byte_count(
            environ, MAX_BODY_BYTES, max_body_bytes_for(DEFAULT_EPHEMERAL_STORAGE_MB), minimum=MIN_FIELD_BYTES
        ),
    )


def _byte_count(environ: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) < minimum:
        raise ConfigError(f"{name} must be a whole number of bytes, at least {minimum:,}, not {value!r}")
    return int(value)


def _api_url(url: str) -> str:
    if not url:
        raise ConfigError(f"{PARTNER_API_URL} is required: the partner API endpoint URL")
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ConfigError(f"{PARTNER_API_URL} must be an http(s) URL with a host")
    if parts.username or parts.password:
        raise ConfigError(f"{PARTNER_API_URL} must not carry credentials; use {PARTNER_API_TOKEN_PARAMETER}")
    if parts.fragment:
        raise ConfigError(f"{PARTNER_API_URL} must not have a #fragment")
    reserved = sorted(RESERVED_QUERY_PARAMETERS & {name for name, _ in parse_qsl(parts.query)})
    if reserved:
        raise ConfigError(
            f"{PARTNER_API_URL} must not set {', '.join(reserved)}: the function sets them"
            f" (the token comes from {PARTNER_API_TOKEN_PARAMETER})"
        )
    return url


def _token_in(place: str) -> str:
    if place not in TOKEN_PLACES:
        raise ConfigError(f"{PARTNER_API_TOKEN_IN} must be one of {', '.join(TOKEN_PLACES)}, not {place!r}")
    return place


def _bucket(name: str) -> str:
    if not name:
        raise ConfigError(f"{DATA_BUCKET} is required: the bucket the CSV files are written to")
    if not is_valid_bucket_name(name):
        raise ConfigError(f"{DATA_BUCKET} is not a valid S3 bucket name: {name!r}")
    return name


def _datasets(value: str) -> tuple[str, ...]:
    if not value:
        return DEFAULT_DATASETS
    names = [name.strip() for name in value.split(",")]
    invalid = [name for name in names if not _DATASET_NAME.fullmatch(name)]
    if invalid:
        raise ConfigError(
            f"{DATASETS} has invalid dataset names {invalid!r}: use letters, digits, '_' and '-'"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"{DATASETS} names a dataset twice: {value!r}")
    return tuple(names)


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{TIMEZONE} is not a known IANA time zone: {name!r}") from None
