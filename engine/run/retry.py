"""Whether a failed attempt is retried, and how long to wait first (docs/plans.md, "Retries")."""

from __future__ import annotations

import random

from engine.plan.spec import Retry
from engine.states import ErrorCode


def should_retry(
    policy: Retry | None, attempt: int, error: ErrorCode, exit_code: int | None
) -> bool:
    """True when attempt number `attempt` failed in a way the policy retries and attempts remain."""
    if policy is None or attempt >= policy.max_attempts:
        return False
    if error is ErrorCode.TIMEOUT:
        return policy.on_timeout
    if error is ErrorCode.WORKER_LOST:
        return policy.on_worker_lost
    # A missing worker resource will still be missing a retry delay later.
    if error in (
        ErrorCode.CANCELED,
        ErrorCode.ABANDONED,
        ErrorCode.CONDITION_ERROR,
        ErrorCode.NO_WORKER,
    ):
        return False
    if policy.on_exit_codes is not None:
        return error is ErrorCode.EXIT_NONZERO and exit_code in policy.on_exit_codes
    return True


def retry_delay(policy: Retry, next_attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt `next_attempt` (n ≥ 2): min(max, delay * backoff^(n-2)).

    With jitter, a uniform draw from [0, that] ("full jitter").
    """
    delay = policy.delay_sec * policy.backoff ** (next_attempt - 2)
    if policy.max_delay_sec is not None:
        delay = min(delay, policy.max_delay_sec)
    if policy.jitter:
        delay = (rng or random).uniform(0, delay)
    return delay


def retry_reason(error: ErrorCode, exit_code: int | None, signal: int | None) -> str:
    if error is ErrorCode.EXIT_NONZERO:
        return f"exit code {exit_code}"
    if error is ErrorCode.SIGNALED:
        return f"killed by signal {signal}"
    return error.value.replace("_", " ")
