"""Retry decisions and delays (docs/plans.md, "Retries"): which failures are retried, and how long
to wait."""

from __future__ import annotations

import random

import pytest

from engine.plan.model import Retry
from engine.run.retry import retry_delay, retry_reason, should_retry
from engine.states import ErrorCode


def policy(**fields: object) -> Retry:
    return Retry.model_validate({"max_attempts": 5, **fields})


def test_no_policy_or_no_attempts_left_means_no_retry() -> None:
    assert not should_retry(None, 1, ErrorCode.EXIT_NONZERO, 1)
    assert should_retry(policy(), 4, ErrorCode.EXIT_NONZERO, 1)
    assert not should_retry(policy(), 5, ErrorCode.EXIT_NONZERO, 1)


def test_on_exit_codes_retries_only_those_exit_codes() -> None:
    listed = policy(on_exit_codes=[3, 75])
    assert should_retry(listed, 1, ErrorCode.EXIT_NONZERO, 75)
    assert not should_retry(listed, 1, ErrorCode.EXIT_NONZERO, 1)
    assert not should_retry(listed, 1, ErrorCode.SIGNALED, None)
    assert not should_retry(listed, 1, ErrorCode.SPAWN_FAILED, None)


def test_timeouts_are_retried_only_with_on_timeout() -> None:
    assert not should_retry(policy(), 1, ErrorCode.TIMEOUT, None)
    assert should_retry(policy(on_timeout=True), 1, ErrorCode.TIMEOUT, None)


@pytest.mark.parametrize(
    "error", [ErrorCode.CANCELED, ErrorCode.CONDITION_ERROR, ErrorCode.NO_WORKER]
)
def test_a_cancel_is_never_retried(error: ErrorCode) -> None:
    assert not should_retry(policy(), 1, error, None)


def test_attempt_n_waits_delay_times_backoff_to_the_n_minus_2_capped() -> None:
    backoff = policy(delay_sec=0.5, backoff=3, max_delay_sec=10)
    assert [retry_delay(backoff, n) for n in (2, 3, 4, 5)] == [0.5, 1.5, 4.5, 10]
    assert retry_delay(policy(delay_sec=2), 4) == 2  # backoff 1: a constant delay


def test_full_jitter_stays_within_zero_and_the_delay() -> None:
    jittered = policy(delay_sec=1, backoff=2, max_delay_sec=5, jitter=True)
    rng = random.Random(7)
    for n in range(2, 8):
        bound = min(5, 2 ** (n - 2))
        draws = [retry_delay(jittered, n, rng) for _ in range(200)]
        assert all(0 <= d <= bound for d in draws)
        assert max(draws) > bound * 0.8 and min(draws) < bound * 0.2  # spread, not a constant


def test_retry_reasons_are_short_sentences() -> None:
    assert retry_reason(ErrorCode.EXIT_NONZERO, 3, None) == "exit code 3"
    assert retry_reason(ErrorCode.SIGNALED, None, 9) == "killed by signal 9"
    assert retry_reason(ErrorCode.TIMEOUT, None, None) == "timeout"


def test_a_lost_worker_is_retried_unless_on_worker_lost_is_false() -> None:
    assert should_retry(policy(), 1, ErrorCode.WORKER_LOST, None)
    assert should_retry(policy(on_exit_codes=[3]), 1, ErrorCode.WORKER_LOST, None)
    assert not should_retry(policy(on_worker_lost=False), 1, ErrorCode.WORKER_LOST, None)
    assert not should_retry(None, 1, ErrorCode.WORKER_LOST, None)
    assert retry_reason(ErrorCode.WORKER_LOST, None, None) == "worker lost"
