"""End to end against the real webserver and daemon: `dg dev` on 127.0.0.1 with a
temporary DAGSTER_HOME, driven through its GraphQL API, and its UI in headless Chromium. The
LLM backend is the loopback fake Messages API, chosen by environment like a deployment would."""

from pathlib import Path

import pytest

from synth_assets_tests.defs.helpers import (
    IMAGE_CHECK_NAMES,
    INSTRUCTION_CHECK_NAMES,
    TABULAR_CHECK_NAMES,
    recent_day,
)
from synth_assets_tests.fakes import instruction_responder
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer
from synth_assets_tests.servers.browser import chromium, open_and_wait_for, screenshot, scroll_to_text
from synth_assets_tests.servers.dagster_dev import TERMINAL, DagsterDev

LOCATION = {"repositoryLocationName": DagsterDev.location, "repositoryName": "__repository__"}
DAY = recent_day(3)
BACKFILL_DAYS = [recent_day(5), recent_day(4)]
SMALL = {
    "execution": {"config": {"in_process": {}}},  # one process: the backfill runs use multiprocess
    "ops": {
        "image_model": {"config": {"steps": 60}},
        "synthetic_images": {"config": {"per_class": 20, "steps": 10}},
        # a 60-step model cannot pass the default FID gate, nor draw every class recognisably
        # (class_balance); here the graph must run through
        "image_fidelity_checks": {
            "config": {
                "n": 150,
                "fid_abs_threshold": 1e6,
                "min_class_share_ratio": 0.0,
                "min_agreement_per_class": 0.0,
            }
        },
        "collapse_curve": {"config": {"generations": 2}},
        "instruction_utility": {
            "config": {"max_pairs": 4, "min_pairs": 2, "epochs": 1, "max_heldout": 6, "max_tokens": 96}
        },
    },
}
LAUNCH = """
mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } }
  ... on RunConfigValidationInvalid { errors { message } } ... on PythonError { message } } }"""
RUN = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
NODES = """{ assetNodes { assetKey { path } dependencyKeys { path } dependedByKeys { path }
  assetChecksOrError { ... on AssetChecks { checks { name blocking
    executionForLatestMaterialization { status } } } } } }"""
LLM_STEPS = {"raw_instructions", "evolved_instructions", "critic_filtered_instructions"}
RUN_TAGS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LANE_ASSETS = {
    "tabular": ["real_table", "tabular_synth"],
    "images": ["real_images", "image_model", "synthetic_images"],
    # with seven assets in the group the UI shortens the two longest names (crit…_instructions),
    # so the page is checked for the others; the lineage queries cover all of them
    "instructions": ["seed_corpus", "seed_topics", "raw_instructions", "review_requests", "human_reviews"],
}
INSTRUCTION_LANE = [
    *LANE_ASSETS["instructions"][:3],
    "evolved_instructions",
    "critic_filtered_instructions",
    *LANE_ASSETS["instructions"][3:],
]


def _run_job(dev, job: str, run_config: dict, partition: str, timeout: float) -> tuple[str, str]:
    """Launch ``job`` for one partition over GraphQL; (run id, terminal status)."""
    params = {
        "selector": {**LOCATION, "jobName": job},
        "runConfigData": run_config,
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
    }
    launched = dev.graphql(LAUNCH, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    status = dev.wait_for(
        lambda: (s := dev.graphql(RUN, {"id": run_id})["runOrError"]["status"]) in TERMINAL and s,
        timeout=timeout,
        every=5,
    )
    return run_id, status


def _path(node):
    return "/".join(node["assetKey"]["path"])


@pytest.mark.slow
def test_whole_graph_checks_lineage_and_a_two_day_backfill_through_graphql(tmp_path):
    with FakeAnthropicServer(responder=instruction_responder) as api:
        env = {
            "SYNTH_ASSETS_OUTPUT_DIR": str(tmp_path / "out"),
            "SYNTH_ASSETS_LLM_BACKEND": "anthropic",
            "SYNTH_ASSETS_LLM_BASE_URL": api.base_url,
            "ANTHROPIC_API_KEY": "sk-e2e-not-a-real-key",
        }
        with DagsterDev(tmp_path / "home", env) as dev:
            _, status = _run_job(dev, "full_graph", SMALL, DAY, timeout=900)
            assert status == "SUCCESS", dev.output()[-5000:]

            nodes = {_path(n): n for n in dev.graphql(NODES)["assetNodes"]}
            # lineage, both directions
            assert {_path({"assetKey": k}) for k in nodes["tabular_synth"]["dependencyKeys"]} == {
                "real_table"
            }
            downstream = {_path({"assetKey": k}) for k in nodes["tabular_synth"]["dependedByKeys"]}
            assert {"anchored_mix/tabular_mix", "scorecard/tabular_scorecard"} <= downstream
            assert {_path({"assetKey": k}) for k in nodes["export/image_export"]["dependencyKeys"]} == {
                "anchored_mix/image_mix",
                "scorecard/image_scorecard",
            }
            # every check evaluated on the latest materialization and passed
            checks = {
                (path, c["name"]): c
                for path, n in nodes.items()
                for c in (n["assetChecksOrError"] or {}).get("checks", [])
            }
            assert {name for (_, name) in checks} == {
                *TABULAR_CHECK_NAMES,
                *IMAGE_CHECK_NAMES,
                *INSTRUCTION_CHECK_NAMES,
            }
            blocking = {key for key, c in checks.items() if c["blocking"]}
            assert blocking == {
                *(("tabular_synth", name) for name in TABULAR_CHECK_NAMES),
                ("synthetic_images", "fid"), ("critic_filtered_instructions", "critic_pass_rate"),
                ("critic_filtered_instructions", "diversity"),
                ("critic_filtered_instructions", "critic_validity"),
                ("synthetic_images", "class_balance"), ("critic_filtered_instructions", "topic_balance"),
            }  # fmt: skip
            for key in blocking:
                execution = checks[key]["executionForLatestMaterialization"]
                assert execution and execution["status"] == "SUCCEEDED", (key, execution)

            # the same, as a user sees it: headless Chromium on the asset graph and an asset page
            with chromium() as driver:
                open_and_wait_for(driver, f"{dev.url}/asset-groups", ["tabular", "images", "instructions"])
                screenshot(driver, SCREENSHOTS, "global_lineage")
                base = f"{dev.url}/locations/{DagsterDev.location}/asset-groups"
                for group, names in LANE_ASSETS.items():
                    open_and_wait_for(driver, f"{base}/{group}", names)
                    screenshot(driver, SCREENSHOTS, f"lane_{group}")
                checks_page = f"{dev.url}/assets/tabular_synth?view=checks"
                text = open_and_wait_for(driver, checks_page, ["tstr", "dcr", "data_quality", "Succeeded"])
                assert "Failed" not in text and "This is a blocking asset check" in text
                screenshot(driver, SCREENSHOTS, "tabular_synth_checks")
                # the overview shows the one-line summary and the preview table without a click
                text = open_and_wait_for(
                    driver,
                    f"{dev.url}/assets/tabular_synth",
                    ["summary", "synthetic rows", "preview", "mean radius"],
                )
                assert "[Show Markdown]" not in text.split("preview")[1][:400]
                scroll_to_text(driver, "Metadata")  # below the column schema
                screenshot(driver, SCREENSHOTS, "tabular_synth_overview")

            # a stricter diversity floor for the same day: the check fails, and says why in one line
            strict = {
                "execution": SMALL["execution"],
                "ops": {"critic_filtered_instructions_diversity": {"config": {"min_distinct_2": 0.99}}},
            }
            run_id, status = _run_job(dev, "instruction_lane", strict, DAY, timeout=600)
            assert status == "FAILURE", dev.output()[-5000:]  # the blocking check failed the run
            tags = {t["key"]: t["value"] for t in dev.graphql(RUN_TAGS, {"id": run_id})["runOrError"]["tags"]}
            assert (
                tags["synth_assets/llm_backend"].startswith("anthropic") and "synth_assets/technique" in tags
            )
            with chromium() as driver:
                page = f"{dev.url}/assets/critic_filtered_instructions?view=checks&checkDetail=diversity"
                text = open_and_wait_for(driver, page, ["diversity", "Failed", "< 0.99"])
                screenshot(driver, SCREENSHOTS, "instruction_check_failed")

            # a two-day backfill of the instruction lane, run by the daemon
            backfill_id = dev.backfill(BACKFILL_DAYS, [[name] for name in INSTRUCTION_LANE])
            outcome = dev.wait_for(lambda: dev.backfill_outcome(backfill_id), timeout=600, every=5)
            assert outcome, dev.output()[-5000:]
            state, runs = outcome
            assert state in {"COMPLETED", "COMPLETED_SUCCESS"} and runs
            assert all(r["status"] == "SUCCESS" for r in runs)
            partitions = {t["value"] for r in runs for t in r["tags"] if t["key"] == "dagster/partition"}
            assert partitions == set(BACKFILL_DAYS)
            # the instance's "llm" pool (limit 1) keeps LLM-bound steps of all runs one at a time
            spans = dev.step_spans(runs, LLM_STEPS)
            assert len(spans) == 3 * len(BACKFILL_DAYS)
            assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))

            # the instruction scorecard's single-run policy: the two days in one run
            backfill_id = dev.backfill(BACKFILL_DAYS, [["scorecard", "instruction_scorecard"]])
            outcome = dev.wait_for(lambda: dev.backfill_outcome(backfill_id), timeout=300, every=3)
            assert outcome, dev.output()[-5000:]
            state, runs = outcome
            assert (
                state in {"COMPLETED", "COMPLETED_SUCCESS"}
                and len(runs) == 1
                and runs[0]["status"] == "SUCCESS"
            )
            tags = {t["key"]: t["value"] for t in runs[0]["tags"]}
            assert (
                tags["dagster/asset_partition_range_start"],
                tags["dagster/asset_partition_range_end"],
            ) == (
                BACKFILL_DAYS[0],
                BACKFILL_DAYS[-1],
            )
    for day in [DAY, *BACKFILL_DAYS]:
        assert (tmp_path / "out" / "critic_filtered_instructions" / day / "bundle.json").exists()
        assert (tmp_path / "out" / "scorecard" / "instruction_scorecard" / day / "bundle.json").exists()
    assert (tmp_path / "out" / "reports" / f"validation_report_{DAY}.html").exists()
