"""The module as a platform engineer's stack calls it: terraform/examples/multiple_instances, two
instances with for_each through an aliased provider (no default provider, no default_tags),
planned for real against a local AWS endpoint and read from the saved plan's JSON.

A module with a provider block of its own fails here before planning ("Module is incompatible with
count, for_each, and depends_on"); one that leaves tags to the provider's default_tags fails the
tags check.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from stand_ins.aws_endpoint import LocalAws
from stand_ins.local_terraform import LocalTerraform

INSTANCES = ("partner-a", "partner-b")
ALIAS = "aws.data_account"
#: examples/multiple_instances' default tags; each instance adds Instance = its key.
TAGS = {"Team": "data-platform"}


@pytest.fixture(scope="module")
def plan(terraform_installed, dist, tmp_path_factory) -> dict[str, Any]:
    with LocalAws() as aws:
        aws.reset()
        terraform = LocalTerraform(
            aws.endpoint,
            tmp_path_factory.mktemp("consumer"),
            example="multiple_instances",
            secrets={
                "purge_passwords": json.dumps({key: f"consumer-password-{key}" for key in INSTANCES}),
                "partner_api_tokens": json.dumps({key: f"consumer-token-{key}" for key in INSTANCES}),
            },
        )
        terraform.init()
        instances = {key: {"partner_api_url": f"https://{key}.example.com/api/Get"} for key in INSTANCES}
        return terraform.plan_json({"instances": instances, "dist_dir": str(dist)})


def configured_resources(module: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource and data source in the configuration, child modules included."""
    found = list(module.get("resources", []))
    for call in module.get("module_calls", {}).values():
        found += configured_resources(call["module"])
    return found


@pytest.mark.slow(seconds=40)
def test_every_resource_of_both_instances_uses_the_aliased_provider(plan):
    resources = configured_resources(plan["configuration"]["root_module"])
    aws = [r for r in resources if r["type"].startswith("aws_")]
    assert len(aws) > 50
    assert Counter(r["provider_config_key"] for r in aws) == {ALIAS: len(aws)}
    # Both instances are planned in full, each in its own addresses.
    per_instance = Counter(
        re.match(r'module\.partner_data\["([^"]+)"\]', change["address"])[1]
        for change in plan["resource_changes"]
    )
    assert set(per_instance) == set(INSTANCES)
    assert per_instance["partner-a"] == per_instance["partner-b"] > 50


def test_every_resource_that_takes_tags_carries_the_callers(plan):
    tagged = 0
    for change in plan["resource_changes"]:
        after = change["change"]["after"] or {}
        if change["mode"] != "managed" or "tags" not in after:  # The type takes no tags.
            continue
        key = re.match(r'module\.partner_data\["([^"]+)"\]', change["address"])[1]
        expected = {**TAGS, "Instance": key, "Project": "partner-data-pipeline", "ManagedBy": "terraform"}
        assert (after["tags"] or {}).items() >= expected.items(), change["address"]
        tagged += 1
    assert tagged > 40
