"""Fixes to moto, for the tests, the demo and the benchmarks.

moto stands in for AWS here, and some of its shortcuts would otherwise show up as our bugs or our
costs, not AWS's:

* ``serialize_s3_backend``: moto's S3 backend is not thread-safe. A ListObjectVersions that runs
  while another thread deletes keys can crash inside moto (a key vanishes under its iteration);
  S3 itself serves concurrent requests consistently. One lock around the backend's operations
  makes moto do the same.
* ``shallow_copy_version_listing``: moto 5 deep-copies every version in the bucket on every
  ListObjectVersions call, rebuilding each object's buffer, so one page of a 21,000-entry bucket
  takes over ten seconds. A shallow copy of each key's version list gives the same answers.
* ``url_encoded_version_listing``: S3 answers a ListObjectVersions asked with ``encoding-type=url``
  (botocore always asks) with its keys, prefixes, delimiter and key markers URL-encoded; moto
  ignores the parameter and writes them raw, so a prefix or key with a character XML cannot hold
  (U+001B) makes an answer no XML parser reads, which S3's never is. Here moto encodes them too.

Six more let Terraform's AWS provider apply and re-plan the stack against moto's server (the
known moto gaps of ../shared/reference/terraform-here.md, and one more), each as narrow as it can be:

* ``aws_managed_policies``: AWS managed policies exist in every account; moto has them only with
  ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``, which builds all ~1,300 of them on every IAM backend
  reset (it made every later in-process moto test slower). Only the ones named are added.
* ``escape_rest_api_policy``: API Gateway returns a REST API's resource policy with its quotes
  escaped, and the provider unescapes what it reads; moto returns the policy as stored, which the
  provider then fails to parse ("invalid character ... after top-level value").
* ``state_machine_calls_of_the_provider``: the provider validates a state machine's definition
  (``ValidateStateMachineDefinition``) before it creates it, and lists its versions
  (``ListStateMachineVersions``) after, neither of which moto implements: it answers 500 and the
  provider retries for ever. Here validation answers as Step Functions does, having parsed the
  definition with moto's own parser (the one its CreateStateMachine runs), and the listing
  answers no versions (the stack publishes none).
* ``keep_lambda_logging_config``: moto drops a function's ``LoggingConfig``, so every plan after
  an apply wants to set it again.
* ``log_group_kms_keys``: CloudWatch Logs' ``AssociateKmsKey`` and ``DisassociateKmsKey`` are not
  implemented (500), which the provider retries for ever when a key is added to or removed from an
  existing log group. Here they set the group's key, as CreateLogGroup's ``kmsKeyId`` does.
* ``unknown_policy_conditions_do_not_apply``: moto treats a bucket-policy statement whose
  condition it cannot evaluate as a denial, even for a ``Deny`` whose condition does not hold. It
  knows no request context (``aws:SecureTransport`` among it), so the data bucket's TLS-only
  policy refused every request, over HTTPS too. Here a ``Deny`` whose condition names a key moto
  was not given does not apply: the TLS-only policy is not enforced locally.

One more lets the local stack run functions at all:

* ``run_lambda_invocations``: moto's Lambda without Docker answers an Invoke with the payload it
  was sent; with a runner set, the runner answers instead (``stand_ins/lambda_service.py`` runs
  the deployed zip). Step Functions tasks that moto executes invoke through it too.

All are idempotent and apply to the whole process.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from collections.abc import Callable

_LOCK = threading.RLock()
_SERIALIZED = (
    "list_object_versions",
    "list_objects",
    "list_objects_v2",
    "list_multipart_uploads",
    "delete_object",
    "delete_objects",
    "put_object",
    "abort_multipart_upload",
)


_lambda_runner: Callable[..., bytes] | None = None


def run_lambda_invocations(runner: Callable[..., bytes] | None) -> None:
    """``runner(backend, function_name, qualifier, body, response_headers) -> payload`` answers
    every Invoke of moto's Lambda without Docker from now on; None restores moto's answer."""
    global _lambda_runner  # noqa: PLW0603 - moto's backend is process-wide; so is its runner
    from moto.awslambda_simple.models import LambdaSimpleBackend

    if runner is not None and _lambda_runner is not None:
        raise RuntimeError("another LocalLambdaService runs the functions of this process already")
    _lambda_runner = runner
    if getattr(LambdaSimpleBackend.invoke, "_runs", False):
        return
    original = LambdaSimpleBackend.invoke

    def invoke(self, function_name, qualifier, body, headers, response_headers):  # noqa: PLR0917 - moto's signature
        if _lambda_runner is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        return _lambda_runner(self, function_name, qualifier, body, response_headers)

    invoke._runs = True  # type: ignore[attr-defined]
    LambdaSimpleBackend.invoke = invoke


def serialize_s3_backend() -> None:
    from moto.s3.models import S3Backend

    for name in _SERIALIZED:
        method = getattr(S3Backend, name)
        if getattr(method, "_serialized", False):
            continue

        @functools.wraps(method)
        def serialized(*args, _method=method, **kwargs):
            with _LOCK:
                return _method(*args, **kwargs)

        serialized._serialized = True  # type: ignore[attr-defined]
        setattr(S3Backend, name, serialized)


def shallow_copy_version_listing() -> None:
    import moto.s3.models

    # moto.s3.models calls copy.deepcopy once: on each key's list of versions, to list them.
    moto.s3.models.copy = types.SimpleNamespace(  # type: ignore[attr-defined]
        deepcopy=lambda value: list(value) if isinstance(value, list) else copy.deepcopy(value),
        copy=copy.copy,
    )


def url_encoded_version_listing() -> None:
    from urllib.parse import quote

    from moto.s3.responses import S3Response

    original = S3Response.list_object_versions
    if getattr(original, "url_encoded", False):
        return

    def list_object_versions(self):
        if self.querystring.get("encoding-type", [None])[0] != "url":
            return original(self)
        serialized = self.serialized

        def encoded(action_result):
            result = action_result.result
            for name in ("Prefix", "Delimiter", "KeyMarker", "NextKeyMarker"):
                if result.get(name):
                    result[name] = quote(result[name])
            for entry in (*result["Versions"], *result["DeleteMarkers"]):
                entry["Key"] = quote(entry["Key"])
            for entry in result.get("CommonPrefixes", []):
                entry["Prefix"] = quote(entry["Prefix"])
            result["EncodingType"] = "url"
            return serialized(action_result)

        self.serialized = encoded
        try:
            return original(self)
        finally:
            del self.serialized

    list_object_versions.url_encoded = True
    S3Response.list_object_versions = list_object_versions


def escape_rest_api_policy() -> None:
    import json

    from moto.apigateway.models import RestAPI

    if getattr(RestAPI.to_dict, "_escaped", False):
        return
    to_dict = RestAPI.to_dict

    def escaped(self, *args, **kwargs):
        result = to_dict(self, *args, **kwargs)
        if isinstance(result.get("policy"), str) and '\\"' not in result["policy"]:
            result["policy"] = json.dumps(result["policy"])[1:-1]
        return result

    escaped._escaped = True  # type: ignore[attr-defined]
    RestAPI.to_dict = escaped


def state_machine_calls_of_the_provider() -> None:
    import json

    from moto.stepfunctions.responses import StepFunctionResponse

    if hasattr(StepFunctionResponse, "validate_state_machine_definition"):
        return

    def list_state_machine_versions(self):
        return json.dumps({"stateMachineVersions": []})

    def validate_state_machine_definition(self):
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        try:
            AmazonStateLanguageParser.parse(self._get_param("definition"))
        except Exception as error:
            diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(error)}
            return json.dumps({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
        return json.dumps({"result": "OK", "diagnostics": [], "truncated": False})

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


def log_group_kms_keys() -> None:
    from moto.logs.responses import LogsResponse

    if hasattr(LogsResponse, "associate_kms_key"):
        return

    def associate_kms_key(self):
        self.logs_backend.groups[self._get_param("logGroupName")].kms_key_id = self._get_param("kmsKeyId")
        return ""

    def disassociate_kms_key(self):
        self.logs_backend.groups[self._get_param("logGroupName")].kms_key_id = None
        return ""

    LogsResponse.associate_kms_key = associate_kms_key
    LogsResponse.disassociate_kms_key = disassociate_kms_key


def keep_lambda_logging_config() -> None:
    from moto.awslambda.models import LambdaFunction

    if getattr(LambdaFunction.get_configuration, "_logging", False):
        return
    init, get_configuration, update = (
        LambdaFunction.__init__,
        LambdaFunction.get_configuration,
        LambdaFunction.update_configuration,
    )

    def __init__(self, account_id, spec, *args, **kwargs):
        init(self, account_id, spec, *args, **kwargs)
        self.logging_config = spec.get("LoggingConfig")

    def configuration(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        if getattr(self, "logging_config", None):
            config["LoggingConfig"] = self.logging_config
        return config

    def update_configuration(self, config_updates):
        if "LoggingConfig" in config_updates:
            self.logging_config = config_updates["LoggingConfig"]
        return update(self, config_updates)

    configuration._logging = True  # type: ignore[attr-defined]
    LambdaFunction.__init__ = __init__
    LambdaFunction.get_configuration = configuration
    LambdaFunction.update_configuration = update_configuration


def unknown_policy_conditions_do_not_apply() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    if getattr(IAMPolicyStatement.is_action_permitted, "_lenient", False):
        return
    is_action_permitted = IAMPolicyStatement.is_action_permitted

    def permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        condition = self._statement.get("Condition") or {}
        keys = {key for operator in condition.values() for key in operator}
        if self._statement.get("Effect") == "Deny" and not keys <= set(incoming_condition_values or {}):
            return PermissionResult.NEUTRAL
        return is_action_permitted(self, action, resource, principal, incoming_condition_values)

    permitted._lenient = True  # type: ignore[attr-defined]
    IAMPolicyStatement.is_action_permitted = permitted


def aws_managed_policies(*names: str) -> None:
    import json

    from moto.iam import models
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    if getattr(models.IAMBackend._init_aws_policies, "_named", False):
        return
    data = {name: d for name, d in json.loads(aws_managed_policies_data).items() if name in names}
    missing = set(names) - set(data)
    if missing:
        raise ValueError(f"moto does not know the AWS managed policies {sorted(missing)}")
    init = models.IAMBackend._init_aws_policies

    def init_aws_policies(self):
        return init(self) or [
            models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, d)
            for name, d in data.items()
        ]

    init_aws_policies._named = True  # type: ignore[attr-defined]
    models.IAMBackend._init_aws_policies = init_aws_policies
