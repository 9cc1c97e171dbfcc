"""What a Dask task is handed to run one attempt, and how the worker turns it back into a spec.

Everything that reaches a worker goes through `build_payload`, and everything a worker reads from
it through `open_payload`: the one place where the step's environment, secrets and masks leave the
engine (the scheduler keeps task arguments in its memory).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from engine.executors.base import LaunchSpec
from engine.executors.dask.sealing import SealedParts, seal, unseal

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

VERSION = 2  # bumped when the payload's shape changes; a worker refuses one it does not know


def build_payload(
    spec: LaunchSpec, key: str, topic: str, sealer: MultiFernet | None = None
) -> dict[str, Any]:
    """The task's only argument: plain data, so any worker with plan-engine can read it.

    Secret values, and every argv, env value or script holding one, travel only sealed
    (sealing.py); UserError if there are some and no `sealer`.
    """
    parts = seal(key, spec.argv, spec.env, spec.script, spec.mask_values, sealer)
    return {
        "version": VERSION,
        "key": key,
        "topic": topic,
        "run_id": spec.run_id,
        "step_id": spec.step_id,
        "attempt": spec.attempt,
        "argv": list(parts.argv),
        "cwd": spec.cwd,
        "env": parts.env,
        "timeout_sec": spec.timeout_sec,
        "kill_grace_sec": spec.kill_grace_sec,
        "script": list(parts.script) if parts.script is not None else None,
        "sealed": parts.token,
    }


def open_payload(payload: dict[str, Any], workdir: str) -> tuple[LaunchSpec, str]:
    """The attempt's spec on this worker, with its log, outputs and script in `workdir`; and the
    outputs file's path. ValueError for a payload of another version; SealingError when its
    sealed secrets cannot be opened here."""
    if payload.get("version") != VERSION:
        raise ValueError(
            f"this worker reads task payload version {VERSION}, not {payload.get('version')}: "
            "install the engine's plan-engine version on the workers"
        )
    key = payload["key"]
    base = os.path.join(workdir, key)
    outputs_path = f"{base}.out"
    given_script = payload["script"]
    sealed = SealedParts(
        argv=tuple(payload["argv"]),
        env=payload["env"],
        script=tuple(given_script) if given_script is not None else None,
        token=payload["sealed"],
    )
    opened = unseal(key, sealed)
    env = opened.env
    env["ENGINE_OUTPUT"] = outputs_path
    argv = opened.argv
    script = None
    if opened.script is not None:
        engine_path, text = opened.script
        # The interpreter's argv names the script by the engine's path: point it at ours.
        local_path = f"{base}{os.path.splitext(engine_path)[1]}"
        argv = tuple(local_path if arg == engine_path else arg for arg in argv)
        script = (local_path, text)
    spec = LaunchSpec(
        run_id=payload["run_id"],
        step_id=payload["step_id"],
        attempt=payload["attempt"],
        argv=argv,
        cwd=payload["cwd"],
        env=env,
        log_path=f"{base}.log",
        timeout_sec=payload["timeout_sec"],
        kill_grace_sec=payload["kill_grace_sec"],
        mask_values=opened.mask_values,
        script=script,
    )
    return spec, outputs_path
