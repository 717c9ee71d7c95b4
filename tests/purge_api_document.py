"""The purge API's OpenAPI document (docs/partner-api/openapi.yaml), for the tests that hold the
function, the deployed API and the document together."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "partner-api" / "openapi.yaml"


@cache
def document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def operations() -> dict[str, set[str]]:
    """Each documented path and its methods, upper case as API Gateway names them."""
    return {
        path: {method.upper() for method in item if method != "parameters"}
        for path, item in document()["paths"].items()
    }


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document()["components"][section][name]
    return node


def documented_statuses(path: str, method: str = "post") -> set[int]:
    return {int(status) for status in document()["paths"][path][method]["responses"]}


def response_schema(path: str, status: int, method: str = "post") -> dict[str, Any]:
    responses = document()["paths"][path][method]["responses"]
    if str(status) not in responses:
        raise AssertionError(f"{method.upper()} {path} documents no {status} answer")
    response = resolved(responses[str(status)])
    return response["content"]["application/json"]["schema"]


def examples_of(content: dict[str, Any]) -> list[Any]:
    """The example values of a media type: its ``examples``' and its ``example``."""
    values = [example["value"] for example in content.get("examples", {}).values()]
    return values + ([content["example"]] if "example" in content else [])


def validate_against(schema: dict[str, Any], instance: Any) -> None:
    """Raises ValidationError unless ``instance`` is what ``schema``, a part of the document, says."""
    # The references are to the document's components: the schema is validated as their sibling.
    with_components = {**schema, "components": document()["components"]}
    OAS30Validator(with_components, format_checker=OAS30Validator.FORMAT_CHECKER).validate(instance)


def assert_documented(path: str, status: int, body: Any, method: str = "post") -> None:
    """``body`` is what the document says ``method path`` answers with ``status``."""
    validate_against(response_schema(path, status, method), body)
