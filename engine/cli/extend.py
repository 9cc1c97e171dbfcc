"""`engine extend RUN_ID [--step ID] --by DURATION | --to TIME`: lengthen a live timeout."""

from __future__ import annotations

import getpass
import os
import socket
import time
from datetime import datetime
from pathlib import Path

import click

from engine.cli.options import json_option, ledger_option, run_id_argument
from engine.cli.output import note, open_ledger, parse_duration, print_json
from engine.errors import UserError
from engine.ledger.extend import MAX_AHEAD_SEC, ExtendRequest, read_request, request_extend
from engine.ledger.times import to_iso
from engine.states import ExitCode


@click.command("extend")
@run_id_argument
@click.option("--step", "step_id", metavar="ID", help="Extend this running step's timeout.")
@click.option("--by", "by", metavar="DURATION", help="Lengthen it by DURATION: 10m, 1h30m.")
@click.option(
    "--to", "to", metavar="TIME", help="Move it to TIME: 2026-12-05T06:00Z (no offset: local)."
)
@click.option(
    "--wait",
    "wait_sec",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the engine's answer.",
)
@ledger_option
@json_option
def command(
    run_id: str,
    step_id: str | None,
    by: str | None,
    to: str | None,
    wait_sec: float,
    ledger: str | None,
    as_json: bool,
) -> int:
    """Lengthen a live run's timeout, or a running step's; its engine answers within a second."""
    if (by is None) == (to is None):
        raise UserError("Give one of --by DURATION or --to TIME.")
    by_sec = None if by is None else parse_duration(by)
    until = None if to is None else _time(to)
    if by_sec is not None and by_sec <= 0:
        raise UserError(f"--by {by}: an extension must be longer than nothing.")
    if until is not None and until <= time.time():
        raise UserError(f"--to {to}: that time is already past.")
    if (by_sec or 0) > MAX_AHEAD_SEC or (until or 0) > time.time() + MAX_AHEAD_SEC:
        given = f"--by {by}" if by is not None else f"--to {to}"
        raise UserError(f"{given}: a timeout may be extended to at most 366 days from now.")
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        asker = f"engine extend ({getpass.getuser()}@{socket.gethostname()}, pid {os.getpid()})"
        request_id = request_extend(
            reader.path, full_id, step_id, by_sec=by_sec, until=until, requested_by=asker
        )
        answer = _wait(reader.path, request_id, wait_sec)
    if answer is None:
        raise UserError(
            f"The engine running run {full_id} did not answer within {wait_sec:g}s; "
            f"request {request_id} stays pending.",
            ExitCode.FAILED,
        )
    if as_json:
        print_json(
            {
                "request_id": answer.id, "run_id": answer.run_id, "step_id": answer.step_id,
                "outcome": answer.outcome, "deadline": answer.deadline and to_iso(answer.deadline),
                "message": answer.message,
            }
        )  # fmt: skip
    message = answer.message or str(answer.outcome)
    if answer.outcome != "extended":
        raise UserError(message[:1].upper() + message[1:] + ".", ExitCode.FAILED)
    if not as_json:
        note(message)
    return int(ExitCode.OK)


def _time(text: str) -> float:
    try:
        when = datetime.fromisoformat(text.strip())
        return (when if when.tzinfo is not None else when.astimezone()).timestamp()
    except (ValueError, OverflowError):  # OverflowError: year 1 in a zone east of UTC
        raise UserError(f"--to {text!r}: expected an ISO-8601 time (2026-12-05T06:00Z).") from None


def _wait(path: Path, request_id: int, timeout: float) -> ExtendRequest | None:
    """Poll the request until the engine has answered it; None if it did not in time."""
    deadline = time.monotonic() + timeout
    while True:
        answer = read_request(path, request_id)
        if answer is not None and answer.handled_at is not None:
            return answer
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)
