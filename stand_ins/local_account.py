"""The account, region and credentials everything local runs with (moto's defaults: its backends
need no setting, and neither moto nor SeaweedFS without identities checks the keys)."""

ACCOUNT = "123456789012"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def split_environment(*, s3: str, aws: str) -> dict[str, str]:
    """What a function process needs to send S3 calls to ``s3`` and every other call (SSM for its
    secrets, DynamoDB for its purge's record) to ``aws``."""
    return {
        "AWS_ENDPOINT_URL": aws,
        "AWS_ENDPOINT_URL_S3": s3,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **CREDENTIALS,
    }
