"""boto3 clients, created once per execution environment and reused across invocations.

Every client honours ``AWS_ENDPOINT_URL`` (boto3 reads it itself), which is how the demo and the
benchmarks point the functions at a local AWS endpoint without the code knowing.
"""

from __future__ import annotations

import functools

import boto3
import botocore.session
from botocore.config import Config

#: Enough connections for the purge's parallel deletes and the refresh's parallel uploads.
MAX_POOL_CONNECTIONS = 16

#: S3 throttles bulk deletes with SlowDown: adaptive mode backs off and paces the client.
#: Everything else sits on a request path with a deadline, so it gives up sooner.
_RETRIES = {"s3": {"mode": "adaptive", "max_attempts": 10}}
_DEFAULT_RETRIES = {"mode": "standard", "max_attempts": 3}


@functools.cache
def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    # Timestamps stay the strings AWS sent (as awscli does for --cli-timestamp-format none). The
    # functions read none of them, and parsing the 1,000 LastModified dates of a listing page is
    # about half the CPU the purge spends on that page.
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    return boto3.session.Session(botocore_session=core)


@functools.cache
def client(service: str):
    """The shared client for ``service``."""
    config = Config(
        retries=_RETRIES.get(service, _DEFAULT_RETRIES),
        max_pool_connections=MAX_POOL_CONNECTIONS,
        connect_timeout=5,
        read_timeout=60,
    )
    return _session().client(service, config=config)
