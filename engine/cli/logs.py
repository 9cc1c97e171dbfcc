"""`engine logs RUN_ID STEP [--attempt N] [--follow]`: an attempt's output, from its log file."""

from __future__ import annotations

import codecs
import json
import sys
import time
from pathlib import Path

import click

from engine.cli.options import json_option, ledger_option, run_id_argument
from engine.cli.output import note, open_ledger, recover
from engine.cli.streams import OutputLost
from engine.errors import UserError
from engine.ledger.location import recorded_log_path
from engine.ledger.reader import LedgerReader
from engine.ledger.records import Attempt
from engine.states import AttemptStatus, ErrorCode, ExitCode

CHUNK = 1 << 16
POLL_SEC = 0.2
RECOVER_EVERY_POLLS = 10


@click.command("logs")
@run_id_argument
@click.argument("step_id")
@click.option("--attempt", type=click.IntRange(min=1), help="Which attempt (default: the last).")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the attempt finishes.")
@ledger_option
@json_option
def command(
    run_id: str,
    step_id: str,
    attempt: int | None,
    follow: bool,
    ledger: str | None,
    as_json: bool,
) -> int:
    """Print the log of a step's attempt (stdout and stderr, merged, secrets masked)."""
    with open_ledger(ledger) as reader:
        full_id = reader.resolve_run_id(run_id)
        chosen = _find_attempt(reader, full_id, step_id, attempt, wait=follow)
        path = _log_file(reader, chosen)
        if follow:
            _follow(reader, chosen, path, as_json)
            return int(ExitCode.OK)
    if chosen.error_code == ErrorCode.CONDITION_ERROR:
        note(f"{step_id}#{chosen.attempt} started no process, so it has no log: {chosen.message}")
        text = ""
    elif path is None or not path.exists():
        note(f"the log of {step_id}#{chosen.attempt} is gone; showing the tail kept in the ledger")
        text = chosen.output_tail or ""
    elif not as_json:
        with path.open("rb") as log:
            while chunk := log.read(CHUNK):
                _write_bytes(chunk)
        return int(ExitCode.OK)
    else:
        text = path.read_bytes().decode("utf-8", errors="replace")
    if as_json:
        document = {
            "run_id": full_id, "step_id": step_id, "attempt": chosen.attempt,
            "status": str(chosen.status), "log_path": chosen.log_path, "text": text,
        }  # fmt: skip
        click.echo(json.dumps(document, ensure_ascii=False))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return int(ExitCode.OK)


def _find_attempt(
    reader: LedgerReader, run_id: str, step_id: str, number: int | None, *, wait: bool
) -> Attempt:
    """The asked-for (or last) attempt; with `wait`, wait for it to start while the run is live."""
    while True:
        attempts = reader.attempts(run_id, step_id)
        chosen = [a for a in attempts if number is None or a.attempt == number]
        if chosen:
            return chosen[-1]
        run = reader.get_run(run_id)
        known = any(s.step_id == step_id for s in reader.run_steps(run_id))
        if not known:
            raise UserError(f"Run {run_id} has no step {step_id!r}.")
        if not wait or run is None or run.status.is_final:
            which = "no attempts" if number is None else f"no attempt {number}"
            raise UserError(f"Step {step_id} of run {run_id} has {which}.", ExitCode.FAILED)
        time.sleep(POLL_SEC)
        recover(reader)


def _log_file(reader: LedgerReader, attempt: Attempt) -> Path | None:
    path = recorded_log_path(attempt.log_path, reader.path)
    return None if path is None else Path(path)


def _follow(reader: LedgerReader, attempt: Attempt, path: Path | None, as_json: bool) -> None:
    """Print the log as it grows (like tail -f) until the attempt has finished."""
    offset = 0
    polls = 0
    # Chunks may split a UTF-8 character; for --json the decoder carries the partial bytes over.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        finished = _status(reader, attempt) is not AttemptStatus.RUNNING
        if path is not None and path.exists():
            with path.open("rb") as log:
                log.seek(offset)
                while chunk := log.read(CHUNK):
                    offset += len(chunk)
                    if as_json:
                        _write_json(decoder.decode(chunk))
                    else:
                        _write_bytes(chunk)
        if finished:  # read after seeing the status, so no tail written before it is lost
            return
        time.sleep(POLL_SEC)
        polls += 1
        if polls % RECOVER_EVERY_POLLS == 0:  # an engine that died never finishes the attempt
            recover(reader)


def _status(reader: LedgerReader, attempt: Attempt) -> AttemptStatus:
    for row in reader.attempts(attempt.run_id, attempt.step_id):
        if row.attempt == attempt.attempt:
            return row.status
    return AttemptStatus.ABANDONED  # deleted by gc meanwhile


def _write_json(text: str) -> None:
    if text:
        click.echo(json.dumps({"text": text}, ensure_ascii=False))


def _write_bytes(chunk: bytes) -> None:
    """A log's bytes as they are, like `cat`: a step's output need not be UTF-8, nor fit memory."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # a stdout of text only (a program calling main()): decoded
        sys.stdout.write(chunk.decode("utf-8", errors="replace"))
        return
    try:
        buffer.write(chunk)
        buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputLost(error) from None
