"""SIGINT, SIGTERM and SIGHUP, from the engine's first line to its last: never a traceback.

One Python-level handler is installed before anything heavy is imported (so this module imports
only `_signal`, the C module) and stays. What a signal does depends on where the process is:
before a run exists it ends the process quietly with 128 + its number; while a run is set up it
is only recorded (the run is then not created); while the run goes it is handed to the run
(cancel, then kill); after that it is ignored, so shutdown (the last ledger commit, the threads'
join) always completes. The installed `engine` script (scripts/engine) catches the same signals
on its first lines, the same way, until this module takes over.
asyncio's `add_signal_handler` is not used: removing it puts Python's raising default back, and a
signal in that gap was a traceback at exit.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs ~10 ms to import, before the handler is in

if TYPE_CHECKING:
    import signal
    from collections.abc import Callable
    from types import FrameType
else:  # the C module: `signal` imports enum, ~7 ms (far more on a busy machine) without a handler
    import _signal as signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# Every stop signal this process received, in order.
received: list[int] = []

_installed = False
_held_from: int | None = None  # index in `received` where the current run's signals begin
# The exit a signal asked for before any run, once raised: Python swallows a SystemExit raised
# where it ignores exceptions (a weakref callback, a __del__), and the signals are ignored by then.
_exit_asked: int | None = None
_targets: list[Callable[[], None]] = []  # tell each running run that `received` grew
# The handlers a library's runs displaced, and how many runs hold them: the last puts them back.
_previous: dict[signal.Signals, object] = {}
_borrowers = 0


class Interrupted(Exception):
    """A stop signal arrived before the run was created: nothing ran, exit 128 + its number."""

    def __init__(self, signum: int) -> None:
        from signal import Signals  # the process is about to exit: the enum costs nothing now

        super().__init__(f"interrupted by {Signals(signum).name} before the run started")
        self.exit_code = exit_code(signum)


def exit_code(signum: int) -> int:
    """The shell convention: 128 + the signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + signum


def _handle(signum: int, frame: FrameType | None) -> None:
    # Runs between two bytecodes of the main thread, even inside another call of itself: it only
    # appends and schedules; the run reads `received` in order, on the event loop.
    global _exit_asked
    received.append(signum)
    if _targets:
        for target in tuple(_targets):
            target()
    elif _held_from is None:
        # Exiting from anywhere, even outside main()'s cleanup: the rest of a storm must not find
        # the default handlers Python puts back while it finalizes.
        _exit_asked = exit_code(received[0])
        ignore()
        sys.unraisablehook = _unraisable
        raise SystemExit(_exit_asked)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    # Where Python ignores exceptions (one of importlib's weakref callbacks) it would print the
    # exit as "Exception ignored ... SystemExit": it is remembered instead, and taken after.
    if unraisable.exc_type is not SystemExit:
        sys.__unraisablehook__(unraisable)


def install() -> bool:
    """Handle the stop signals from now on; one ignored at start (`nohup`) stays ignored.

    False where Python allows no handler (a thread other than the main one).
    """
    global _installed
    if not _installed:
        try:
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) != signal.SIG_IGN:
                    signal.signal(signum, _handle)
        except ValueError:
            return False
        _installed = True
    return True


def ignore() -> None:
    """The process is exiting: from now on a signal changes nothing.

    Python puts the default handlers back while it finalizes, and a signal then would kill the
    process halfway through its exit.
    """
    if _installed:
        # Blocked first, so that no handler runs between two of these calls.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is _handle:
                signal.signal(signum, signal.SIG_IGN)


def borrow() -> bool:
    """A library's run on the main thread takes the stop signals until `give_back()`.

    The caller's handlers (Python's KeyboardInterrupt) come back when the last run gives them
    back. False, changing nothing, off the main thread or where `engine` installed them itself.
    """
    global _borrowers
    if _borrowers == 0:
        if _installed:
            return False
        previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        if not install():
            return False
        _previous.update(previous)
    _borrowers += 1
    return True


def give_back() -> None:
    """One run that borrowed the signals is over."""
    global _borrowers, _installed
    _borrowers -= 1
    if _borrowers == 0:
        for signum, before in _previous.items():
            if before is not None:
                signal.signal(signum, before)  # type: ignore[arg-type]
        _previous.clear()
        _installed = False


def hold() -> None:
    """A run is being set up: from now on signals are recorded for it, never turned into an exit.

    Raises Interrupted if a signal asked for the exit before, and Python swallowed it.
    """
    global _held_from
    if _exit_asked is not None:
        raise Interrupted(received[0])
    _held_from = len(received)


def exit_asked() -> int | None:
    """The exit code a stop signal asked for before any run, if Python swallowed its SystemExit."""
    return _exit_asked


def arrived() -> list[int]:
    """The stop signals received since `hold()`, in order."""
    return [] if _held_from is None else received[_held_from:]


class routed_to:
    """Hands each stop signal since `hold()` to `handler`, once, in order, those already in first.

    `call` schedules the delivery where the handler may run (the event loop's
    `call_soon_threadsafe`). On leaving, signals are ignored again: the run is over. Several runs
    in one process (the Python API) each get every signal.
    """

    def __init__(
        self, handler: Callable[[int], None], call: Callable[[Callable[[], None]], object]
    ) -> None:
        self._handler = handler
        self._call = call
        self._delivered = 0
        self._borrowed = False

    def _deliver(self) -> None:
        while self._delivered < len(received):
            signum = received[self._delivered]
            self._delivered += 1
            self._handler(signum)

    def _forward(self) -> None:
        try:  # noqa: SIM105 - contextlib is one import more before the handler is in
            self._call(self._deliver)
        except RuntimeError:
            pass  # the loop is closing: the run is over, there is nothing left to stop

    def __enter__(self) -> None:
        self._borrowed = False
        if not _installed:  # in a test: put the previous handlers back after
            self._borrowed = borrow()
            if not self._borrowed:
                return
        if _held_from is None:
            hold()
        self._delivered = _held_from or 0
        _targets.append(self._forward)
        self._forward()  # those that arrived while the run was set up

    def __exit__(self, *_: object) -> None:
        if self._forward in _targets:
            _targets.remove(self._forward)
        if self._borrowed:
            give_back()
