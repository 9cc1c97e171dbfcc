"""`engine`'s entry point: signal handlers and output guards first, then the commands (cli/app.py).

The handlers go in before click, the plan or the engine are imported, so a Ctrl-C during start-up
ends the process quietly with 130 instead of a KeyboardInterrupt traceback from an import.
"""

from __future__ import annotations

from engine import signals

signals.install()


def main(argv: list[str] | None = None) -> None:
    """Run `engine ARGS`; exits with the command's code."""
    try:
        from engine.cli import streams

        streams.guard()
        from engine.cli.app import main as run_command

        run_command(argv)
    except SystemExit as done:
        asked = signals.exit_asked()  # a command that went on after its SystemExit was swallowed
        if asked is not None and done.code != asked:
            raise SystemExit(asked) from None
        raise
    except BaseException:
        # A library turned the signal's SystemExit into an error of its own: pydantic-core does,
        # raised in the re.compile it calls while it builds a model's validator (a SchemaError).
        asked = signals.exit_asked()
        if asked is None:
            raise
        raise SystemExit(asked) from None
    finally:
        signals.ignore()
