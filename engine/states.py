"""Statuses, error codes, event types and exit codes: defined once, shared by all packages.

Each value is stored verbatim in the ledger, so renaming one is a schema change (docs/ledger.md).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELED = "canceled"
    CRASHED = "crashed"

    @property
    def is_final(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


class StepStatus(StrEnum):
    """The state of one step within one run (the `run_steps` table)."""

    PENDING = "pending"  # waiting for its dependencies
    READY = "ready"  # dependencies done, waiting for a concurrency slot
    RUNNING = "running"
    RETRYING = "retrying"  # between attempts, waiting out the backoff delay
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELED = "canceled"
    REUSED = "reused"  # taken from the run this one resumed
    ABANDONED = "abandoned"  # the engine died while it ran

    @property
    def is_final(self) -> bool:
        return self not in (
            StepStatus.PENDING,
            StepStatus.READY,
            StepStatus.RUNNING,
            StepStatus.RETRYING,
        )


class AttemptStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    ABANDONED = "abandoned"


class ErrorCode(StrEnum):
    """Why an attempt did not succeed; a query can group by it."""

    EXIT_NONZERO = "exit_nonzero"
    TIMEOUT = "timeout"
    SIGNALED = "signaled"
    SPAWN_FAILED = "spawn_failed"
    CANCELED = "canceled"
    OUTPUT_MISSING = "output_missing"
    OUTPUT_TOO_LARGE = "output_too_large"
    CONDITION_ERROR = "condition_error"
    CIRCUIT_OPEN = "circuit_open"  # its circuit breaker is open: failed fast, nothing started
    ABANDONED = "abandoned"
    LOG_WRITE_FAILED = "log_write_failed"  # its output could not all be written (a full disk)
    NO_WORKER = "no_worker"  # no worker of the cluster has the resources it asks for
    WORKER_LOST = "worker_lost"  # the Dask worker (or scheduler) running it was lost mid-way


class EventType(StrEnum):
    RUN_CREATED = "run_created"
    RUN_WAITING = "run_waiting"  # for its concurrency group; data.waits_for names the holders
    RUN_STARTED = "run_started"
    STEP_READY = "step_ready"
    STEP_WAITING = "step_waiting"  # for a slot of its pool; data.waits_for names the holders
    STEP_STARTED = "step_started"
    STEP_PLACED = "step_placed"  # a cluster worker started it (Dask): host, worker, pid
    STEP_LOG_TRUNCATED = "step_log_truncated"  # output lost: the log could not be written
    STEP_SUCCEEDED = "step_succeeded"
    STEP_FAILED = "step_failed"
    STEP_RETRY = "step_retry"
    STEP_TIMEOUT = "step_timeout"
    TIMEOUT_EXTENDED = (
        "timeout_extended"  # `engine extend` lengthened the run's or a step's timeout
    )
    STEP_SKIPPED = "step_skipped"
    STEP_CANCELED = "step_canceled"
    STEP_REUSED = "step_reused"
    STEP_RERUN = "step_rerun"  # a resumed run runs this step again; data.reason says why
    STEP_CACHE_MISS = "step_cache_miss"  # a cached step runs: data.reason says why no result fit
    STEP_FALLBACK = "step_fallback"
    CANCEL_REQUESTED = "cancel_requested"
    HOOKS_STARTED = "hooks_started"
    RUN_COMPLETED = "run_completed"
    RUN_CANCELED = "run_canceled"
    RUN_CRASHED = "run_crashed"


class ExitCode(IntEnum):
    """Exit codes of `engine` and `ledger-tui` (docs/plans.md, "Validation and exit codes")."""

    OK = 0
    FAILED = 1  # the run failed or was partial; or a request that cannot be honoured
    USAGE = 2  # invalid plan, bad arguments, unknown run
    LEDGER = 3  # the ledger cannot be used: corrupt, newer schema, disk full
    BUSY = 75  # --no-wait and the concurrency group is taken: try again later (EX_TEMPFAIL)
    SIGHUP = 129
    SIGINT = 130
    SIGTERM = 143
