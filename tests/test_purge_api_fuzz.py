"""The OpenAPI document against the running stack: requests generated from
docs/partner-api/openapi.yaml by schemathesis, sent through the local API Gateway stage to the
deployed purge function (its zip, in its own process), every answer checked against the document.

Checked for each answer: its status is one the operation documents, its body matches that status's
schema, its content type and documented headers; a request the document calls valid is never
refused as malformed (400), and one it calls invalid always is. The right password goes only into
requests the document calls valid, and the only bucket it may purge is the stack's own, created for
the test and thrown away with it. Bounded: a fixed number of examples per operation, derandomized
(the same requests every run), and schemathesis' coverage cases (each limit at and past its edge,
each other method and content type), once each.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from purge_api_document import DOCUMENT, document
from stand_ins.local_system import BUCKET, LocalSystem
from support import EMPTY

#: Generated requests per operation and mode; about 10 ms each on the local stack.
EXAMPLES = 150
#: What a request the document calls valid may get; a 400 would say the document and the function
#: disagree on what is well-formed.
VALID_REQUEST_STATUSES = [200, 202, 401, 403, 404, 409]
CONFIG = {
    "checks": {
        "positive_data_acceptance": {"expected-statuses": VALID_REQUEST_STATUSES},
        "negative_data_rejection": {"expected-statuses": [400]},
    }
}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: The password of the document's request examples, which the coverage cases start from.
EXAMPLE_PASSWORD = "correct-horse-battery-staple"


def load_schema(raw: dict[str, Any] | None = None) -> Any:
    config = SchemathesisConfig.from_dict(CONFIG)
    if raw is None:
        return schemathesis.openapi.from_path(DOCUMENT, config=config)
    return schemathesis.openapi.from_dict(raw, config=config)


def fuzz(
    schema: Any, stack: LocalSystem, path: str, mode: GenerationMode, job_ids: list[str] | None = None
) -> Counter[int]:
    """Sends ``EXAMPLES`` generated requests to ``path``; raises the checks' failures. The
    statuses seen, counted. ``job_ids``: the jobs the stack has, which status requests may name;
    the purges' answers add to it."""
    seen: Counter[int] = Counter()
    job_ids = [] if job_ids is None else job_ids

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=schema[path]["POST"].as_strategy(generation_mode=mode), right=st.booleans(), ours=st.booleans()
    )
    def send(case: Any, right: bool, ours: bool) -> None:
        if mode is GenerationMode.POSITIVE and right:
            case.body["password"] = stack.password
            if ours and "bucket_name" in case.body:
                case.body["bucket_name"] = BUCKET
            if ours and "job_id" in case.body and job_ids:
                case.body["job_id"] = job_ids[-1]
        response = case.call_and_validate(base_url=stack.stage_url, timeout=60)
        seen[response.status_code] += 1
        if response.status_code in {202, 409}:
            job_ids.append(response.json()["job_id"])

    send()
    return seen


@pytest.mark.slow(seconds=15)
def test_generated_purges_done_inline_get_documented_answers(inline_stack):
    schema = load_schema()
    purges = fuzz(schema, inline_stack, "/purge", GenerationMode.POSITIVE)
    malformed = fuzz(schema, inline_stack, "/purge", GenerationMode.NEGATIVE)
    # The right password reached the stack's bucket (200), and other buckets (403).
    assert {200, 401, 403} <= set(purges), purges
    assert set(malformed) == {400}, malformed
    assert inline_stack.bucket_inventory() == EMPTY


@pytest.mark.slow(seconds=20)
def test_generated_purge_jobs_and_status_requests_get_documented_answers(job_stack):
    schema = load_schema()
    job_ids: list[str] = []
    purges = fuzz(schema, job_stack, "/purge", GenerationMode.POSITIVE, job_ids)
    statuses = fuzz(schema, job_stack, "/purge/status", GenerationMode.POSITIVE, job_ids)
    malformed = fuzz(schema, job_stack, "/purge/status", GenerationMode.NEGATIVE)
    assert {202, 401, 403, 409} <= set(purges), purges
    assert {200, 401, 404} <= set(statuses), statuses
    assert set(malformed) == {400}, malformed


def boundary_cases(schema: Any, stack: LocalSystem, path: str) -> Counter[tuple[str, int]]:
    """Schemathesis' coverage cases of ``path``: each limit at and past its edge, each wrong type,
    each missing or unknown field, each other method and content type, once. The documented
    examples' password becomes the right one, except where the password is what is tested."""
    operation = schema[path]["POST"]
    seen: Counter[tuple[str, int]] = Counter()
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=list(MODES),
        generation_config=schema.config.generation_for(operation=operation),
    ):
        mode = case.meta.generation.mode
        if mode is GenerationMode.POSITIVE and case.body.get("password") == EXAMPLE_PASSWORD:
            case.body["password"] = stack.password
        response = case.call_and_validate(base_url=stack.stage_url, timeout=60)
        seen[mode.value, response.status_code] += 1
    return seen


def test_boundary_cases_get_documented_answers(inline_stack):
    schema = load_schema()
    purges = boundary_cases(schema, inline_stack, "/purge")
    statuses = boundary_cases(schema, inline_stack, "/purge/status")
    # The right password on the stack's bucket at each limit: purged (200); a bucket name at its
    # limits is another bucket (403); past a limit: 400; another method: API Gateway's 403.
    assert {("positive", 200), ("positive", 403), ("negative", 400), ("negative", 403)} <= set(purges), purges
    assert {("positive", 404), ("negative", 400), ("negative", 403)} <= set(statuses), statuses


def test_a_document_that_disagrees_with_the_function_fails_the_check(inline_stack):
    """The check can fail: a 401 documented with another message is caught, and so is a password
    limit the function does not keep (it refuses, 400, what the document calls valid)."""
    raw = document()
    other_answer = {
        **raw,
        "components": {
            **raw["components"],
            "responses": {
                **raw["components"]["responses"],
                "Unauthorized": {
                    "description": "changed",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"message": {"enum": ["Denied"]}}}
                        }
                    },
                },
            },
        },
    }
    with pytest.raises(FailureGroup, match="Response violates schema"):
        fuzz(load_schema(other_answer), inline_stack, "/purge", GenerationMode.POSITIVE)

    schemas = raw["components"]["schemas"]
    other_limit = {
        **raw,
        "components": {
            **raw["components"],
            "schemas": {**schemas, "Password": {**schemas["Password"], "minLength": 1100, "maxLength": 1200}},
        },
    }
    with pytest.raises(FailureGroup, match="rejected"):
        fuzz(load_schema(other_limit), inline_stack, "/purge", GenerationMode.POSITIVE)
