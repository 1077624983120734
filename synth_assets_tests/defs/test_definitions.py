import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, Definitions

from synth_assets_tests.defs.helpers import IMAGE_CHECK_NAMES, INSTRUCTION_CHECK_NAMES, TABULAR_CHECK_NAMES
from synth_assets_tests.defs.helpers import PROJECT as defs

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_loadable():
    Definitions.validate_loadable(defs)


def test_graph_shape_and_blocking_checks():
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey("tabular_synth")).parent_keys == {AssetKey("real_table")}
    checks = {
        key.name: graph.get(key)
        for key in graph.asset_check_keys
        if key.asset_key == AssetKey("tabular_synth")
    }
    assert set(checks) == TABULAR_CHECK_NAMES
    assert all(check.blocking for check in checks.values())
    assert defs.resolve_job_def("tabular_lane") is not None
    lane = defs.resolve_job_def("instruction_lane")
    assert lane.partitions_def is not None


def test_instruction_lineage():
    graph = defs.resolve_asset_graph()
    chain = ["raw_instructions", "evolved_instructions", "critic_filtered_instructions"]
    assert graph.get(AssetKey("raw_instructions")).parent_keys == {
        AssetKey("seed_topics"),
        AssetKey("seed_corpus"),
    }
    for parent, child in zip(chain, chain[1:], strict=False):
        assert graph.get(AssetKey(child)).parent_keys == {AssetKey(parent)}
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == AssetKey(chain[-1])}
    assert checks == INSTRUCTION_CHECK_NAMES
    # human review: critic -> review_requests -> human_reviews -> the mix
    assert graph.get(AssetKey("review_requests")).parent_keys == {AssetKey(chain[-1])}
    assert graph.get(AssetKey("human_reviews")).parent_keys == {AssetKey("review_requests")}
    mix = graph.get(AssetKey(["anchored_mix", "instruction_mix"]))
    assert {AssetKey("human_reviews"), AssetKey(chain[-1])} <= mix.parent_keys
    # the fine-tuning utility runs in publish and feeds the scorecard
    utility = graph.get(AssetKey("instruction_utility"))
    assert utility.parent_keys == {AssetKey("seed_topics"), AssetKey(chain[-1])}
    assert (
        AssetKey("instruction_utility")
        in graph.get(AssetKey(["scorecard", "instruction_scorecard"])).parent_keys
    )
    assert AssetKey("instruction_utility") in defs.resolve_job_def("publish").asset_layer.selected_asset_keys


def test_image_lineage_and_which_checks_can_block():
    graph = defs.resolve_asset_graph()
    chain = ["real_images", "image_model", "synthetic_images"]
    for parent, child in zip(chain, chain[1:], strict=False):
        assert graph.get(AssetKey(child)).parent_keys == {AssetKey(parent)}
    checks = {
        key.name: graph.get(key) for key in graph.asset_check_keys if key.asset_key == AssetKey(chain[-1])
    }
    # fid always blocks; class_balance blocks only when its config raises its severity to ERROR
    assert {name for name, check in checks.items() if check.blocking} == {"fid", "class_balance"}
    assert set(checks) == IMAGE_CHECK_NAMES
    assert defs.resolve_job_def("image_lane") is not None


def test_publish_job_covers_mixes_scorecards_and_exports():
    graph = defs.resolve_asset_graph()
    publish = defs.resolve_job_def("publish")
    assert publish.partitions_def is not None
    for lane in ("tabular", "image", "instruction"):
        mix = graph.get(AssetKey(["anchored_mix", f"{lane}_mix"]))
        export = graph.get(AssetKey(["export", f"{lane}_export"]))
        assert AssetKey(["anchored_mix", f"{lane}_mix"]) in export.parent_keys
        assert AssetKey(["scorecard", f"{lane}_scorecard"]) in export.parent_keys
        assert mix.parent_keys  # fed by its lane
    combined = graph.get(AssetKey(["scorecard", "combined"]))
    assert combined.parent_keys == {
        AssetKey(["scorecard", f"{lane}_scorecard"]) for lane in ("tabular", "image", "instruction")
    }
    assert AssetKey("collapse_curve") in graph.get(AssetKey(["scorecard", "tabular_scorecard"])).parent_keys


def test_dagster_cli_validates_the_project():
    """What `dagster dev` loads: [tool.dagster] module_name and workspace.yaml."""
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_keys_have_unique_last_segments():
    """The lineage graph labels nodes by the last segment: two equal ones look like one asset."""
    names = [key.path[-1] for key in defs.resolve_asset_graph().get_all_asset_keys()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_no_module_under_defs_reads_the_environment():
    """Wiring takes its settings from resources built from EnvVar, so tests and deployments set
    them in one place."""
    defs_dir = ROOT / "synth_assets" / "defs"
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in defs_dir.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "os.environ" in line or "os.getenv" in line
    ]
    assert list(defs_dir.rglob("*.py")) and offenders == []


@pytest.mark.slow
def test_dg_check_defs_passes():
    dg = Path(sys.executable).with_name("dg")
    result = subprocess.run(
        [str(dg), "check", "defs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parents[1])},
    )
    assert (
        result.returncode == 0 and "All definitions loaded successfully" in result.stdout + result.stderr
    ), result.stdout[-2000:] + result.stderr[-2000:]


def test_the_distributed_location_runs_every_job_on_celery_and_llm_stages_on_their_queue():
    from synth_assets.defs.instructions.assets import CELERY_QUEUE_TAG
    from synth_assets.distributed import defs as distributed

    project = distributed()
    jobs = [project.resolve_job_def(job.name) for job in project.resolve_all_job_defs()]
    assert jobs and {job.executor_def.name for job in jobs} == {"celery"}
    lane = project.resolve_job_def("instruction_lane")
    queues = {node.name: node.tags.get(CELERY_QUEUE_TAG) for node in lane.graph.node_dict.values()}
    assert {name for name, queue in queues.items() if queue == "llm"} == {
        "raw_instructions",
        "evolved_instructions",
        "critic_filtered_instructions",
    }
