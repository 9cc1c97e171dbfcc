"""What an attempt is given and what it leaves behind: its launch spec, and the outputs it wrote."""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.executors.base import LaunchSpec
from engine.ledger.location import attempt_log_name
from engine.masking import StreamMasker
from engine.plan.spec import LoadedPlan, Step
from engine.plan.variables import substitute_outputs
from engine.run.environment import EnvironmentBuilder
from engine.run.outputs import OutputError, discard_outputs, read_outputs
from engine.run.state import RunSettings
from engine.states import ErrorCode


@dataclass(frozen=True)
class Collected:
    """The outputs an attempt wrote (masked), or why they make it fail."""

    outputs: dict[str, str]
    error: ErrorCode | None = None
    message: str | None = None


class AttemptIO:
    """Builds each attempt's LaunchSpec and reads back its `$ENGINE_OUTPUT` file.

    It holds every output recorded so far in the run, since `${steps.ID.outputs.NAME}` in a step's
    args, env and cwd is resolved when the step launches.
    """

    def __init__(
        self, loaded: LoadedPlan, settings: RunSettings, environment: EnvironmentBuilder
    ) -> None:
        self.outputs: dict[tuple[str, str], str] = {}
        self._plan = loaded.plan
        self._settings = settings
        self._environment = environment
        # Paths are built as strings: pathlib costs ~25 us a step on the hot path.
        self._base_dir = str(loaded.base_dir)
        self._logs_prefix = f"{settings.logs_dir}{os.sep}"
        self._outputs_prefix = f"{settings.outputs_dir}{os.sep}"
        self._masker = StreamMasker(settings.mask_values)

    def add_outputs(self, step_id: str, outputs: dict[str, str]) -> None:
        self.outputs.update({(step_id, name): value for name, value in outputs.items()})

    def output_file(self, step_id: str, attempt: int) -> str:
        return f"{self._outputs_prefix}{step_id}.{attempt}"

    def launch_spec(self, step: Step, attempt: int) -> LaunchSpec:
        """The resolved spec; KeyError((step, name)) when a referenced output does not exist."""
        outputs = self.outputs
        extra = {
            "ENGINE_RUN_ID": self._settings.run_id,
            "ENGINE_STEP_ID": step.id,
            "ENGINE_ATTEMPT": str(attempt),
            "ENGINE_OUTPUT": self.output_file(step.id, attempt),
        }
        step_env = {k: substitute_outputs(v, outputs) for k, v in step.env.items()}
        args = [substitute_outputs(arg, outputs) for arg in step.args]
        script: tuple[str, str] | None = None
        if step.run is not None:
            argv, script = self._script(step, attempt, args)
        elif step.plan is not None:
            argv = self._child_argv(step)
        elif step.shell:
            argv = ("/bin/sh", "-c", substitute_outputs(step.command, outputs), step.id, *args)
        else:
            argv = (substitute_outputs(step.command, outputs), *args)
        cwd = self._base_dir
        if step.cwd:
            cwd = os.path.join(cwd, substitute_outputs(step.cwd, outputs))
        timeout = step.timeout_sec or self._plan.globals.default_timeout_sec
        cap = self._plan.globals.max_step_duration_sec
        if cap is not None:
            timeout = min(timeout, cap) if timeout else cap
        return LaunchSpec(
            run_id=self._settings.run_id,
            step_id=step.id,
            attempt=attempt,
            argv=argv,
            cwd=cwd,
            env=self._environment.for_step(step, step_env, extra),
            log_path=self._logs_prefix + attempt_log_name(step.id, attempt),
            timeout_sec=timeout,
            kill_grace_sec=self._plan.globals.kill_grace_sec,
            mask_values=self._settings.mask_values,
            script=script,
        )

    def _script(
        self, step: Step, attempt: int, args: list[str]
    ) -> tuple[tuple[str, ...], tuple[str, str]]:
        """A script step's command line, and its script file (path, text) in the run's scratch."""
        from engine.plan.scripts import interpreter, script_argv

        assert step.run is not None
        interp = interpreter(step.shell)
        path = f"{self._outputs_prefix}{step.id}.{attempt}{interp.suffix}"
        text = interp.prologue + substitute_outputs(step.run, self.outputs)
        return script_argv(interp, path, args), (path, text)

    def _child_argv(self, step: Step) -> tuple[str, ...]:
        from engine.run.child_runs import child_argv

        ledger = self._settings.ledger_path
        assert ledger is not None, "a run with plan steps is given its ledger's path"
        return child_argv(step, self.outputs, self._base_dir, str(ledger), self._settings.run_id)

    def collect(self, step: Step, attempt: int) -> Collected:
        """The succeeded attempt's outputs, masked; a missing promised one fails the attempt."""
        try:
            written = read_outputs(self.output_file(step.id, attempt))
        except OutputError as error:
            code = ErrorCode.OUTPUT_TOO_LARGE if error.too_large else ErrorCode.OUTPUT_MISSING
            # The message may quote what the step wrote (a refused name or delimiter).
            return Collected({}, code, f"$ENGINE_OUTPUT: {self._mask(str(error))}")
        if self._masker.active:
            written = {k: self._mask(v) for k, v in written.items()}
        missing = [name for name in step.provides if name not in written]
        if missing:
            message = f"did not write promised outputs: {', '.join(missing)}"
            return Collected(written, ErrorCode.OUTPUT_MISSING, message)
        self.add_outputs(step.id, written)
        return Collected(written)

    def _mask(self, text: str) -> str:
        if not self._masker.active:
            return text
        return self._masker.mask_all(text.encode()).decode(errors="replace")

    def discard(self, step_id: str, attempt: int) -> None:
        """Forget a failed or canceled attempt's outputs file unread."""
        discard_outputs(self.output_file(step_id, attempt))
