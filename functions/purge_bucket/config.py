"""The function's configuration, read from environment variables set by Terraform."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

PASSWORD_PARAMETER = "PASSWORD_PARAMETER"  # noqa: S105 - a variable name, not a password
ALLOWED_BUCKETS = "ALLOWED_BUCKETS"
CONTINUATION_KEYS_PATH = "CONTINUATION_KEYS_PATH"
CONTINUATION_KEYS_KMS_KEY = "CONTINUATION_KEYS_KMS_KEY"

#: Every environment variable this function reads: Terraform must set exactly these.
ENVIRONMENT_VARIABLES = (
    PASSWORD_PARAMETER,
    ALLOWED_BUCKETS,
    CONTINUATION_KEYS_PATH,
    CONTINUATION_KEYS_KMS_KEY,
)


@dataclass(frozen=True)
class Settings:
    password_parameter: str
    allowed_buckets: frozenset[str]
    #: SSM path under which each running purge keeps its continuation key; "" disables continuations.
    continuation_keys_path: str
    #: KMS key for those keys; "" uses the AWS managed key for SSM.
    continuation_keys_kms_key: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Reads the settings. Missing values fail closed: no password, no bucket allowed, no
        continuation."""
        allowed = frozenset(
            name.strip() for name in environ.get(ALLOWED_BUCKETS, "").split(",") if name.strip()
        )
        return cls(
            password_parameter=environ.get(PASSWORD_PARAMETER, "").strip(),
            allowed_buckets=allowed,
            continuation_keys_path=environ.get(CONTINUATION_KEYS_PATH, "").strip(),
            continuation_keys_kms_key=environ.get(CONTINUATION_KEYS_KMS_KEY, "").strip(),
        )
