"""Every shell command in README.md and docs/*.md runs, and exits as the docs say.

How commands are found and judged (keep the docs to this, and this docstring up to date):

- A command is a line of a fenced block tagged `sh`, `shell`, `bash` or `console`, or a line
  starting with `$ ` in any fenced block (a transcript). In a transcript only the `$ ` lines are
  commands; the lines after one, up to the next `$ ` line or the end of the block, are its expected
  output: each must appear in what the command printed (stdout or stderr, surrounding spaces
  ignored), with `…` standing for any text. Blank lines and lines starting with `#` are not
  commands; a line ending in `\\` continues on the next.
- The expected exit status is 0, unless the command's trailing comment says `exit N` (the first
  one in the comment): `engine run broken.json   # exit 2: unknown step "biuld"`. Text after
  `exit N:` must appear in what the command printed.
- `RUN_ID` in a command stands for the id of the newest run in the test's ledger.
- Each document's commands run in order, as a reader following it would, through `/bin/sh -c` in a
  fresh directory holding a copy of examples/ and schema/, every complete plan (`name` and `steps`)
  of the document's json blocks as `<name>.json`, `.venv` (a link to the venv running the tests,
  whose bin/ is first on PATH), and a ledger of its own (`LEDGER_DB=.ledger/framework.db`).
- A command that cannot run here is listed in NOT_RUN below with the reason, and what is run
  instead, if anything. An entry no document uses any more fails the test, so the list stays true.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_TAGS = {"sh", "shell", "bash", "console"}
TIMEOUT_SEC = 30

# Command (as written, comment excluded) -> (what runs instead or None, why).
NOT_RUN: dict[str, tuple[str | None, str]] = {
    # A LocalCluster's worker processes take seconds to start, more than TIMEOUT_SEC on a loaded
    # machine; tests/dask runs the same on a cluster of its own. The flags are still parsed.
    "engine run examples/diamond.json --executor dask": (
        "engine run examples/diamond.json --executor dask --dry-run",
        "starts a LocalCluster (worker processes): tests/dask/test_executor.py runs Dask runs",
    ),
    "ENGINE_EXECUTOR=dask engine run examples/hello.json": (
        "ENGINE_EXECUTOR=dask engine run examples/hello.json --dry-run",
        "starts a LocalCluster: tests/dask/test_processes.py runs with ENGINE_EXECUTOR=dask",
    ),
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && "
    ".venv/bin/engine run examples/diamond.json": (
        ".venv/bin/engine run examples/diamond.json",
        "installing is what made the venv these tests run in; its last part runs",
    ),
    ".venv/bin/python -m pytest -q": (None, "the test suite itself"),
    "stress --cpu 4 --timeout 3600 & for i in $(seq 20); do .venv/bin/python -m pytest -q "
    "-p no:cacheprovider tests/tui || break; done; kill $!": (
        None,
        "runs tests/tui, part of the suite itself, 20 times under load (minutes)",
    ),
    ".venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy && "
    ".venv/bin/lint-imports": (None, "checks the repository's code, which .ci/run does"),
    "ledger-tui": (
        "ledger-tui status",
        "the dashboard is interactive (tests/tui drive it); `status` opens the same ledger",
    ),
}


@dataclass
class Command:
    doc: str  # path relative to the repository
    line: int
    text: str  # as written, trailing comment included
    expected_output: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def command(self) -> str:
        return self.text[: _comment_start(self.text)].rstrip()

    @property
    def comment(self) -> str:
        start = _comment_start(self.text)
        return self.text[start + 1 :].strip() if start < len(self.text) else ""

    @property
    def expected_exit(self) -> tuple[int, str | None]:
        match = re.search(r"\bexit (\d+)\b(?::\s*(.+))?", self.comment)
        if match is None:
            return 0, None
        return int(match.group(1)), match.group(2)


def _comment_start(line: str) -> int:
    """Where the shell comment of `line` starts (an unquoted `#` after a blank), else len(line)."""
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return index
    return len(line)


def extract(doc: Path) -> tuple[list[Command], list[str]]:
    """The commands of one document, and the text of its json blocks."""
    name = str(doc.relative_to(REPO))
    commands: list[Command] = []
    json_blocks: list[str] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w-]*)", lines[index])
        if fence is None:
            index += 1
            continue
        marker, tag = fence.group(2), fence.group(3).lower()
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(marker):
            end += 1
        body = lines[start:end]
        if tag == "json":
            json_blocks.append("\n".join(body))
        elif tag in SHELL_TAGS or any(line.startswith("$ ") for line in body):
            commands.extend(_block_commands(name, start + 1, body, tag in SHELL_TAGS))
        index = end + 1
    return commands, json_blocks


def _block_commands(doc: str, first_line: int, body: list[str], shell: bool) -> list[Command]:
    transcript = any(line.startswith("$ ") for line in body)
    commands: list[Command] = []
    pending: Command | None = None
    for offset, raw in enumerate(body):
        line = raw.rstrip()
        if pending is not None and pending.text.endswith("\\"):
            pending.text = pending.text[:-1].rstrip() + " " + line.strip()
            continue
        if transcript and not line.startswith("$ "):
            if commands and line.strip():
                commands[-1].expected_output.append(line.strip())
            continue
        text = line[2:] if transcript else line
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        pending = Command(doc, first_line + offset, text.strip())
        commands.append(pending)
    return commands


ALL = {doc: extract(doc) for doc in DOCS}


def _latest_run_id(ledger: Path) -> str:
    if not ledger.exists():
        return "RUN_ID"
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as conn:
        query = "SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT 1"
        row = conn.execute(query).fetchone()
    return row[0] if row else "RUN_ID"


def _workspace(tmp_path: Path, json_blocks: list[str]) -> dict[str, str]:
    for folder in ("examples", "schema"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    for block in json_blocks:
        try:
            plan = json.loads(block)
        except json.JSONDecodeError:
            continue  # fragments (several objects, one per line) are not plans
        if isinstance(plan, dict) and "name" in plan and "steps" in plan:
            (tmp_path / f"{plan['name']}.json").write_text(block, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ENGINE_", "LEDGER_")) and key not in ("VIRTUAL_ENV", "CI")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["LEDGER_DB"] = ".ledger/framework.db"
    env["NO_COLOR"] = "1"
    return env


def _matches(expected: str, printed: str) -> bool:
    pattern = ".*?".join(re.escape(part.strip()) for part in expected.split("…"))
    return re.search(pattern, printed) is not None


def _run(command: Command, tmp_path: Path, env: dict[str, str]) -> str | None:
    """Run one command; None if it behaved as documented, else what went wrong."""
    text = command.command
    if text in NOT_RUN:
        replacement, _ = NOT_RUN[text]
        if replacement is None:
            return None
        text = replacement
    text = text.replace("RUN_ID", _latest_run_id(tmp_path / ".ledger" / "framework.db"))
    try:
        result = subprocess.run(
            ["/bin/sh", "-c", text],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SEC,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"did not finish in {TIMEOUT_SEC} s"
    printed = result.stdout + result.stderr
    code, message = command.expected_exit
    problems = []
    if result.returncode != code:
        problems.append(f"exited {result.returncode}, the docs say {code}")
    wanted = ([message] if message else []) + command.expected_output
    problems += [f"did not print {line!r}" for line in wanted if not _matches(line, printed)]
    if not problems:
        return None
    ran = "" if text == command.command else f"\n  (ran: {text})"
    return (
        f"{command.where}: `{command.command}` {'; '.join(problems)}{ran}\n"
        f"  stdout: {result.stdout.strip()[-1500:]!r}\n  stderr: {result.stderr.strip()[-1500:]!r}"
    )


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(REPO)))
def test_every_command_in_the_doc_runs_as_documented(doc: Path, tmp_path: Path) -> None:
    commands, json_blocks = ALL[doc]
    env = _workspace(tmp_path, json_blocks)
    failures = [failure for c in commands if (failure := _run(c, tmp_path, env)) is not None]
    if failures:
        pytest.fail("documented commands that drifted:\n" + "\n".join(failures), pytrace=False)


def test_the_docs_have_commands_to_check() -> None:
    found = {str(doc.relative_to(REPO)): len(commands) for doc, (commands, _) in ALL.items()}
    assert found["README.md"] >= 5 and found["docs/plans.md"] >= 4, found


def test_every_command_not_run_is_still_in_the_docs() -> None:
    written = {command.command for commands, _ in ALL.values() for command in commands}
    stale = sorted(set(NOT_RUN) - written)
    assert not stale, f"tests/docs/test_doc_commands.py: NOT_RUN lists commands no doc has: {stale}"


def test_the_conventions_hold_on_a_sample() -> None:
    body = ["engine validate a.json \\", "  --json # exit 2"]
    commands = _block_commands("sample.md", 2, body, True)
    assert [(c.line, c.command, c.expected_exit) for c in commands] == [
        (2, "engine validate a.json --json", (2, None))
    ]
    body = ["$ echo '# not a comment' x   # prints it", "# not a comment x", "$ true"]
    echo, true = _block_commands("sample.md", 7, body, False)
    assert echo.command == "echo '# not a comment' x" and echo.comment == "prints it"
    assert echo.expected_output == ["# not a comment x"] and true.line == 9
    assert _matches("valid plan … (1 step)", "x: valid plan 'hello' (1 step)\n")
