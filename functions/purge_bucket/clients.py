"""Every AWS client the purge uses, each bounded so that its worst case is known in advance.

Each makes one attempt per request: retries are the caller's, on its own clock. The worst case of
one request is its connect timeout plus its read timeout, and the API path budgets its time
from these figures (``api/budget.py``).
"""

from __future__ import annotations

from typing import Any

from lambda_shared import aws
from purge_bucket.engine.deletion import CONNECT_TIMEOUT, READ_TIMEOUT

#: Delete requests in flight per lane (a prefix listed on its own, or the multipart uploads).
DELETE_WORKERS = 16
#: Lanes listed at once (the multipart uploads take one of them); the entries beside the prefixes
#: are one more lane.
LISTERS = 4
#: S3: one attempt per request, bounded by these timeouts; retries are the purge's own.
BOUNDED = {"attempts": 1, "connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT}
#: A connection for every thread that may send a request at once: each lane's listing and its workers.
CONNECTIONS = (LISTERS + 1) * (DELETE_WORKERS + 1)

#: DynamoDB and Step Functions answer a small request in tens of milliseconds; these bounds are a
#: hundred times that, and are what the API path reserves for each such call.
CONTROL = {"attempts": 1, "connect_timeout": 1.0, "read_timeout": 1.5}
CONTROL_CALL_SECONDS = CONTROL["connect_timeout"] + CONTROL["read_timeout"]


#: A status request has nothing to hand over: it may wait longer for DynamoDB and Step Functions
#: (two attempts of 7 s each, and one read of the execution: 21 s, inside the request's 27 s).
STATUS = {"attempts": 2, "connect_timeout": 2.0, "read_timeout": 5.0}


def purge_s3_client() -> Any:
    """The purge's S3 client: bounded, with a connection for every thread that uses it.

    Its requests are built by engine/deletion.py from S3's own listings (the bucket and prefix
    were checked by api/request.py), so botocore's check of each one is skipped: checking the keys of a
    DeleteObjects took about a quarter of the purge's CPU.
    """
    return aws.client("s3", **BOUNDED, pool_connections=CONNECTIONS, validate_parameters=False)


def dynamodb_client(bounds: dict[str, Any] = CONTROL) -> Any:
    return aws.client("dynamodb", **bounds)


def stepfunctions_client(bounds: dict[str, Any] = CONTROL) -> Any:
    return aws.client("stepfunctions", **bounds)
