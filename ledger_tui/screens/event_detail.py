"""One event's whole record as JSON, in a modal over the view it was chosen in."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.ledger.records import Event
from engine.ledger.times import to_iso


def event_json(event: Event) -> str:
    """The event as the ledger holds it, its data parsed (`engine events --json`'s fields)."""
    record = {
        "id": event.id,
        "run_id": event.run_id,
        "step_id": event.step_id,
        "attempt": event.attempt,
        "type": event.type,
        "ts": to_iso(event.ts),
        "data": event.data,
    }
    return json.dumps(record, indent=2, ensure_ascii=False)


class EventMemory:
    """The events a table shows, by row key, so one can be opened whole; bounded like it."""

    def __init__(self, kept: int) -> None:
        self._kept = kept
        self._events: dict[str, Event] = {}

    def remember(self, events: Iterable[Event]) -> None:
        for event in events:
            self._events[str(event.id)] = event
        excess = len(self._events) - self._kept
        if excess > 0:
            for key in list(self._events)[:excess]:  # insertion order: the oldest first
                del self._events[key]

    def get(self, key: str | None) -> Event | None:
        return None if key is None else self._events.get(key)

    def clear(self) -> None:
        self._events.clear()


class EventDetailScreen(ModalScreen[None]):
    """Shows one event; esc, enter or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="event.close"),
    ]

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(id="event-dialog"):
            yield Static(f"Event {self.event.id}: {self.event.type}", id="event-title")
            with VerticalScroll():
                yield Static(event_json(self.event), id="event-json", markup=False)
            yield Static("esc closes", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
