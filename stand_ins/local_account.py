"""The account and region everything local runs in: moto's defaults, so its backends need no setting."""

ACCOUNT = "123456789012"
REGION = "us-east-1"
