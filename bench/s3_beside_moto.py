"""What the benchmark targets whose S3 is not moto share: the rest of AWS (the purge's password in
SSM, its record in DynamoDB) is moto."""

from __future__ import annotations

from typing import Self

from stand_ins.aws_endpoint import LocalAws
from stand_ins.local_account import split_environment


class S3BesideMoto:
    #: Where the contenders send their S3 requests; set by the target.
    endpoint: str

    def __init__(self) -> None:
        #: The rest of AWS (SSM, DynamoDB, Step Functions, Lambda): moto, in this process.
        self.aws = LocalAws()

    def start(self) -> Self:
        self.aws.start()
        return self

    def stop(self) -> None:
        self.aws.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        return split_environment(s3=self.endpoint, aws=self.aws.endpoint)
