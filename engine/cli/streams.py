"""A closed stdout or stderr (`engine run plan | head -1`, a terminal gone) never ends a run.

Python ignores SIGPIPE, so a write nobody can read raises: BrokenPipeError on a closed pipe, EIO on
a hung-up terminal. The first such error points the descriptor at /dev/null, as the Python docs
advise, so no later write, nor the flush at exit, fails again ("Exception ignored ...").
Then `engine run` carries on silently to the end of its run, while a command that only prints (a
`--follow` that would otherwise follow forever) stops with the original error.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any, NoReturn

import click

_keep_going = False  # set for the length of a run: losing the output must not end it


def keep_going() -> None:
    """From now on a lost stdout is not an error: the run goes on and prints nothing more."""
    global _keep_going
    _keep_going = True


class GuardedStream:
    """A text stream that survives its reader: after the first failed write, writes go nowhere."""

    def __init__(self, inner: IO[str], *, always_keep_going: bool) -> None:
        self._inner = inner
        self._always = always_keep_going
        self._gone = False
        # Raised again by every later write: a caller that swallowed it (click probes its
        # streams with empty writes) must not make the loss silent.
        self._error: Exception | None = None

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._inner.write(text)
            except (OSError, ValueError) as error:
                self._lost(error)
        self._raise_again()
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._inner.flush()
            except (OSError, ValueError) as error:
                self._lost(error)
        self._raise_again()

    def _raise_again(self) -> None:
        if self._error is not None and not (self._always or _keep_going):
            raise self._error

    def _lost(self, error: Exception) -> None:
        self._gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._inner.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError):
            pass  # no descriptor to repair (already closed): the stream object is skipped anyway
        if not (self._always or _keep_going):
            self._error = error
            if isinstance(error, OSError) and not isinstance(error, BrokenPipeError):
                self._error = OutputLost(error)  # a full disk, an I/O error: output is missing
            raise self._error from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _open_standard_descriptors() -> None:
    """Give a closed 0, 1 or 2 (`engine run plan >&-`) /dev/null, before a file takes its number."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one


def guard() -> None:
    """Wrap sys.stdout and sys.stderr; a lost stderr is never an error (a message lost, no more)."""
    _open_standard_descriptors()
    out = sys.stdout or open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    err = sys.stderr or open(os.devnull, "w")  # noqa: SIM115
    sys.stdout = GuardedStream(out, always_keep_going=False)
    sys.stderr = GuardedStream(err, always_keep_going=True)


class OutputLost(Exception):
    """stdout cannot be written (`engine runs > /dev/full`): the output is not all there."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.reason = error.strerror or str(error)


class ReaderGone(Exception):
    """A command's stdout was closed by its reader (`engine runs | head -1`)."""


class StopsWhenReaderGoes(click.Group):
    """A group whose commands stop when their reader goes; click itself would exit 1 on EPIPE."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise ReaderGone from None


def reader_gone() -> NoReturn:
    """End a command whose reader went away as `git log | head` ends: quietly, with status 0.

    stdout points at /dev/null first, so the flush at exit finds no closed pipe to complain about.
    """
    keep_going()  # nor a lost write raised again
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
        finally:
            os.close(devnull)
    except (OSError, ValueError):
        pass  # no descriptor left to repair
    sys.exit(0)
