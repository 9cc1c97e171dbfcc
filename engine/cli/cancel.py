"""`engine cancel RUN_ID [--step ID]`: ask the engine running a run to cancel it, or one step."""

from __future__ import annotations

import getpass
import os
import socket
import time

import click

from engine.cli.options import json_option, ledger_option, run_id_argument
from engine.cli.output import note, open_ledger, print_json
from engine.errors import UserError
from engine.ledger.control import request_cancel
from engine.ledger.reader import LedgerReader
from engine.states import ExitCode


@click.command("cancel")
@run_id_argument
@click.option("--step", "step_id", metavar="ID", help="Cancel only this step.")
@click.option(
    "--wait",
    "wait_sec",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Wait up to SECONDS until the run (or step) has ended.",
)
@ledger_option
@json_option
def command(
    run_id: str, step_id: str | None, wait_sec: float | None, ledger: str | None, as_json: bool
) -> int:
    """Cancel a live run (or one of its steps); its engine acts within a second."""
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        by = f"engine cancel ({getpass.getuser()}@{socket.gethostname()}, pid {os.getpid()})"
        request_id = request_cancel(reader.path, full_id, step_id, requested_by=by)
        what = f"step {step_id} of run {full_id}" if step_id else f"run {full_id}"
        note(f"cancel of {what} requested")
        status = None
        if wait_sec is not None:
            status = _wait(reader, full_id, step_id, wait_sec)
            if status is None:
                raise UserError(f"{what} has not ended after {wait_sec:g}s.", ExitCode.FAILED)
            note(f"{what} is {status}")
    if as_json:
        print_json(
            {"request_id": request_id, "run_id": full_id, "step_id": step_id, "status": status}
        )
    return int(ExitCode.OK)


def _wait(reader: LedgerReader, run_id: str, step_id: str | None, timeout: float) -> str | None:
    """Poll the ledger until the run (or step) is final; its status, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if step_id is None:
            run = reader.get_run(run_id)
            if run is not None and run.status.is_final:
                return str(run.status)
        else:
            for step in reader.run_steps(run_id):
                if step.step_id == step_id and step.status.is_final:
                    return str(step.status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
