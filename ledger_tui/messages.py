"""The typed messages between the dashboard's app and its screens.

The app posts what the poller read to the visible screen; screens post what the user wants
(open a run) to the app, instead of calling into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class Loaded(Message):
    """App to screen: the result of the screen's query (its type is the query's)."""

    payload: Any


@dataclass
class Notice(Message):
    """App to screen: show `text` under the header (a missing ledger), or hide it (None)."""

    text: str | None


@dataclass
class OpenRun(Message):
    """Screen to app: show run `run_id` on top of the Runs view."""

    run_id: str


@dataclass
class RunHighlighted(Message):
    """Screen to app: the cursor of the Runs view is on `run_id` (view 2 opens it)."""

    run_id: str | None


@dataclass
class ScreenShown(Message):
    """Screen to app: this screen is visible now; poll for its query only."""

    screen: Any
