import subprocess
import sys
from pathlib import Path

from dagster import AssetKey, Definitions

from synth_assets.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_loadable():
    Definitions.validate_loadable(defs)


def test_graph_shape_and_blocking_checks():
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey("tabular_synth")).parent_keys == {AssetKey("real_table")}
    checks = {key.name: graph.get(key) for key in graph.asset_check_keys
              if key.asset_key == AssetKey("tabular_synth")}
    assert set(checks) == {"tstr", "dcr", "data_quality"}
    assert all(check.blocking for check in checks.values())
    assert defs.resolve_job_def("synth_all") is not None


def test_dagster_cli_validates_the_project():
    """What `dagster dev` loads: [tool.dagster] module_name and workspace.yaml."""
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
