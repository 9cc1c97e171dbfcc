"""`engine doctor`: what this system gives the engine: how it watches exits and keeps processes."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys

import click

from engine.executors.exits import EXIT_WATCH_ENV, choose_exit_watch
from engine.executors.keeper import keeping_mechanism

_EXIT_WATCHES = {
    "epoll": "epoll + pidfd (one epoll set of pidfds on the event loop)",
    "thread": "thread (a thread per step waits for its exit)",
}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def command(as_json: bool) -> int:
    """Print the platform and the mechanisms the engine uses on it."""
    exit_watch = choose_exit_watch()
    keeping = keeping_mechanism()
    facts = {
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "exit_watch": exit_watch,
        "process_keeping": keeping.name,
    }
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return 0
    forced = f" (chosen by {EXIT_WATCH_ENV})" if os.environ.get(EXIT_WATCH_ENV) else ""
    lines = [
        ("platform", facts["platform"]),
        ("python", f"{facts['python']} ({sys.executable})"),
        ("sqlite", facts["sqlite"]),
        ("exit watch", _EXIT_WATCHES[exit_watch] + forced),
        ("process keeping", f"{keeping.name}: {keeping.description}"),
    ]
    for name, value in lines:
        click.echo(f"{name + ':':<17}{value}")
    return 0
