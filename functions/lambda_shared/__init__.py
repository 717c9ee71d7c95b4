"""Small pieces both Lambda functions share: structured logging, cached SSM secrets, AWS clients.

The packaging script copies this package into every function's zip, so it must depend on nothing
but the standard library and what the Lambda Python runtime already provides (boto3, botocore).
"""
