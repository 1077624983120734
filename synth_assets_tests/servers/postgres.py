"""A throwaway PostgreSQL server on 127.0.0.1 (Debian's postgresql package, installed by the
Makefile's system-deps when missing), trust authentication, data in a temporary folder.
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from synth_assets_tests.servers.process import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed; `make system-deps` installs it (apt)")
    return found[-1]


class PostgresServer:
    def __init__(self, db: str = "dagster"):
        self.db = db
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def __enter__(self) -> PostgresServer:
        # its own folder under the system temp dir: pytest's tmp_path is private to root
        self.folder = Path(tempfile.mkdtemp(prefix="synth-assets-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self._run(_bin("initdb"), "-D", str(self.data), "--auth=trust", "-U", self.user, "--encoding=UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder}"
        )
        self._run(
            _bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
        )
        deadline = time.monotonic() + 30
        while self._run(_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(self.folder / 'log').read_text()[-2000:]}")
            time.sleep(0.3)
        self._run(_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.db)
        return self

    @property
    def env(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
            "DAGSTER_PG_DB": self.db,
        }

    def __exit__(self, *exc) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
