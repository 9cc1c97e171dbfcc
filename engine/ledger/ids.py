"""Run ids: short, sortable by creation time, easy to copy."""

from __future__ import annotations

import secrets
import threading
import time

# Crockford base32 without i, l, o, u: unambiguous when read aloud or copied by hand.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_TIME_CHARS = 9  # 45 bits of milliseconds: until the year 3084
_RANDOM_CHARS = 4  # 20 bits: a million ids per millisecond before a collision is likely
RUN_ID_LENGTH = _TIME_CHARS + _RANDOM_CHARS

_lock = threading.Lock()
_last = (0, 0)


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def new_run_id(now: float | None = None) -> str:
    """Return a 13-character id: milliseconds since the epoch, then randomness.

    Ids made from the clock by one process are strictly increasing, even within one millisecond,
    so a newest-first listing by id matches creation order. An explicit `now` is used as is.
    """
    global _last
    if now is not None:
        return _encode(int(now * 1000), _TIME_CHARS) + _encode(
            secrets.randbits(5 * _RANDOM_CHARS), _RANDOM_CHARS
        )
    millis = int(time.time() * 1000)
    with _lock:
        last_millis, last_random = _last
        if millis <= last_millis:
            millis, random_part = last_millis, last_random + 1
            if random_part >= 32**_RANDOM_CHARS:
                millis, random_part = millis + 1, secrets.randbits(5 * _RANDOM_CHARS - 1)
        else:
            # One bit of headroom so increments within a millisecond rarely carry over.
            random_part = secrets.randbits(5 * _RANDOM_CHARS - 1)
        _last = (millis, random_part)
    return _encode(millis, _TIME_CHARS) + _encode(random_part, _RANDOM_CHARS)


def normalize_run_id(text: str) -> str:
    """Return `text` lowercased with Crockford's look-alikes mapped (i, l -> 1; o -> 0)."""
    return text.strip().lower().translate(str.maketrans("ilo", "110"))
