"""`dg dev` (what `make dev` runs: webserver + daemon for this dg project) on 127.0.0.1 with its
own DAGSTER_HOME, and a small GraphQL client for it."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

from synth_assets_tests.servers.process import ProcessServer, free_port

ROOT = Path(__file__).resolve().parents[2]


class DagsterDev(ProcessServer):
    name = "dg dev"
    location = "synth_assets"  # [tool.dg.project] code_location_name

    def __init__(self, home: Path, env: dict[str, str], startup_timeout: float = 180):
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        venv = Path(sys.executable).parents[1]
        command = [str(venv / "bin" / "dg"), "dev", "--use-active-venv",
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        full_env = {
            **os.environ,
            **env,
            "DAGSTER_HOME": str(home),
            "VIRTUAL_ENV": str(venv),
            "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
        }
        super().__init__(command, f"{self.url}/server_info", startup_timeout, env=full_env, cwd=ROOT)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def wait_for(self, probe, timeout: float, every: float = 2.0):
        """Call ``probe()`` until it returns something truthy; its last value on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(every)
