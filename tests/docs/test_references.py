"""Every reference in the code and the docs resolves inside this repository.

Comments and docs cite the rule they follow as a doc section (`docs/plans.md, "Retries"`) or a
markdown link; a reference to a document that is not in the repository (a spec, an issue, notes
kept elsewhere) is one a reader cannot follow.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("engine", "ledger_tui", "tests", "bench", "docs", "examples", "schema", ".ci")
SUFFIXES = {".py", ".md", ".json", ".toml", ".tcss", ""}
# Written so that none matches its own source text.
UNRESOLVABLE = re.compile(
    r"SPEC\s*§|SPEC\.md|baselines\.md|shared[/]reference|/work[/]shared|\b[Ii]ssue #?\d+\b"
)
DOC_SECTION = re.compile(r"(docs/[a-z_]+\.md)(?:, \"([^\"]+)\")?")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _files() -> list[Path]:
    files = [REPO / "README.md", REPO / "pyproject.toml"]
    for folder in FOLDERS:
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in SUFFIXES and "__snapshots__" not in path.parts:
                files.append(path)
    return files


def _headings(doc: Path) -> list[str]:
    return [
        line.lstrip("#").strip() for line in doc.read_text().splitlines() if line.startswith("#")
    ]


def _sections(doc: Path) -> list[str]:
    """Headings, and the bold lead-ins of list items (`- **Startup** (...)`), which docs cite."""
    return _headings(doc) + re.findall(r"^\s*- \*\*([^*]+)\*\*", doc.read_text(), re.MULTILINE)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _where(path: Path, text: str, offset: int) -> str:
    return f"{path.relative_to(REPO)}:{text.count(chr(10), 0, offset) + 1}"


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in UNRESOLVABLE.finditer(text):
            found.append(f"{_where(path, text, match.start())}: {match.group()!r}")
    assert not found, "references to documents not in this repository:\n" + "\n".join(found)


def test_every_cited_doc_section_exists() -> None:
    broken = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in DOC_SECTION.finditer(text):
            doc, section = REPO / match.group(1), match.group(2)
            if not doc.exists():
                broken.append(f"{_where(path, text, match.start())}: no file {match.group(1)}")
            elif section and not any(section in title for title in _sections(doc)):
                broken.append(f"{_where(path, text, match.start())}: no section {match.group()}")
    assert not broken, "\n".join(broken)


def test_every_markdown_link_resolves() -> None:
    broken = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = match.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            file_part, _, anchor = target.partition("#")
            linked = (doc.parent / file_part).resolve() if file_part else doc
            where = _where(doc, text, match.start())
            if not linked.exists():
                broken.append(f"{where}: {target}: no such file")
            elif anchor and anchor not in {_slug(h) for h in _headings(linked)}:
                broken.append(f"{where}: {target}: no such heading")
    assert not broken, "\n".join(broken)
