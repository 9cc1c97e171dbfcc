"""Starting a step's process: the fork/exec primitive under `subprocess.Popen`, without Popen.

Popen spends ~50 µs of Python per spawn (argument checks, descriptor juggling, its own object and
locks) around the ~30 µs the fork/exec itself costs, and the engine uses none of what that buys: it
keeps no Popen, reaps through its exit watcher and has its descriptors ready. On 1,000 one-shot
steps that is about 6% of the engine's time (docs/architecture.md). So `spawn` calls
`_posixsubprocess.fork_exec`, the function Popen calls, on the CPython versions whose argument list
it was written and tested against (3.11 to 3.13: 23 positional arguments), and Popen itself on any
other. Either way the child is set up as `Popen(start_new_session=True, close_fds=True)` sets it
up: vfork where safe, signal dispositions restored, a new session, every descriptor but 0-2
closed, a bare command looked up in the child's own PATH.
"""

from __future__ import annotations

import _posixsubprocess
import builtins
import fcntl
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

# typeshed types cwd and preexec_fn as never None; CPython takes None for both, as Popen passes.
_fork_exec: Callable[..., int] = _posixsubprocess.fork_exec
# The CPython versions fork_exec's argument list is written for, and the ones .ci/run tests the
# whole suite on (tests/executors/test_versions.py holds the two, and pyproject.toml, together).
TESTED_VERSIONS = ((3, 11), (3, 12), (3, 13))
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()
# The child reports a failed exec as "ExceptionName:hex errno:message" on a CLOEXEC pipe.
_REPORT_MAX = 50_000


def calls_fork_exec(version: tuple[int, int]) -> bool:
    """Whether `spawn` calls fork_exec directly on this CPython version (else Popen)."""
    return version in TESTED_VERSIONS


# Whether fork_exec is called directly here; tests switch it off to cover the Popen path.
DIRECT = calls_fork_exec((sys.version_info.major, sys.version_info.minor))


def spawn(
    argv: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    stdin: int,
    stdout: int,
    stderr: int,
) -> int:
    """Starts `argv` in a new session with these descriptors as 0, 1 and 2; returns its pid.

    Raises OSError as Popen does (its filename is the cwd when changing into it failed, else the
    command) and ValueError for an argument or environment Popen would refuse.
    """
    if not DIRECT:
        proc = subprocess.Popen(
            argv, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
        proc.returncode = 0  # the caller reaps it; Popen must not warn that it still runs
        return proc.pid
    sys.audit("subprocess.Popen", argv[0], argv, cwd, env)
    env_list = []
    for name, value in env.items():
        if "=" in name:
            raise ValueError("illegal environment variable name")
        env_list.append(f"{name}={value}".encode(_FS_ENCODING, _FS_ERRORS))  # os.fsencode, inlined
    command = os.fsencode(argv[0])
    if b"/" in command:
        executables: tuple[bytes, ...] = (command,)
    else:
        executables = tuple(
            os.path.join(os.fsencode(directory), command) for directory in os.get_exec_path(env)
        )
    report_read, report_write = os.pipe()  # close-on-exec, as every descriptor Python creates
    try:
        if report_write < 3:  # started with 0-2 closed: the child's dup2 calls would clobber it
            low, report_write = report_write, fcntl.fcntl(report_write, fcntl.F_DUPFD_CLOEXEC, 3)
            os.close(low)
        try:
            pid = _fork_exec(
                argv, executables, True, (report_write,), cwd, env_list,
                stdin, -1, -1, stdout, -1, stderr, report_read, report_write,
                True, True, -1, None, None, None, -1, None,
                getattr(subprocess, "_USE_VFORK", True),
            )  # fmt: skip
        finally:
            os.close(report_write)
        report = b""
        while len(report) <= _REPORT_MAX:
            part = os.read(report_read, _REPORT_MAX)
            if not part:
                break
            report += part
    finally:
        os.close(report_read)
    if report:
        os.waitpid(pid, 0)  # the child exited without exec: reap it
        raise _reported_error(report, argv[0], cwd)
    return pid


def _reported_error(report: bytes, command: str, cwd: str | None) -> OSError:
    """The OSError the child reported before it could exec, built as Popen builds it."""
    name, _, rest = report.partition(b":")
    hex_errno, _, message = rest.partition(b":")
    kind = getattr(builtins, name.decode("ascii", "replace"), None)
    try:
        number = int(hex_errno, 16)
    except ValueError:
        number = 0
    if not (isinstance(kind, type) and issubclass(kind, OSError)) or not number:
        # Only a preexec_fn (never passed here) makes the child report anything but an OSError.
        text = message.decode(errors="replace") or "no details"
        return OSError(f"the child failed before exec: {text}")
    if message == b"noexec:chdir" or (message == b"noexec" and sys.version_info < (3, 13)):
        filename: str | None = cwd  # changing into cwd failed ("noexec" up to 3.12)
    elif message == b"noexec":
        filename = None  # 3.13: failed before exec, elsewhere than in chdir
    else:
        filename = command
    error: OSError = kind(number, os.strerror(number), filename)
    return error
