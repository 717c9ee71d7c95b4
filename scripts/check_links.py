"""`make docs-check`: every relative link in the repository's Markdown reaches a file, and every
``#anchor`` a heading of the file it names (GitHub's anchors), so moving a page cannot leave a dead
link behind. Links to the web are not fetched (CI has no internet)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
#: ``[text](target "title")`` and ``![alt](target)``, not inside code; and ``[label]: target``.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
EXTERNAL = ("http://", "https://", "mailto:", "ftp://")


@dataclass(frozen=True)
class DeadLink:
    file: Path
    line: int
    target: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.target} ({self.why})"


def markdown_files(root: Path) -> list[Path]:
    """The Markdown files git tracks or would add (ignored ones, such as virtualenvs, left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return sorted(root / name for name in listed if name and (root / name).is_file())


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * 3
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, without formatting or punctuation,
    spaces as hyphens."""
    text = INLINE_CODE.sub(lambda match: match.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # A link: its text.
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags.
    text = text.lower()
    kept = "".join(
        char
        for char in text
        if char in " -_" or unicodedata.category(char)[0] in {"L", "N"} or unicodedata.category(char) == "Mn"
    )
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: Counter[str] = Counter()
    for _number, line in _prose_lines(text):
        found.update(HTML_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            found.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def links(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in _prose_lines(text):
        prose = INLINE_CODE.sub("", line)
        found += [(number, target) for target in INLINE_LINK.findall(prose)]
        reference = REFERENCE.match(prose)
        if reference:
            found.append((number, reference.group(1)))
    return found


def links_in(files: list[Path]) -> list[tuple[Path, int, str]]:
    """Every link of ``files``: the file, the line and the target."""
    return [
        (file, number, target) for file in files for number, target in links(file.read_text(encoding="utf-8"))
    ]


def dead_links(found: list[tuple[Path, int, str]], root: Path) -> list[DeadLink]:
    """The links of ``found`` (``links_in``) that reach no file in ``root``, or no heading."""
    dead = []
    inside = root.resolve()
    cache: dict[Path, set[str]] = {}
    for file, number, target in found:
        if not target or target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        destination = (file.parent / unquote(path_part)).resolve() if path_part else file
        where = file.relative_to(root)
        if not destination.exists():
            dead.append(DeadLink(where, number, target, "no such file"))
            continue
        if inside not in (destination, *destination.parents):
            dead.append(DeadLink(where, number, target, "outside the repository"))
            continue
        if anchor and destination.suffix == ".md":
            if destination not in cache:
                cache[destination] = anchors(destination.read_text(encoding="utf-8"))
            if unquote(anchor) not in cache[destination]:
                dead.append(DeadLink(where, number, target, "no such heading"))
    return dead


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    files = markdown_files(args.root)
    found = links_in(files)
    dead = dead_links(found, args.root)
    for link in dead:
        print(f"dead link: {link}", file=sys.stderr)
    print(f"links: {len(found)} in {len(files)} Markdown files, {len(dead)} dead")
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
