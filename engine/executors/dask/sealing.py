"""Sealing a step's secrets for the trip through the Dask scheduler, and unsealing them on a worker.

Dask keeps every task's arguments, in clear, in the scheduler's memory for as long as the task
lives (and shows them to anyone with a client or the dashboard), so a secret value (and anything
carrying one: an env value, an argument) travels only inside a Fernet token made with a key the
engine and the workers share and the scheduler never sees. Fernet (the `cryptography` package's
authenticated recipe: AES-CBC + HMAC-SHA256) rather than hand-assembled AES: nothing to get wrong
with nonces, and `MultiFernet` gives key rotation for free.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.errors import UserError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

KEY_ENV = "ENGINE_DASK_KEY"
KEY_FILE_ENV = "ENGINE_DASK_KEY_FILE"
# Never shipped in a step's environment: the key would then sit in the scheduler in clear.
KEY_VARIABLES = (KEY_ENV, KEY_FILE_ENV)
GENERATE = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SealingError(Exception):
    """A worker cannot open a step's sealed secrets: no key, another key, or a damaged token."""


@dataclass(frozen=True)
class SealedParts:
    """What travels through the scheduler: the spec's clear parts and one token for the rest.

    `token` is None when the step carries no secret. The argv, env values and script text that
    hold a secret value are left out of the clear parts (`argv` empty, the env entry and `script`
    missing) and travel sealed; `unseal` puts them back.
    """

    argv: tuple[str, ...]
    env: dict[str, str]
    script: tuple[str, str] | None
    token: bytes | None = None


@dataclass(frozen=True)
class Unsealed:
    """A worker's view of a step: its whole argv, env and script, and the values to mask."""

    argv: tuple[str, ...]
    env: dict[str, str]
    script: tuple[str, str] | None
    mask_values: tuple[str, ...] = field(default=())


def load_key(environ: Mapping[str, str] = os.environ) -> MultiFernet | None:
    """The sealing key(s) from `ENGINE_DASK_KEY` or the file `ENGINE_DASK_KEY_FILE` names.

    Several comma- or line-separated keys are allowed for rotation: the first seals, any opens.
    None when neither variable is set; UserError (exit 2) when the key is unreadable or malformed.
    """
    text = environ.get(KEY_ENV, "")
    where = KEY_ENV
    path = environ.get(KEY_FILE_ENV, "")
    if not text and path:
        where = f"{KEY_FILE_ENV} ({path})"
        try:
            with open(path, encoding="ascii") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or "not a key file"
            raise UserError(f"cannot read {where}: {reason}") from None
    keys = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    if not keys:
        return None
    try:
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError as error:
        raise UserError(
            f"sealing secrets needs the cryptography package ({error}); "
            "install the extra: pip install 'plan-engine[dask]'"
        ) from None
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise UserError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); "
            f"make one with {GENERATE}"
        ) from None


def require_key(environ: Mapping[str, str] = os.environ) -> MultiFernet:
    """The sealing key, or the usage error that refuses a plan with secrets before its run."""
    key = load_key(environ)
    if key is None:
        raise UserError(
            f"this plan passes secrets to steps on the Dask executor, which must seal them: set "
            f"{KEY_ENV} (or {KEY_FILE_ENV}) to the workers' key, made with {GENERATE}"
        )
    return key


def _holds(text: str, secrets: tuple[str, ...]) -> bool:
    return any(secret in text for secret in secrets)


def seal(
    attempt_key: str,
    argv: tuple[str, ...],
    env: Mapping[str, str],
    script: tuple[str, str] | None,
    mask_values: tuple[str, ...],
    key: MultiFernet | None,
) -> SealedParts:
    """Splits a spec into clear parts and a token holding every value that carries a secret.

    `attempt_key` (the Dask task key) is sealed with them, so a token opens only for the attempt it
    was made for. The sealing key is never part of the environment sent. Without a key, a step
    that holds no secret goes without the values to mask (it has none to print); one that holds
    some raises UserError: the run checks `require_key` for such steps before it starts.
    """
    clear_env = {k: v for k, v in env.items() if k not in KEY_VARIABLES}
    secrets = tuple(v for v in mask_values if v)
    if not secrets:
        return SealedParts(argv=argv, env=clear_env, script=script)
    hidden_env = {k: v for k, v in clear_env.items() if _holds(v, secrets)}
    for name in hidden_env:
        del clear_env[name]
    hide_argv = any(_holds(arg, secrets) for arg in argv)
    hide_script = script is not None and _holds(script[1], secrets)
    if key is None and not (hidden_env or hide_argv or hide_script):
        return SealedParts(argv=argv, env=clear_env, script=script)
    body: dict[str, object] = {"for": attempt_key, "env": hidden_env, "mask": list(secrets)}
    if hide_argv:
        body["argv"] = list(argv)
    if hide_script:
        body["script"] = list(script) if script is not None else None
    token = (key or require_key({})).encrypt(json.dumps(body).encode("utf-8"))
    return SealedParts(
        argv=() if hide_argv else argv,
        env=clear_env,
        script=None if hide_script else script,
        token=token,
    )


def unseal(
    attempt_key: str, parts: SealedParts, environ: Mapping[str, str] = os.environ
) -> Unsealed:
    """The whole spec back, on a worker with the key; SealingError (one sentence) if it cannot."""
    if parts.token is None:
        return Unsealed(argv=parts.argv, env=dict(parts.env), script=parts.script)
    from cryptography.fernet import InvalidToken

    try:
        key = load_key(environ)
    except UserError as error:
        raise SealingError(error.message) from None
    if key is None:
        raise SealingError(f"{KEY_ENV} is not set on this worker")
    try:
        body = json.loads(key.decrypt(parts.token))
    except InvalidToken:
        raise SealingError(f"this worker's {KEY_ENV} is not the engine's") from None
    if body.get("for") != attempt_key:
        raise SealingError(f"the sealed secrets were made for {body.get('for')}, not this attempt")
    script = parts.script
    if "script" in body:
        path, text = body["script"]
        script = (path, text)
    return Unsealed(
        argv=tuple(body["argv"]) if "argv" in body else parts.argv,
        env={**parts.env, **body["env"]},
        script=script,
        mask_values=tuple(body["mask"]),
    )
