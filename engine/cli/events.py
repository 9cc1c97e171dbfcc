"""`engine events RUN_ID [--follow]`: a run's event stream, from the ledger."""

from __future__ import annotations

import json
import time

import click

from engine.cli.options import json_option, ledger_option, run_id_argument
from engine.cli.output import open_ledger, recover
from engine.ledger.json_shapes import stored_event_json
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Event
from engine.states import ExitCode

PAGE = 1000
POLL_SEC = 0.2
RECOVER_EVERY_SEC = 2.0


@click.command("events")
@run_id_argument
@click.option("--step", "step_id", metavar="ID", help="Only events of this step.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events until the run ends.")
@ledger_option
@json_option
def command(
    run_id: str, step_id: str | None, follow: bool, ledger: str | None, as_json: bool
) -> int:
    """Print a run's events in order; --json prints one JSON object per line."""
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        last_id = 0
        while True:
            version = reader.data_version()
            last_id = _print_new(reader, full_id, step_id, last_id, as_json)
            if not follow or _run_is_final(reader, full_id):
                # One more pass: events committed with the final status are already visible.
                _print_new(reader, full_id, step_id, last_id, as_json)
                return int(ExitCode.OK)
            # Nothing changes in a ledger whose engine died: look for that now and then.
            deadline = time.monotonic() + RECOVER_EVERY_SEC
            while reader.data_version() == version and time.monotonic() < deadline:
                time.sleep(POLL_SEC)
            recover(reader)


def _run_is_final(reader: LedgerReader, run_id: str) -> bool:
    run = reader.get_run(run_id)
    return run is None or run.status.is_final


def _print_new(
    reader: LedgerReader, run_id: str, step_id: str | None, after_id: int, as_json: bool
) -> int:
    """Print every event after `after_id`, page by page; return the last id printed."""
    while True:
        events = reader.events(run_id=run_id, step_id=step_id, after_id=after_id, limit=PAGE)
        for event in events:
            click.echo(
                json.dumps(stored_event_json(event), ensure_ascii=False) if as_json else line(event)
            )
        if events:
            after_id = events[-1].id
        if len(events) < PAGE:
            return after_id


def line(event: Event) -> str:
    """One event as a human line: time, type, step#attempt, then its data as key=value."""
    seconds, millis = divmod(round(event.ts * 1000), 1000)
    clock = time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}"
    where = event.step_id or ""
    if event.attempt is not None:
        where += f"#{event.attempt}"
    data = " ".join(f"{k}={_short(v)}" for k, v in (event.data or {}).items() if v is not None)
    return f"{event.id:>8}  {clock}  {event.type:<22} {where:<20} {data}".rstrip()


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 80 else text[:77] + "..."
