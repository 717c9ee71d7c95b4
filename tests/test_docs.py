"""The documentation names only commands that exist: every `make <target>` in the Markdown is a
target of the Makefile. (Links and anchors: tests/test_check_links.py, `make docs-check`.)"""

from __future__ import annotations

import re
from pathlib import Path

from scripts import check_links

ROOT = Path(__file__).resolve().parents[1]
#: ``make <target>`` inside a code span or at the start of a command line.
MAKE_COMMAND = re.compile(r"(?:`|^\s*)make ([a-z][a-z0-9-]*)", re.MULTILINE)


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_make_command_in_the_docs_is_a_target():
    named: dict[str, set[str]] = {}
    for file in check_links.markdown_files(ROOT):
        for target in MAKE_COMMAND.findall(file.read_text(encoding="utf-8")):
            named.setdefault(target, set()).add(str(file.relative_to(ROOT)))
    assert {"demo", "test", "package", "docs-check"} <= set(named)
    missing = {target: sorted(files) for target, files in named.items() if target not in makefile_targets()}
    assert missing == {}


def test_the_readme_is_a_landing_page():
    """What it is, the two commands, deploying, and where to read next, on a screen or two."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 80
    for command in ("make demo", "make test"):
        assert f"\n{command} " in readme
    for page in (
        "deploy-and-operate.md",
        "partner-api/README.md",
        "data-contract.md",
        "developing.md",
        "benchmarks.md",
    ):
        assert f"](docs/{page}" in readme
