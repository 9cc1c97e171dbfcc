"""The Plan, Vars, Outputs and Error tabs of the run detail: plain text, never markup."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, TabPane

from engine.ledger.records import Attempt, Output, RunDetail

TEXT_TABS = (
    ("tab-plan", "Plan"),
    ("tab-vars", "Vars"),
    ("tab-outputs", "Outputs"),
    ("tab-error", "Error"),
)


def plan_text(detail: RunDetail) -> str:
    """Where the plan came from, its tags and metadata on top, then the whole plan."""
    head = f"{detail.plan_path or '(no file)'}  hash {detail.plan_hash}"
    if detail.summary.tags:
        head += "\ntags  " + ", ".join(detail.summary.tags)
    try:
        document = json.loads(detail.plan_json)
    except ValueError:
        return f"{head}\n\n{detail.plan_json}"
    metadata = document.get("metadata") if isinstance(document, dict) else None
    if metadata:
        shown = json.dumps(metadata, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        head += f"\nmetadata  {shown}"
    return f"{head}\n\n{json.dumps(document, indent=2)}"


def error_text(detail: RunDetail, attempts: Sequence[Attempt]) -> str:
    """The run's error, then every failed attempt's message and output tail."""
    lines = [detail.summary.error] if detail.summary.error else []
    for attempt in attempts:
        if attempt.error_code or attempt.message:
            what = f"{attempt.error_code or ''} {attempt.message or ''}".rstrip()
            lines.append(f"{attempt.step_id} attempt {attempt.attempt}: {what}")
            if attempt.output_tail:
                lines.append(attempt.output_tail.rstrip())
    return "\n".join(lines) or "(no error)"


def text_panes() -> Iterator[TabPane]:
    """One scrollable, markup-free pane per text tab."""
    for tab, title in TEXT_TABS:
        yield TabPane(title, VerticalScroll(Static("", id=f"{tab}-text", markup=False)), id=tab)


def show_texts(
    root: Widget, detail: RunDetail, outputs: Sequence[Output], attempts: Sequence[Attempt]
) -> None:
    """Fill the text tabs found under `root`."""
    variables = "\n".join(f"{k} = {v}" for k, v in sorted(detail.vars.items()))
    shown = "\n".join(f"{o.step_id}.{o.name} = {o.value}" for o in outputs)
    for tab, text in (
        ("tab-plan", plan_text(detail)),
        ("tab-vars", variables or "(no variables)"),
        ("tab-outputs", shown or "(no outputs)"),
        ("tab-error", error_text(detail, attempts)),
    ):
        root.query_one(f"#{tab}-text", Static).update(text)
