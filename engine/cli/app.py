"""`engine`'s commands, one module each, imported lazily; the entry point is cli/main.py."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from engine import signals
from engine.cli import streams
from engine.errors import UserError
from engine.plan.problems import InvalidPlan
from engine.states import ExitCode

# name -> (module, help); a subcommand's module is imported only when it runs, so `engine validate`
# never pays for the run engine's imports.
COMMANDS = {
    "run": ("engine.cli.run", "Run a plan."),
    "validate": ("engine.cli.validate", "Check a plan and report every problem."),
    "schema": ("engine.cli.schema", "Print the plan JSON Schema."),
    "cancel": ("engine.cli.cancel", "Cancel a live run, or one of its steps."),
    "extend": ("engine.cli.extend", "Lengthen a live run's timeout, or a running step's."),
    "resume": ("engine.cli.resume", "Run a run's plan again, reusing its succeeded steps."),
    "explain": ("engine.cli.explain", "Tell why a step ran, waited, was skipped or failed."),
    "runs": ("engine.cli.runs", "List runs, newest first."),
    "show": ("engine.cli.show", "Show a run with its steps, attempts and outputs."),
    "events": ("engine.cli.events", "Print (or follow) a run's events."),
    "logs": ("engine.cli.logs", "Print (or follow) the log of a step attempt."),
    "stats": ("engine.cli.stats", "Totals, success rate, durations, flaky and slow steps."),
    "gc": ("engine.cli.gc", "Delete old runs with their events, outputs and logs."),
    "doctor": (
        "engine.cli.doctor",
        "Print how this system runs steps.",
    ),
}


class LazyGroup(streams.StopsWhenReaderGoes):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command: click.Command = importlib.import_module(COMMANDS[cmd_name][0]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="plan-engine", prog_name="engine")
def cli() -> None:
    """A local-first plan engine with a SQLite ledger."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a UserError becomes one line on stderr and its exit code, never a traceback."""
    try:
        code: Any = cli.main(args=argv, prog_name="engine", standalone_mode=False)
        sys.stdout.flush()  # a write error must be found here, not in the flush at exit
    except UserError as error:
        if isinstance(error, InvalidPlan):  # every problem on its own line, then the summary
            for problem in error.problems:
                click.echo(problem.render(error.source), err=True)
        click.echo(f"engine: {error.message}", err=True)
        sys.exit(int(error.exit_code))
    except signals.Interrupted as interrupted:  # Ctrl-C before the run began: nothing to report
        sys.exit(interrupted.exit_code)
    except click.exceptions.Abort:
        sys.exit(int(ExitCode.SIGINT))
    except click.ClickException as error:
        error.show()
        sys.exit(int(ExitCode.USAGE))
    except (BrokenPipeError, streams.ReaderGone):
        streams.reader_gone()
    except streams.OutputLost as lost:
        streams.keep_going()  # the flush at exit must not raise it again
        click.echo(f"engine: cannot write the output: {lost.reason}.", err=True)
        sys.exit(int(ExitCode.FAILED))
    sys.exit(code if isinstance(code, int) else 0)
