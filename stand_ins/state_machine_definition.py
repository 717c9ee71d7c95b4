"""The purge job's state machine definition, filled in as terraform/modules/purge_job/main.tf fills
it in: for the local stack deployed without Terraform, and for the benchmark's Map concurrencies.

A test compares it with what Terraform deploys, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFINITION_FILE = (
    Path(__file__).resolve().parents[1] / "terraform" / "modules" / "purge_job" / "state_machine.asl.json"
)
#: terraform/modules/purge_job/variables.tf: max_concurrency, timeout_hours.
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_TIMEOUT_HOURS = 72


def definition(
    worker_function_arn: str,
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    timeout_hours: int = DEFAULT_TIMEOUT_HOURS,
) -> dict:
    text = DEFINITION_FILE.read_text(encoding="utf-8").replace("${worker_function_arn}", worker_function_arn)
    document = json.loads(text)
    document["TimeoutSeconds"] = timeout_hours * 3600
    document["States"]["Lanes"]["MaxConcurrency"] = max_concurrency
    return document
