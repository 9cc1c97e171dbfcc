"""A local-first plan engine: JSON plans of subprocess steps, recorded in a SQLite ledger.

The public Python API (docs/python.md) is importable from here. Each name is imported on first
use, so `import engine` (and `engine run`'s start-up) pays for none of it.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing costs ~10 ms, before `engine`'s signal handlers are in

if TYPE_CHECKING:
    from typing import Any

    from engine.api.deadline import DeadlineWarning
    from engine.api.handle import RunHandle, start_plan
    from engine.api.ledger import Ledger
    from engine.api.result import ExecutionError, RunResult, StepResult
    from engine.api.runner import arun_plan, run_plan
    from engine.errors import LedgerError, PlanError, UnknownRun
    from engine.errors import UserError as EngineError
    from engine.plan.model import Plan, Step
    from engine.run.recorder import RecordedEvent as RunEvent
    from engine.states import RunStatus, StepStatus

# public name -> (module, name there)
_EXPORTS = {
    "run_plan": ("engine.api.runner", "run_plan"),
    "arun_plan": ("engine.api.runner", "arun_plan"),
    "start_plan": ("engine.api.handle", "start_plan"),
    "RunHandle": ("engine.api.handle", "RunHandle"),
    "RunResult": ("engine.api.result", "RunResult"),
    "StepResult": ("engine.api.result", "StepResult"),
    "ExecutionError": ("engine.api.result", "ExecutionError"),
    "Ledger": ("engine.api.ledger", "Ledger"),
    "DeadlineWarning": ("engine.api.deadline", "DeadlineWarning"),
    "EngineError": ("engine.errors", "UserError"),
    "PlanError": ("engine.errors", "PlanError"),
    "LedgerError": ("engine.errors", "LedgerError"),
    "UnknownRun": ("engine.errors", "UnknownRun"),
    "Plan": ("engine.plan.model", "Plan"),
    "Step": ("engine.plan.model", "Step"),
    "RunEvent": ("engine.run.recorder", "RecordedEvent"),
    "RunStatus": ("engine.states", "RunStatus"),
    "StepStatus": ("engine.states", "StepStatus"),
}

__all__ = [
    "DeadlineWarning",
    "EngineError",
    "ExecutionError",
    "Ledger",
    "LedgerError",
    "Plan",
    "PlanError",
    "RunEvent",
    "RunHandle",
    "RunResult",
    "RunStatus",
    "Step",
    "StepResult",
    "StepStatus",
    "UnknownRun",
    "__version__",
    "arun_plan",
    "run_plan",
    "start_plan",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'engine' has no attribute {name!r}") from None
    # __import__, not importlib: importlib is one module more to load before the signal handlers
    value = getattr(__import__(module, fromlist=[attribute]), attribute)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
