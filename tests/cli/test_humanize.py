"""Counts in messages agree with their number: `1 step`, `2 steps`, `0 runs`."""

from __future__ import annotations

from engine.humanize import plural


def test_plural_agrees_with_the_count() -> None:
    assert [plural(n, "step") for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]
    assert plural(1, "log dir") == "1 log dir"
    assert plural(3, "process", "processes") == "3 processes"
