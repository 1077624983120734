"""A throwaway Redis (Debian's redis-server, installed by the Makefile's system-deps when
missing) and Celery workers of the synth_assets.distributed code location, each in its own
process group on this machine."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from synth_assets_tests.servers.process import free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    def __enter__(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed; `make system-deps` installs it (apt)")
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="synth-assets-redis-"))
        command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(
            [*command, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self._ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.2)
        return self

    def _ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping())
        except redis.exceptions.ConnectionError:
            return False

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def __exit__(self, *exc) -> None:
        stop_process_group(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


class CeleryWorker:
    """``dagster-celery worker start`` on one queue, named ``name``; ready when Celery logs
    "ready." (its node name is ``<name>@<host>``)."""

    def __init__(self, name: str, queue: str, env: dict[str, str], concurrency: int = 1):
        self.name, self.queue, self.env, self.concurrency = name, queue, env, concurrency

    def __enter__(self) -> CeleryWorker:
        self.log = Path(tempfile.mkstemp(prefix=f"celery-{self.name}-", suffix=".log")[1])
        command = [
            "dagster-celery", "worker", "start", "-A", "dagster_celery.app",
            "-y", str(ROOT / "deploy" / "celery.yaml"), "-q", self.queue, "-n", self.name, "-l", "INFO",
            "--", f"--concurrency={self.concurrency}", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command,
                env={**self.env, "SYNTH_ASSETS_WORKER": self.name},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while " ready." not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker {self.name} did not start: {self.output()[-3000:]}")
            time.sleep(0.3)
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        stop_process_group(self.process)
