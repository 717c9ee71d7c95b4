#!/usr/bin/env python3
"""Keeps each Terraform module's README inputs/outputs tables in step with its code.

    python -m scripts.terraform_docs          # rewrite the tables in every README
    python -m scripts.terraform_docs --check  # exit 1 (and say where) when a table is stale

The tables live between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` in the README.md
of ``terraform/`` and of every ``terraform/modules/*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM = ROOT / "terraform"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def module_dirs(terraform_dir: Path | None = None) -> list[Path]:
    """The module, its child modules and its examples."""
    terraform_dir = terraform_dir or TERRAFORM
    children = [
        path
        for folder in ("modules", "examples")
        if (terraform_dir / folder).is_dir()
        for path in sorted((terraform_dir / folder).iterdir())
        if path.is_dir()
    ]
    return [terraform_dir, *children]


def blocks(module_dir: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(module_dir.glob("*.tf")):
        with open(path, encoding="utf-8") as source:
            document = hcl2.load(source)
        for block in document.get(kind, []):
            found.extend((unquote(name), body) for name, body in block.items())
    return found


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _expression(value: Any) -> str:
    """HCL-ish text of a parsed value, for a table cell."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value[2:-1] if value.startswith("${") and value.endswith("}") else value
    if isinstance(value, list | dict):
        return json.dumps(_plain(value), separators=(", ", ": "))
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(k): _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return unquote(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(module_dir: Path) -> str:
    """The generated inputs and outputs section of one module's README."""
    lines = [
        BEGIN,
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "| --- | --- | --- | --- | :---: |",
    ]
    variables = sorted(blocks(module_dir, "variable"), key=lambda item: ("default" in item[1], item[0]))
    for name, body in variables:
        required = "default" not in body
        default = "" if required else f"`{_cell(_expression(body['default']))}`"
        flags = [flag for flag in ("sensitive", "ephemeral") if body.get(flag) is True]
        description = unquote(body.get("description", "")) + (f" ({', '.join(flags)})" if flags else "")
        kind = _expression(body.get("type", "any"))
        needed = "yes" if required else "no"
        lines.append(f"| `{name}` | {_cell(description)} | `{_cell(kind)}` | {default} | {needed} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "| --- | --- |"]
    for name, body in sorted(blocks(module_dir, "output")):
        lines.append(f"| `{name}` | {_cell(unquote(body.get('description', '')))} |")
    lines.append(END)
    return "\n".join(lines)


def updated_readme(readme: Path, section: str) -> str:
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no {BEGIN} ... {END} section")
    return text[:start] + section + text[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale tables")
    args = parser.parse_args(argv)
    stale = []
    for module_dir in module_dirs():
        readme = module_dir / "README.md"
        new_text = updated_readme(readme, render(module_dir))
        if new_text != readme.read_text(encoding="utf-8"):
            stale.append(readme.relative_to(ROOT))
            if not args.check:
                readme.write_text(new_text, encoding="utf-8")
    if stale and args.check:
        print(
            "stale inputs/outputs tables (run `make tf-docs`): " + ", ".join(map(str, stale)), file=sys.stderr
        )
        return 1
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
