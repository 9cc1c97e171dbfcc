"""`engine show RUN_ID`: one run with its steps, attempts and outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import click
from rich.text import Text

from engine.cli.options import json_option, ledger_option, run_id_argument
from engine.cli.output import open_ledger, print_json, print_table, status_text
from engine.errors import UserError
from engine.humanize import clock_time, duration, memory, plural
from engine.ledger.json_shapes import attempt_json, lease_json, run_detail_json, step_json
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Attempt, Lease
from engine.states import ExitCode
from engine.step_groups import StepGroup, group_steps


@click.command("show")
@run_id_argument
@ledger_option
@json_option
def command(run_id: str, ledger: str | None, as_json: bool) -> int:
    """Show a run: its plan, vars, owner, steps, attempts and outputs."""
    with open_ledger(ledger) as reader, reader.snapshot():
        full_id = reader.resolve_run_id(run_id)
        run = reader.get_run(full_id)
        if run is None:  # deleted by gc between the two queries
            raise UserError(f"There is no run {full_id!r} in the ledger.")
        steps = reader.run_steps(full_id)
        attempts = reader.attempts(full_id)
        outputs = reader.outputs(full_id)
        leases = reader.leases(full_id)
        links = reader.run_links(full_id)
        plan = json.loads(run.plan_json)
        circuits = (
            circuit_lines(reader, plan, run.vars, [step.step_id for step in steps])
            if run.summary.plan_name
            else []
        )
    if as_json:
        step_metadata = _step_metadata(plan)
        document = {
            "run": {
                **run_detail_json(run),
                "metadata": plan.get("metadata") or {},
                "plan": plan,
                "parent_run_id": links.parent_run_id,
                "parent_step_id": links.parent_step_id,
            },
            "children": [
                {"step_id": c.step_id, "run_id": c.run_id, "status": str(c.status)}
                for c in links.children
            ],
            "steps": [
                {**step_json(step), "metadata": step_metadata.get(step.step_id, {})}
                for step in steps
            ],
            "attempts": [attempt_json(attempt) for attempt in attempts],
            "outputs": outputs,
            "leases": [lease_json(lease) for lease in leases],
        }
        print_json(document)
        return int(ExitCode.OK)
    s = run.summary
    click.echo(f"run       {s.id}  ({s.display_status})")
    click.echo(f"plan      {s.plan_name} {run.plan_version or ''}  {run.plan_path or ''}".rstrip())
    click.echo(f"created   {clock_time(s.created_at)} UTC   duration {duration(s.duration_ms)}")
    if s.tags:
        click.echo("tags      " + ", ".join(s.tags))
    if plan.get("metadata"):
        click.echo("metadata  " + json.dumps(plan["metadata"], ensure_ascii=False, sort_keys=True))
    if run.vars:
        click.echo("vars      " + " ".join(f"{k}={v}" for k, v in sorted(run.vars.items())))
    if run.owner is not None:
        click.echo(f"owner     pid {run.owner.pid} on {run.owner.host}")
    if s.resumed_from:
        click.echo(f"resumes   {s.resumed_from}")
    if links.parent_run_id is not None:
        click.echo(f"parent    {links.parent_run_id}  step {links.parent_step_id}")
    if s.error:
        click.echo(f"error     {s.error}")
    for lease in leases:
        if lease.kind == "group":
            click.echo(f"group     {lease.name}  {lease_text(lease)}")
    last = {a.step_id: a for a in attempts}
    rows: list[tuple[str | Text, ...]] = []
    for group in group_steps(steps):
        base, members = group.base, group.members
        if base is not None:
            rows.append(_matrix_row(group))
        rows.extend(
            (
                ("  " + step.step_id[len(base) :] if base else step.step_id)
                + (" (hook)" if step.is_hook else ""),
                status_text(step.status),
                str(step.attempts),
                duration(step.duration_ms),
                _exit(last.get(step.step_id)),
                *_resources(last.get(step.step_id)),
                step.reason or "",
            )
            for step in members
        )
    click.echo()
    headers = ("STEP", "STATUS", "ATTEMPTS", "DURATION", "EXIT", "CPU", "MAX RSS", "REASON")
    print_table(headers, rows)
    for line in circuits:
        click.echo(line)
    placed = [a for a in attempts if a.host is not None or a.placed_at is not None]
    if placed:  # a cluster ran them (engine run --executor dask)
        click.echo()
        print_table(
            ("STEP", "ATTEMPT", "HOST", "WORKER", "QUEUED"),
            [(a.step_id, str(a.attempt), a.host or "", a.worker or "", _queued(a)) for a in placed],
        )
    pooled = [lease for lease in leases if lease.kind == "pool"]
    if pooled:
        click.echo()
        print_table(
            ("STEP", "POOL", "STATE", "WAITED"),
            [(p.step_id or "", p.name, lease_text(p), _waited(p)) for p in pooled],
        )
    if links.children:
        click.echo()
        print_table(
            ("STEP", "CHILD RUN", "STATUS"),
            [(c.step_id, c.run_id, status_text(c.status)) for c in links.children],
        )
    if outputs:
        click.echo()
        print_table(
            ("STEP", "OUTPUT", "VALUE"), [(o.step_id, o.name, o.value[:200]) for o in outputs]
        )
    return int(ExitCode.OK)


def circuit_lines(
    reader: LedgerReader,
    plan: dict[str, Any],
    given: Mapping[str, Any] | None = None,
    step_ids: Sequence[str] = (),
) -> list[str]:
    """`circuit   KEY  open until …`, for each step of the plan with a circuit breaker; a matrix
    step without a `key` has one circuit per expansion (`step_ids`: the run's)."""
    from engine.plan.matrix import matrix_base
    from engine.plan.spec import duration_sec
    from engine.plan.variables import substitute_vars

    values = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in {**(plan.get("vars") or {}), **(given or {})}.items()
        if value is not None
    }
    lines = []
    for step in plan.get("steps") or []:
        circuit = step.get("circuit") if isinstance(step, dict) else None
        if not isinstance(circuit, dict):
            continue
        ids = [step.get("id")]
        if step.get("matrix") and not circuit.get("key"):
            ids = [sid for sid in step_ids if matrix_base(sid) == step.get("id")] or ids
        for step_id in ids:
            key = circuit.get("key") or f"{plan.get('name')}/{step_id}"
            key = substitute_vars(key, lambda ref: values.get(ref.name, ref.default))
            state = reader.circuit(
                key, circuit["failures"], duration_sec(circuit["within"]),
                duration_sec(circuit["open_for"]),
            )  # fmt: skip
            threshold = plural(circuit["failures"], "failure")
            counted = f"{state.failures} of {threshold} within {circuit['within']}"
            text = f"closed ({counted})"
            if state.opened and state.reopens_at is not None:
                failures = plural(state.failures, "failure")
                text = state.refusal(time.time(), circuit["within"]) or (
                    f"half-open: the next attempt is its trial ({failures})"
                )
            lines.append(f"circuit   {step_id}: {text}")
    return lines


def lease_text(lease: Lease) -> str:
    """`held`, `released`, or `waiting for run X` (the runs that hold it now)."""
    if lease.state == "waiting" and lease.waits_for:
        noun = "run" if len(lease.waits_for) == 1 else "runs"
        return f"waiting for {noun} {', '.join(lease.waits_for)}"
    return lease.state


def _waited(lease: Lease) -> str:
    end = lease.acquired_at or lease.released_at
    return "" if end is None else duration(round((end - lease.requested_at) * 1000))


def _step_metadata(plan: dict[str, Any]) -> dict[str, Any]:
    """Each step's `metadata` in the stored plan, by step id."""
    from engine.plan.spec import GROUPS

    return {
        step["id"]: step["metadata"]
        for group in GROUPS
        for step in plan.get(group) or ()
        if isinstance(step, dict) and isinstance(step.get("metadata"), dict) and "id" in step
    }


def _matrix_row(group: StepGroup) -> tuple[str | Text, ...]:
    """A matrix step's heading row: its worst status and how many expansions ended how."""
    summary = ", ".join(f"{n} {name}" for name, n in group.counts())
    title = f"{group.base} (matrix of {len(group.members)})"
    return (title, status_text(group.status), "", "", "", "", "", summary)


def _queued(attempt: Attempt) -> str:
    """How long the attempt waited for a worker: from its submission to its start there."""
    if attempt.placed_at is None:
        return "never started"
    return duration(round(max(0.0, attempt.placed_at - attempt.started_at) * 1000))


def _exit(attempt: Attempt | None) -> str:
    if attempt is None:
        return ""
    if attempt.signal is not None:
        return f"signal {attempt.signal}"
    if attempt.exit_code is not None:
        return str(attempt.exit_code)
    return attempt.error_code or ""


def _resources(attempt: Attempt | None) -> tuple[str, str]:
    """The last attempt's CPU time (user + system) and peak memory, as `engine show` lists them."""
    if attempt is None or attempt.cpu_ms is None:
        return "", ""
    return duration(attempt.cpu_ms), memory(attempt.max_rss_kb)
