"""The README's run command path: `dg launch --job tabular_lane` (what `make run-tabular` runs)
in a subprocess on a real SQLite instance (multiprocess executor), then the run, its tags, the
materializations and check results are read back from that instance, as the UI would show them."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance, DagsterRunStatus

from synth_assets_tests.defs.helpers import TABULAR_CHECK_NAMES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tabular_lane_job_from_the_cli(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "SYNTH_ASSETS_OUTPUT_DIR": str(tmp_path / "out")}
    venv = Path(sys.executable).parents[1]
    env |= {"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{env['PATH']}"}
    done = subprocess.run(
        [
            str(venv / "bin" / "dg"),
            "launch",
            "--job",
            "tabular_lane",
            "--config",
            "deploy/forkserver_steps.yaml",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "out" / "tabular_synth" / "data.parquet").exists()

    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == DagsterRunStatus.SUCCESS
        # tagged while it ran, so runs with different settings tell apart in the run list
        tags = instance.get_run_by_id(runs[0].run_id).tags
        assert (
            tags["synth_assets/data_source"] == "builtin:breast_cancer"
            and tags["synth_assets/synthesizer"] == "gaussian_copula"
        )
        for key in ("real_table", "tabular_synth"):
            assert instance.get_latest_materialization_event(AssetKey(key)) is not None
        for name in TABULAR_CHECK_NAMES:
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [AssetCheckKey(AssetKey("tabular_synth"), name)]
            )[AssetCheckKey(AssetKey("tabular_synth"), name)]
            evaluation = record.event.dagster_event.event_specific_data
            assert evaluation.passed, (name, evaluation.metadata)
