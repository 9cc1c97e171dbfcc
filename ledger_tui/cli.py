"""`ledger-tui`: parse, then start the dashboard or print the status; Textual is imported lazily."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.streams import OutputLost, ReaderGone, StopsWhenReaderGoes, reader_gone
from engine.errors import LedgerError, UserError
from engine.ledger.location import resolve_ledger_path
from ledger_tui.watch import DEFAULT_POLL_INTERVAL, LedgerWatch, runs_overview


def _ledger_path(explicit: str | None) -> Path:
    return resolve_ledger_path(explicit, create=False)


@click.group(
    cls=StopsWhenReaderGoes,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="plan-engine", prog_name="ledger-tui")
@click.option("--ledger", metavar="PATH", help="The ledger (default: $LEDGER_DB, else .ledger/).")
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.02, 60),
    default=DEFAULT_POLL_INTERVAL,
    show_default=True,
    help="Seconds between checks for new data.",
)
@click.option("--theme", metavar="NAME", help="A Textual theme, e.g. textual-dark, nord.")
@click.option("--keymap", metavar="FILE", help="TOML file remapping binding ids to keys.")
@click.pass_context
def cli(
    ctx: click.Context,
    ledger: str | None,
    poll_interval: float,
    theme: str | None,
    keymap: str | None,
) -> None:
    """Watch the plan engine's ledger live."""
    ctx.obj = ledger
    if ctx.invoked_subcommand is not None:
        return
    from ledger_tui.keymap import load_keymap

    path = _ledger_path(ledger)
    LedgerWatch(path).open()  # a foreign or newer file fails here, before the screen is taken
    bindings = load_keymap(keymap)
    from ledger_tui.app import LedgerApp

    app = LedgerApp(path, poll_interval=poll_interval, theme_name=theme, keymap=bindings)
    app.run()
    sys.exit(app.return_code or 0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=20, show_default=True, help="Recent runs to list.")
@click.pass_obj
def status(ledger: str | None, as_json: bool, limit: int) -> None:
    """Print the Runs overview (active runs, then recent ones) without a terminal UI."""
    from ledger_tui.status import overview_json, overview_text

    path = _ledger_path(ledger)
    watch = LedgerWatch(path)
    reader = watch.open()
    if reader is None:
        raise LedgerError(f"There is no ledger at {path} yet; start a run with `engine run`.")
    try:
        overview = runs_overview(reader, limit=limit)
    finally:
        watch.close()
    try:
        click.echo(overview_json(overview) if as_json else overview_text(overview))
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise OutputLost(error) from None


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a UserError becomes one line on stderr and its exit code."""
    try:
        cli.main(args=argv, prog_name="ledger-tui", standalone_mode=False)
    except UserError as error:
        click.echo(f"ledger-tui: {error.message}", err=True)
        sys.exit(int(error.exit_code))
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(2)
    except (BrokenPipeError, ReaderGone):
        reader_gone()
    except OutputLost as lost:
        click.echo(f"ledger-tui: cannot write the output: {lost.reason}.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
