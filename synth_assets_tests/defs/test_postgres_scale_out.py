"""deploy/dagster.yaml against a real PostgreSQL server: the tabular lane runs through the
CLI with the multiprocess executor, and its run and check results are read back from
PostgreSQL through a fresh instance."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, DagsterRunStatus

from synth_assets_tests.defs.helpers import TABULAR_CHECK_NAMES
from synth_assets_tests.servers.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tabular_lane_on_postgres_with_the_multiprocess_executor(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    config = tmp_path / "run.yaml"
    config.write_text("execution:\n  config:\n    multiprocess:\n      max_concurrent: 2\n")
    with PostgresServer() as pg:
        env = {
            **os.environ,
            **pg.env,
            "DAGSTER_HOME": str(home),
            "SYNTH_ASSETS_OUTPUT_DIR": str(tmp_path / "out"),
        }
        run = subprocess.run(
            [sys.executable, "-m", "dagster", "job", "execute", "-m", "synth_assets.definitions",
             "-j", "tabular_lane",
             "-c", str(config)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        for key, value in pg.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        with DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            [record] = instance.get_run_records()
            assert (
                record.dagster_run.job_name == "tabular_lane"
                and record.dagster_run.status == DagsterRunStatus.SUCCESS
            )
            assert record.dagster_run.tags["synth_assets/lane"] == "tabular"
            # multiprocess: each step ran in its own process
            logs = instance.all_logs(record.dagster_run.run_id)
            pids = {e.dagster_event.pid for e in logs if e.dagster_event and e.step_key}
            assert len(pids) >= 3
            keys = [AssetCheckKey(AssetKey("tabular_synth"), name) for name in TABULAR_CHECK_NAMES]
            executions = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
            assert {k.name: e.evaluation.passed for k, e in executions.items()} == dict.fromkeys(
                TABULAR_CHECK_NAMES, True
            )
            assert instance.get_latest_materialization_event(AssetKey("tabular_synth")) is not None
