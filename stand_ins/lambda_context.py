"""A stand-in for the context object the Lambda runtime passes to a handler."""

from __future__ import annotations

import time
import uuid

from stand_ins.local_account import ACCOUNT, REGION


class LambdaContext:
    """What the handlers use of the real context: request id, function ARN and remaining time."""

    def __init__(
        self,
        function_name: str,
        *,
        timeout_seconds: float = 900.0,
        region: str = REGION,
        account: str = ACCOUNT,
        memory_limit_in_mb: int = 256,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
