"""The environment a step's process sees: an allow-list of the caller's, then plan, file and step.

Inheriting everything by default would hand every step whatever the caller happened to export
(tokens included); GitHub Actions and Dagu start from a small known set too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from engine.errors import UserError
from engine.plan.spec import Plan, SecretSpec, Step
from engine.plan.variables import substitute_outputs

INHERITED = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ", "TERM", "TMPDIR")


def base_environment(caller: Mapping[str, str], inherit_all: bool) -> dict[str, str]:
    if inherit_all:
        return dict(caller)
    env = {name: caller[name] for name in INHERITED if name in caller}
    env.update({k: v for k, v in caller.items() if k.startswith("LC_")})
    env.setdefault("PATH", os.defpath)
    return env


def read_env_file(path: Path, option: str = "--env-file") -> dict[str, str]:
    """`NAME=value` lines; blank lines and `#` comments skipped; values may be quoted."""
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise UserError(f"{option} {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UserError(f"{option} {path}: not UTF-8 text") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UserError(f"{option} {path}:{number}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


class EnvironmentBuilder:
    """Computes each step's environment; the parts shared by every step are computed once."""

    def __init__(
        self,
        plan: Plan,
        caller: Mapping[str, str],
        env_file: Mapping[str, str],
        secrets: Mapping[str, str],
    ) -> None:
        self._plan = plan
        self._caller = caller
        self._secrets = secrets
        self._shared: dict[bool, dict[str, str]] = {}
        # globals.env may hold `$${` escapes; it cannot reference outputs (validation checks).
        plan_env = {k: substitute_outputs(v, {}) for k, v in plan.globals.env.items()}
        self._overlay = {**plan_env, **env_file}

    def for_step(
        self, step: Step, step_env: Mapping[str, str], extra: Mapping[str, str]
    ) -> dict[str, str]:
        """The child's whole environment; `step_env` is the step's `env`, references resolved."""
        inherit = (
            step.inherit_env if step.inherit_env is not None else self._plan.globals.inherit_env
        )
        shared = self._shared.get(inherit)
        if shared is None:
            shared = base_environment(self._caller, inherit)
            if inherit:
                # inherit_env means the caller's environment, not its secrets: a step sees only
                # the secrets it lists, added below.
                for spec in self._plan.secret_specs:
                    shared.pop(spec.source, None)
                    shared.pop(spec.name, None)
            shared.update(self._overlay)
            self._shared[inherit] = shared
        env = {**shared, **step_env, **extra}
        for name in step.secrets:
            if name in self._secrets:
                env[name] = self._secrets[name]
        return env


def secret_value(
    spec: SecretSpec, caller: Mapping[str, str], secrets_file: Mapping[str, str]
) -> str | None:
    """The secret's value, from --secrets-file first, then the caller's environment; None (or
    empty: not set) when neither has it."""
    return secrets_file.get(spec.name, caller.get(spec.source))


def resolve_secrets(
    plan: Plan, caller: Mapping[str, str], secrets_file: Mapping[str, str]
) -> dict[str, str]:
    """Each declared secret's value, from --secrets-file first, then the caller's environment.

    An empty value counts as not set, as in `requires_env`: CI systems pass an undefined secret
    as an empty variable.
    """
    values: dict[str, str] = {}
    missing: list[str] = []
    for spec in plan.secret_specs:
        value = secret_value(spec, caller, secrets_file)
        if not value:
            if not spec.optional:
                missing.append(spec.source)
        else:
            values[spec.name] = value
    if missing:
        names = ", ".join(missing)
        raise UserError(
            f"secrets not set in the environment or --secrets-file: {names}", code="context_missing"
        )
    return values


def check_required_env(plan: Plan, caller: Mapping[str, str]) -> None:
    missing = [name for name in plan.requires_env if not caller.get(name)]
    if missing:
        raise UserError(
            f"required environment variables are not set: {', '.join(missing)}",
            code="context_missing",
        )
