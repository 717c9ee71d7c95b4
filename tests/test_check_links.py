"""`make docs-check`'s link check (scripts/check_links.py) finds what it must, and only that."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts import check_links

ROOT = Path(__file__).resolve().parents[1]


def repository(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("5. Provider versions: 5.x and 6.x", "5-provider-versions-5x-and-6x"),
        ("Packaging: `make package`", "packaging-make-package"),
        ("The job's life", "the-jobs-life"),
        ("Runbook: what each alarm means and what to do", "runbook-what-each-alarm-means-and-what-to-do"),
        ("Promoção **relâmpago** [link](x.md)", "promoção-relâmpago-link"),
        ("snake_case and-hyphens", "snake_case-and-hyphens"),
    ],
)
def test_anchors_are_githubs(heading, anchor):
    assert check_links.slug(heading) == anchor


def test_dead_files_and_anchors_are_found_and_nothing_else(tmp_path, capsys):
    root = repository(
        tmp_path,
        {
            "README.md": (
                "# Title\n\n## Usage\n\n## Usage\n\n"
                "[ok](docs/guide.md) [ok](docs/guide.md#setting-up) [ok](#usage-1) [ok](docs)\n"
                "[web](https://example.com/missing) [mail](mailto:a@example.com)\n"
                "[dead](docs/missing.md) and [dead anchor](docs/guide.md#tearing-down)\n"
                "`[not a link](nowhere.md)`\n\n"
                "```md\n[in code](nowhere.md)\n# Not a heading\n```\n\n"
                "[label]: docs/gone.md\n"
            ),
            "docs/guide.md": "# Guide\n\n## Setting up\n\n[back](../README.md#usage) [self](#no-such)\n",
        },
    )
    dead = check_links.dead_links(check_links.links_in(check_links.markdown_files(root)), root)
    assert sorted((str(link.file), link.line, link.target, link.why) for link in dead) == [
        ("README.md", 9, "docs/guide.md#tearing-down", "no such heading"),
        ("README.md", 9, "docs/missing.md", "no such file"),
        ("README.md", 17, "docs/gone.md", "no such file"),
        ("docs/guide.md", 5, "#no-such", "no such heading"),
    ]
    assert check_links.main(["--root", str(root)]) == 1
    assert "dead link: README.md:9: docs/missing.md (no such file)" in capsys.readouterr().err


def test_a_link_out_of_the_repository_is_dead(tmp_path):
    root = repository(tmp_path / "repo", {"README.md": "[up](../outside.md)\n"})
    (tmp_path / "outside.md").write_text("# Outside\n")
    (dead,) = check_links.dead_links(check_links.links_in(check_links.markdown_files(root)), root)
    assert dead.why == "outside the repository"


def test_this_repositorys_markdown_has_no_dead_link():
    files = check_links.markdown_files(ROOT)
    assert ROOT / "README.md" in files
    assert ROOT / "docs" / "partner-api" / "README.md" in files
    assert check_links.dead_links(check_links.links_in(files), ROOT) == []
