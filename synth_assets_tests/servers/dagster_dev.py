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


# GraphQL of partition backfills and their runs
BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL_STATUS = """query($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"""
BACKFILL_RUNS = """query($id: String!) {
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status startTime endTime tags { key value } } } } }"""
STEPS = """query($id: ID!) { runOrError(runId: $id) { ... on Run {
  stepStats { stepKey startTime endTime } } } }"""
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
BACKFILL_DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


class DagsterDev(ProcessServer):
    name = "dg dev"
    location = "synth_assets"  # [tool.dg.project] code_location_name

    def __init__(
        self, home: Path, env: dict[str, str], startup_timeout: float = 180, instance: str | None = None
    ):
        """``instance``: the text of the instance's dagster.yaml (default: the project's)."""
        home.mkdir(parents=True, exist_ok=True)
        if instance is None:
            shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        else:
            (home / "dagster.yaml").write_text(instance)
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

    def backfill(self, days: list[str], assets: list[list[str]] | None = None, job: str | None = None) -> str:
        """Launch a partition backfill over ``days`` of ``assets`` (key paths), or of the
        partitioned asset ``job`` (its runs then carry the job's tags, as from its page in the
        UI); the backfill's id."""
        params = {"partitionNames": days}
        if job:
            repository = {"repositoryLocationName": self.location, "repositoryName": "__repository__"}
            params["selector"] = {
                "partitionSetName": f"{job}_partition_set",
                "repositorySelector": repository,
            }
        else:
            params["assetSelection"] = [{"path": path} for path in assets]
        launched = self.graphql(BACKFILL, {"params": params})["launchPartitionBackfill"]
        if launched["__typename"] != "LaunchBackfillSuccess":
            raise RuntimeError(f"backfill not launched: {launched}")
        return launched["backfillId"]

    def backfill_outcome(self, backfill_id: str):
        """(status, runs) once the backfill and every run of it have ended, else None."""
        runs = self.graphql(BACKFILL_RUNS, {"id": backfill_id})["runsOrError"]["results"]
        state = self.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]
        if state in BACKFILL_DONE and all(r["status"] in TERMINAL for r in runs):
            return state, runs
        return None

    def step_spans(self, runs: list[dict], steps: set[str]) -> list[tuple[float, float]]:
        """(start, end) of each step in ``steps`` of ``runs``, sorted."""
        return sorted(
            (step["startTime"], step["endTime"])
            for r in runs
            for step in self.graphql(STEPS, {"id": r["runId"]})["runOrError"]["stepStats"]
            if step["stepKey"] in steps and step["startTime"]
        )

    def wait_for(self, probe, timeout: float, every: float = 2.0):
        """Call ``probe()`` until it returns something truthy; its last value on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(every)
