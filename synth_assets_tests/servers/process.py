"""A server started by a test as a subprocess in its own process group, on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProcessServer:
    """Start ``command`` (output to a temporary file: an undrained pipe would block it), wait
    until ``ready_url`` answers 200, and on exit stop the whole process group (TERM, then KILL)."""

    name = "server"

    def __init__(self, command: list[str], ready_url: str, startup_timeout: float = 120, env=None, cwd=None):
        self.command, self.ready_url, self.startup_timeout = command, ready_url, startup_timeout
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self._log_file = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            self.command,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=self.env,
            cwd=self.cwd,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"{self.name} did not answer on {self.ready_url} in {self.startup_timeout} s")

    def output(self) -> str:
        self._log_file.seek(0)
        return self._log_file.read().decode(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.process:
            stop_process_group(self.process)
        self._log_file.close()


def stop_process_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the process group of ``process`` (started with start_new_session), SIGKILL
    after ``timeout`` seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
