"""Script steps (`run` + `shell`): which interpreter runs the script file, and how it is named.

The names and their command lines are GitHub Actions' (`bash` gets `-eo pipefail`, so a failing
command in a pipeline fails the step), except that `python` is `python3`, the name every Linux
distribution installs. Any other `shell` is a template whose `{0}` is the script file's path.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

PLACEHOLDER = "{0}"


@dataclass(frozen=True, slots=True)
class Interpreter:
    argv: tuple[str, ...]  # `{0}` stands for the script file
    suffix: str  # the script file's extension: pwsh -File needs .ps1
    prologue: str = ""  # written before the script


BUILTIN: dict[str, Interpreter] = {
    "sh": Interpreter(("sh", "-e", PLACEHOLDER), ".sh"),
    "bash": Interpreter(("bash", "--noprofile", "--norc", "-eo", "pipefail", PLACEHOLDER), ".sh"),
    "python": Interpreter(("python3", PLACEHOLDER), ".py"),
    # A cmdlet's error stops the script, as `-e` does in sh.
    "pwsh": Interpreter(
        ("pwsh", "-NoLogo", "-NoProfile", "-NonInteractive", "-File", PLACEHOLDER),
        ".ps1",
        "$ErrorActionPreference = 'Stop'\n",
    ),
}
DEFAULT_SHELL = "sh"


def interpreter(shell: bool | str) -> Interpreter:
    """The interpreter a `run` step's `shell` names; ValueError with the reason for a bad one.

    `true` and `false` (meaningful with `command`) leave the default, sh.
    """
    if isinstance(shell, bool):
        return BUILTIN[DEFAULT_SHELL]
    known = BUILTIN.get(shell)
    if known is not None:
        return known
    try:
        words = tuple(shlex.split(shell))
    except ValueError as error:
        raise ValueError(f'shell "{shell}" is not a command line: {error}') from None
    if not words or not any(PLACEHOLDER in word for word in words):
        names = ", ".join(BUILTIN)
        raise ValueError(
            f'shell "{shell}" is none of {names}, nor a template with {{0}} for the script '
            'file, such as "perl {0}"'
        )
    return Interpreter(words, ".script")


def script_argv(
    interp: Interpreter, script_path: str, args: tuple[str, ...] | list[str]
) -> tuple[str, ...]:
    """The interpreter's command line for the script at `script_path`, then the step's args."""
    return (*(word.replace(PLACEHOLDER, script_path) for word in interp.argv), *args)
