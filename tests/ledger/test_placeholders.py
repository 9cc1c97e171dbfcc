"""SQL binds plain `?` placeholders from sequences: numbered ones (`?1`) warn on Python 3.12.

sqlite3 deprecates binding a named or numbered placeholder from a sequence (a DeprecationWarning
on 3.12, an error to come); pyproject turns that warning into an error for the whole suite, and
this test finds such a placeholder in the source whatever Python runs it.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBERED = re.compile(r"\?\d")


def numbered_placeholders() -> list[str]:
    found = []
    for package in ("engine", "ledger_tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type == tokenize.STRING and NUMBERED.search(token.string):
                    found.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    return found


def test_no_sql_string_uses_a_numbered_placeholder() -> None:
    assert numbered_placeholders() == []


def test_the_suite_turns_sqlite_binding_warnings_into_errors() -> None:
    import warnings

    message = (
        "Binding 1 ('?1') is a named parameter, but you supplied a sequence which requires"
        " nameless (qmark) placeholders."
    )
    with warnings.catch_warnings():
        # The filters pytest installed from pyproject, as a 3.12 sqlite3 would meet them.
        try:
            warnings.warn(message, DeprecationWarning, stacklevel=1)
        except DeprecationWarning:
            return
    raise AssertionError("a sqlite3 binding DeprecationWarning did not fail the test")
