"""Which secret values can be masked: too short ones are refused, common words draw a warning.

Masking replaces every occurrence of a value in what steps print; a one-letter value would turn
most of a log into `***`, and a common word would hide ordinary text while protecting nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.errors import UserError

MIN_SECRET_CHARS = 4
# Values a real secret is unlikely to be, or that occur in ordinary output (case-insensitive).
COMMON_WORDS = frozenset(
    {
        "true", "false", "null", "none", "nil", "undefined", "empty",
        "admin", "administrator", "root", "user", "guest", "demo", "test", "testing", "example",
        "password", "passwd", "secret", "token", "changeme", "default", "letmein", "qwerty",
    }
)  # fmt: skip


def check_secret_values(values: Mapping[str, str]) -> list[str]:
    """Warnings about values that are common words; UserError (exit 2) for one too short."""
    # Surrounding whitespace does not count: a value of four spaces would mask every indent.
    short = sorted(name for name, v in values.items() if len(v.strip()) < MIN_SECRET_CHARS)
    if short:
        names = ", ".join(short)
        noun = "secret" if len(short) == 1 else "secrets"
        raise UserError(
            f"{noun} {names}: a secret value must be at least {MIN_SECRET_CHARS} characters long"
            " (surrounding spaces not counted), since masking a shorter one would hide ordinary"
            " text in every log"
        )
    return [
        f"secret {name} looks like a common word or a number; every occurrence of it in what"
        " steps print will be masked as ***"
        for name, value in values.items()
        if value.strip().lower() in COMMON_WORDS or value.strip().isdigit()
    ]
