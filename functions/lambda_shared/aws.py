"""boto3 clients, created once per execution environment and reused across invocations.

Every client honours ``AWS_ENDPOINT_URL`` (boto3 reads it itself), which is how the demo and the
benchmarks point the functions at a local AWS endpoint without the code knowing.
"""

from __future__ import annotations

import functools

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from lambda_shared.delete_serializer import use_lean_serializer
from lambda_shared.listing_parser import BOTOCORE_200_CHECK, LeanParserFactory, handle_200_error

#: Enough connections for the purge's parallel deletes and the refresh's parallel uploads.
MAX_POOL_CONNECTIONS = 16


@functools.cache
def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("response_parser_factory", LeanParserFactory())
    # Timestamps stay the strings AWS sent (as awscli does for --cli-timestamp-format none). The
    # functions read none of them, and parsing the 1,000 LastModified dates of a listing page is
    # about half the CPU the purge spends on that page.
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    if BOTOCORE_200_CHECK is not None:
        events = core.get_component("event_emitter")
        events.unregister("before-parse.s3.*", BOTOCORE_200_CHECK)
        events.register_first("before-parse.s3.*", handle_200_error)
    return boto3.session.Session(botocore_session=core)


@functools.cache
def client(
    service: str,
    *,
    attempts: int = 3,
    connect_timeout: float = 5.0,
    read_timeout: float = 60.0,
    pool_connections: int = MAX_POOL_CONNECTIONS,
    validate_parameters: bool = True,
):
    """The shared client for ``service`` with this retry budget and these timeouts.

    ``attempts`` counts the first try (1: botocore never retries, the caller does, on its clock).
    botocore's own ``max_attempts`` counts only the retries: ``total_max_attempts`` is the total.
    ``validate_parameters=False`` skips botocore's check of every request's parameters against the
    API model, for a caller whose parameters are built by its own code, not taken from input; such an
    S3 client also writes DeleteObjects bodies with ``delete_serializer`` instead of ElementTree.
    """
    config = Config(
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=pool_connections,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        parameter_validation=validate_parameters,
    )
    created = _session().client(service, config=config)
    if not validate_parameters:
        use_lean_serializer(created)
    return created


def error_code(error: BaseException) -> str:
    """AWS's error code for a botocore error (``ClientError``), else the exception's type name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "Unknown")
    return type(error).__name__
