"""What Terraform's AWS provider asked of AWS, read from its debug log (TF_LOG_PROVIDER=DEBUG), and
the IAM action each request needs: what a deployer's policy must grant.

Every answer the provider logs ("HTTP Response Received") names the service, the operation and the
resource or data source type it was made for (requests can be cut short by a zip in their body,
answers are not). The IAM action is the operation's own name under the service's prefix, except
where AWS's Service Authorization Reference says otherwise (``S3_ACTIONS``, API Gateway's
management API, authorized by HTTP verb).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

PREFIXES = {
    "API Gateway": "apigateway",
    "CloudWatch": "cloudwatch",
    "CloudWatch Logs": "logs",
    "DynamoDB": "dynamodb",
    "IAM": "iam",
    "KMS": "kms",
    "Lambda": "lambda",
    "S3": "s3",
    "SFN": "states",
    "SNS": "sns",
    "SQS": "sqs",
    "SSM": "ssm",
    "STS": "sts",
    "Scheduler": "scheduler",
}
#: S3 operations whose IAM action has another name (Service Authorization Reference, Amazon S3).
S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "DeleteObjects": "s3:DeleteObject",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "GetBucketCors": "s3:GetBucketCORS",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketTagging": "s3:PutBucketTagging",
}
#: API Gateway's management API is authorized by HTTP verb (apigateway:GET, POST, PUT, PATCH, DELETE).
APIGATEWAY_VERBS = (
    ("Get", "GET"),
    ("Create", "POST"),
    ("Put", "PUT"),
    ("Tag", "PUT"),
    ("Update", "PATCH"),
    ("Delete", "DELETE"),
    ("Untag", "DELETE"),
)
#: Asked by the provider for itself, not for a resource, and needing no grant: the caller's identity
#: (never denied) and, where the credentials are a user's, the user (the provider goes on without it).
UNGRANTED = {("STS", "GetCallerIdentity"), ("IAM", "GetUser")}

_ENTRY = re.compile(r"\n(?=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})")


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    #: The resource or data source type it was made for ("" when the provider asked for itself).
    made_for: str


def _field(entry: str, name: str) -> str:
    """A field of a log entry, in either of the provider's formats (JSON, or key=value)."""
    found = re.search(rf'"{re.escape(name)}":"([^"]*)"', entry) or re.search(
        rf'{re.escape(name)}=(?:"([^"]*)"|(\S+))', entry
    )
    if not found:
        return ""
    return next(group for group in found.groups() if group is not None)


def calls(log_text: str) -> set[Call]:
    found = set()
    for entry in _ENTRY.split(log_text):
        if "HTTP Response Received" not in entry:
            continue
        service, operation = _field(entry, "rpc.service"), _field(entry, "rpc.method")
        if not (service and operation):
            raise ValueError(f"an answer without its operation: {entry[:300]}")
        made_for = _field(entry, "tf_resource_type") or _field(entry, "tf_data_source_type")
        found.add(Call(service, operation, made_for))
    return found


def action(call: Call) -> str:
    prefix = PREFIXES[call.service]
    if prefix == "s3":
        return S3_ACTIONS.get(call.operation, f"s3:{call.operation}")
    if prefix == "apigateway":
        verb = next((v for start, v in APIGATEWAY_VERBS if call.operation.startswith(start)), None)
        if verb is None:
            raise ValueError(f"no HTTP verb known for API Gateway's {call.operation}")
        return f"apigateway:{verb}"
    return f"{prefix}:{call.operation}"


def needed_actions(log_text: str, resource_types: set[str]) -> set[str]:
    """The IAM actions the provider needed for ``resource_types`` (and their data sources)."""
    return {
        action(call)
        for call in calls(log_text)
        if call.made_for in resource_types and (call.service, call.operation) not in UNGRANTED
    }


def not_granted(actions: set[str], policy: dict[str, Any]) -> set[str]:
    """Those of ``actions`` that no Allow statement of ``policy`` grants (IAM matches actions
    case-insensitively, with * and ? wildcards)."""
    patterns = [
        pattern.lower()
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for pattern in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    ]
    return {a for a in actions if not any(fnmatch.fnmatchcase(a.lower(), p) for p in patterns)}
