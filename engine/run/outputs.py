"""Read the outputs a step wrote to its `$ENGINE_OUTPUT` file (docs/plans.md, "Outputs").

The format is GitHub Actions' `$GITHUB_OUTPUT`: `NAME=value` lines, and `NAME<<DELIM` ... `DELIM`
for multi-line values.
"""

from __future__ import annotations

import contextlib
import os
import re

MAX_OUTPUT_BYTES = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class OutputError(Exception):
    """The output file breaks the format or the size cap; the message is one sentence."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def read_outputs(path: str) -> dict[str, str]:
    """The outputs in `path`, which is then deleted; an empty dict when the step wrote none.

    The file holds what the step wrote, secrets unmasked: only the masked values in the ledger stay.
    """
    # Most steps write no outputs and this runs for every attempt: os.access answers without the
    # cost of raising FileNotFoundError, and os.open avoids a buffered file object.
    if not os.access(path, os.F_OK):
        return {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_OUTPUT_BYTES + 1)
    discard_outputs(path)
    if len(data) > MAX_OUTPUT_BYTES:
        limit = f"{MAX_OUTPUT_BYTES // 1024} KB"
        raise OutputError(f"outputs exceed {limit} (the limit per step)", too_large=True)
    return parse_outputs(data.decode("utf-8", errors="replace"))


def discard_outputs(path: str) -> None:
    """Delete an output file that will not be read (a failed or canceled attempt's)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def parse_outputs(text: str) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        line = lines[index].removesuffix("\r")
        index += 1
        if not line.strip():
            continue
        if "=" in line and ("<<" not in line or line.index("=") < line.index("<<")):
            name, _, value = line.partition("=")
            _check_name(name, index)
            outputs[name] = value
            continue
        name, sep, delimiter = line.partition("<<")
        if not sep or not delimiter:
            raise OutputError(f"line {index}: expected NAME=value or NAME<<DELIMITER")
        _check_name(name, index)
        start = index
        body: list[str] = []
        while index < len(lines) and lines[index].removesuffix("\r") != delimiter:
            body.append(lines[index])
            index += 1
        if index >= len(lines):
            raise OutputError(f"line {start}: {name}<<{delimiter} is never closed by {delimiter}")
        index += 1
        outputs[name] = "\n".join(body)
    return outputs


def _check_name(name: str, line: int) -> None:
    if not _NAME.match(name):
        raise OutputError(f"line {line}: {name!r} is not an output name")
