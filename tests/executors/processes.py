"""Helpers for the executor tests: find this test's processes, poll for a condition."""

from __future__ import annotations

from collections.abc import Callable

from engine.executors.base import LaunchSpec

SpecFactory = Callable[..., LaunchSpec]
