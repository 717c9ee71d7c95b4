"""SSM SecureString parameters read with decryption and cached for a bounded time.

The cache keeps rotation cheap and quick: a new value is picked up within ``ttl_seconds``.
Errors are never cached, and no exception raised here carries the parameter's value.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from lambda_shared import aws
from lambda_shared.logs import register_secret

DEFAULT_TTL_SECONDS = 300.0
#: One read takes at most two attempts of 2 + 5 s: the purge reads its password on a request path
#: with a deadline.
SSM_CLIENT = {"attempts": 2, "connect_timeout": 2.0, "read_timeout": 5.0}


class ParameterError(Exception):
    """The parameter could not be read."""


class ParameterNotFound(ParameterError):
    """The parameter does not exist."""


class ParameterUnavailable(ParameterError):
    """SSM could not be reached or refused the read (throttling, access denied, KMS...)."""


class SecureParameter:
    """One SecureString parameter, cached for ``ttl_seconds`` after each successful read."""

    def __init__(
        self,
        name: str,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: str | None = None
        self._expires_at = 0.0

    def value(self) -> str:
        """The decrypted value (possibly empty). Raises ``ParameterError`` when it cannot be read."""
        with self._lock:
            now = self._clock()
            if self._value is None or now >= self._expires_at:
                self._value = self._fetch()
                self._expires_at = now + self.ttl_seconds
            return self._value

    def _fetch(self) -> str:
        try:
            response = aws.client("ssm", **SSM_CLIENT).get_parameter(Name=self.name, WithDecryption=True)
        except ClientError as error:
            code = aws.error_code(error)
            if code == "ParameterNotFound":
                raise ParameterNotFound(f"SSM parameter {self.name!r} does not exist") from None
            raise ParameterUnavailable(f"SSM refused to read {self.name!r}: {code}") from None
        except BotoCoreError as error:
            raise ParameterUnavailable(
                f"SSM could not be reached to read {self.name!r}: {type(error).__name__}"
            ) from None
        value = response["Parameter"]["Value"]
        register_secret(value)
        return value


@functools.cache
def secure_parameter(name: str) -> SecureParameter:
    """The one SecureParameter of ``name`` in this execution environment, so its cache is shared."""
    return SecureParameter(name)
