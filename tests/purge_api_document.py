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


def assert_documented(path: str, status: int, body: Any, method: str = "post") -> None:
    """``body`` is what the document says ``method path`` answers with ``status``."""
    # The references are to the document's components: the schema is validated as their sibling.
    schema = {**response_schema(path, status, method), "components": document()["components"]}
    OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER).validate(body)
