"""The account, region and credentials everything local runs with (moto's defaults: its backends
need no setting, and neither moto nor SeaweedFS without identities checks the keys)."""

ACCOUNT = "123456789012"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def split_environment(*, s3: str, ssm: str) -> dict[str, str]:
    """What a function process needs to send S3 calls to ``s3`` and SSM calls (its secrets) to ``ssm``."""
    return {
        "AWS_ENDPOINT_URL_S3": s3,
        "AWS_ENDPOINT_URL_SSM": ssm,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **CREDENTIALS,
    }
