"""A cluster of separately started `dask scheduler` and `dask worker` processes on 127.0.0.1.

Its workers hold the sealing key and advertise resources: `gpu` (one, two threads) and `plain`
(none, one thread); `add_worker` starts more, to be killed by the test. Every process is stopped by
its pid at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import wait_for

DASK = str(Path(sys.executable).with_name("dask"))


@dataclass
class KeyedCluster:
    address: str
    key: str
    scheduler_file: Path
    client: Any
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A `dask worker` without a nanny (so SIGKILL of it is the worker's death), once joined."""
        before = len(self.client.scheduler_info()["workers"])
        proc = _start(
            [DASK, "worker", "--scheduler-file", str(self.scheduler_file), "--no-nanny",
             "--no-dashboard", *args],
            env if env is not None else {"ENGINE_DASK_KEY": self.key},
        )  # fmt: skip
        self.procs.append(proc)
        wait_for(lambda: len(self.client.scheduler_info()["workers"]) > before, timeout=60)
        return proc


def _start(argv: list[str], extra: Mapping[str, str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGINE_DASK_KEY")}
    env.update(extra)
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def keyed_cluster(tmp: Path) -> Iterator[KeyedCluster]:
    from cryptography.fernet import Fernet
    from distributed import Client

    key = Fernet.generate_key().decode()
    scheduler_file = tmp / "scheduler.json"
    scheduler = [DASK, "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0"]
    procs = [_start([*scheduler, "--host", "127.0.0.1", "--no-dashboard"], {})]
    client = None
    try:
        wait_for(scheduler_file.exists, timeout=60)
        client = Client(scheduler_file=str(scheduler_file), timeout=60)
        cluster = KeyedCluster(client.scheduler.address, key, scheduler_file, client, procs)
        cluster.add_worker("--nthreads", "2", "--resources", "gpu=1", "--name", "gpu")
        cluster.add_worker("--nthreads", "1", "--name", "plain")
        yield cluster
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
