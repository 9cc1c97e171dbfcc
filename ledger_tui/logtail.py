"""Reading a step's log file incrementally, like `tail -f`, with bounded memory (no Textual)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.ledger.location import recorded_log_path

INITIAL_TAIL_BYTES = 256 * 1024  # on opening a log, show only its end
MAX_READ_BYTES = 1024 * 1024  # per poll, so a step printing gigabytes cannot stall the dashboard


@dataclass(frozen=True)
class LogChunk:
    """New complete lines of a log; `reset` means they replace what was shown."""

    path: str | None
    lines: tuple[str, ...]
    reset: bool
    skipped_bytes: int = 0
    missing: bool = False


class LogTail:
    """Follows one log file at a time; `read()` returns what was appended since the last call."""

    def __init__(self) -> None:
        self.path: str | None = None
        self._offset = 0
        self._partial = b""
        self._fresh = True  # the first read replaces what was shown, whatever its path

    def read(self, path: str | None) -> LogChunk:
        if path != self.path or self._fresh:
            self._fresh = False
            self.path, self._offset, self._partial = path, 0, b""
            return self._read(reset=True)
        return self._read(reset=False)

    def _read(self, *, reset: bool) -> LogChunk:
        if self.path is None:
            return LogChunk(None, (), reset)
        try:
            with open(self.path, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                skipped = 0
                if size < self._offset:  # truncated or replaced: start again
                    self._offset, self._partial, reset = 0, b"", True
                if reset and size > INITIAL_TAIL_BYTES:
                    skipped = size - INITIAL_TAIL_BYTES
                    self._offset = skipped
                if size == self._offset:
                    return LogChunk(self.path, (), reset, skipped)
                file.seek(self._offset)
                data = file.read(MAX_READ_BYTES)
        except FileNotFoundError:
            return LogChunk(self.path, (), reset, missing=True)
        self._offset += len(data)
        data = self._partial + data
        complete, _, self._partial = data.rpartition(b"\n")
        if skipped and reset:
            complete = complete.partition(b"\n")[2]  # drop the cut first line
        text = complete.decode("utf-8", errors="replace")
        lines = tuple(text.split("\n")) if complete else ()
        return LogChunk(self.path, lines, reset, skipped)

    def flush_partial(self) -> tuple[str, ...]:
        """Return a last line without newline (once the step finished, nothing more will come)."""
        if not self._partial:
            return ()
        line, self._partial = self._partial.decode("utf-8", errors="replace"), b""
        return (line,)


# The one resolver of a recorded log path (engine.ledger.location), shared with `engine logs`.
resolve_log_path = recorded_log_path
