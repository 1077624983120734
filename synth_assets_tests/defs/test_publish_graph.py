"""publish in-process after the three lanes: mixes of gated data, scorecards, the HTML report
and exports; the cross-run gate refuses data whose blocking checks failed."""

import json

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.publish.exports import LANE_NAMES
from synth_assets.defs.publish.mix import tabular_mix
from synth_assets.exports.provenance import read_manifest
from synth_assets.exports.signing_keys import SELF_SIGNED_STATEMENT
from synth_assets.exports.writers import verify_manifest
from synth_assets.metrics.row_distance import row_hashes
from synth_assets.reports.scorecard import Scorecard
from synth_assets.storage import load_bundle
from synth_assets_tests.defs.helpers import (
    IMAGE_CHECK_NAMES,
    INSTRUCTION_CHECK_NAMES,
    TABULAR_CHECK_NAMES,
    export_assets,
    image_assets,
    image_checks,
    instruction_assets,
    instruction_checks,
    mix_assets,
    output_resources,
    recent_day,
    scorecard_assets,
    step_failure_message,
    tabular_assets,
    tabular_checks,
)
from synth_assets_tests.fakes import instruction_responder
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

PARTITION = recent_day(3)
LANES = [
    *tabular_assets,
    *tabular_checks,
    *image_assets,
    *image_checks,
    *instruction_assets,
    *instruction_checks,
]
PUBLISH = [*scorecard_assets, *mix_assets, *export_assets]
ALL = [*LANES, *PUBLISH]
SMALL = {
    "image_model": {"config": {"steps": 60}},
    "synthetic_images": {"config": {"per_class": 20, "steps": 10}},
    # a 60-step model cannot pass the default FID gate; this test is about what follows a pass
    "image_fidelity_checks": {"config": {"n": 150, "fid_abs_threshold": 1e6}},
    "raw_instructions": {"config": {"n_chunks": 16}},
    "collapse_curve": {"config": {"generations": 2}},
    "instruction_utility": {
        "config": {"max_pairs": 4, "min_pairs": 2, "epochs": 1, "max_heldout": 6, "max_tokens": 96}
    },
}
UTILITY = AssetKey("instruction_utility")


def _keys(assets):
    return [key for a in assets for key in a.keys]


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-publish")
    return tmp_path, DagsterInstance.ephemeral()


def _materialize(tmp_path, instance, llm, selection, partition=None, ops=None):
    return materialize(
        ALL,
        selection=selection,
        partition_key=partition,
        instance=instance,
        raise_on_error=False,
        resources={**output_resources(tmp_path), "llm": llm},
        run_config={"ops": _ops_for(selection) if ops is None else ops},
    )


def _fields(bundle):
    parts, meta = bundle
    return parts, meta["fields"]


def _llm(server, tmp_path):
    return LLMResource(
        backend="anthropic", base_url=server.base_url, cache_path=str(tmp_path / "cache.sqlite")
    )


def _ops_for(keys):
    names = {"__".join(k.path) for k in keys}
    if "synthetic_images" in names:
        names.add("image_fidelity_checks")  # the checks run with their asset
    return {k: v for k, v in SMALL.items() if k in names}


@pytest.mark.slow
def test_publish_after_the_lanes_pass(world):
    tmp_path, instance = world
    with FakeAnthropicServer(responder=instruction_responder) as server:
        llm = _llm(server, tmp_path)
        lanes = _materialize(tmp_path, instance, llm, _keys([*tabular_assets, *image_assets]))
        assert lanes.success
        instruction_run = _materialize(tmp_path, instance, llm, _keys(instruction_assets), PARTITION)
        assert instruction_run.success
        publish_keys = _keys(PUBLISH)
        result = _materialize(tmp_path, instance, llm, publish_keys, PARTITION)
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == set(publish_keys)
    out = tmp_path / "out"
    for lane in ("tabular", "images", "instructions"):
        mix = result.asset_materializations_for_node(f"anchored_mix__{LANE_NAMES[lane]}_mix")[0].metadata
        total = mix["n_real"].value + mix["n_synthetic"].value
        assert (
            abs(mix["real_share"].value - 0.10) <= 1 / total and mix["short_of_real_items"].value == 0
        )  # rounding
        folder = out / "exports" / lane / (PARTITION if lane == "instructions" else "")
        assert verify_manifest(folder) == [] and (folder / "README.md").exists()
        # the export records its version and the data version of every asset it came from
        record = json.loads((folder / "manifest.json").read_text())
        export = result.asset_materializations_for_node(
            f"export__{'image' if lane == 'images' else LANE_NAMES[lane]}_export"
        )[0]
        assert export.metadata["version"].value == record["version"] == export.tags["dagster/data_version"]
        mix_event = result.asset_materializations_for_node(f"anchored_mix__{LANE_NAMES[lane]}_mix")[0]
        assert (
            record["upstream"][f"anchored_mix/{LANE_NAMES[lane]}_mix"]
            == mix_event.tags["dagster/data_version"]
        )
        assert f"Version `{record['version']}`" in (folder / "README.md").read_text()
        assert (out / "exports" / "history" / lane / record["version"] / "manifest.json").is_file()
    lane_versions = {
        e.asset_key.to_user_string(): e.materialization.tags["dagster/data_version"]
        for e in lanes.get_asset_materialization_events()
    }
    tabular_record = json.loads((out / "exports" / "tabular" / "manifest.json").read_text())
    assert tabular_record["upstream"]["tabular_synth"] == lane_versions["tabular_synth"]
    assert tabular_record["upstream"]["real_table"] == lane_versions["real_table"]
    # the holdout never enters an export
    split, _ = load_bundle(out / "real_table")
    exported = pd.read_parquet(out / "exports" / "tabular" / "data.parquet")
    columns = list(split["train"].columns)
    assert not set(row_hashes(exported[columns]).tolist()) & set(
        row_hashes(split["holdout"][columns]).tolist()
    )
    # exported synthetic images say they are AI-generated, with their model and seed; real ones don't
    images = out / "exports" / "images"
    rows = pd.read_csv(images / "manifest.csv", dtype={"origin_id": str}).groupby("source").head(3)
    image_mix = result.asset_materializations_for_node("anchored_mix__image_mix")[0].metadata
    seeds = load_bundle(out / "synthetic_images")[0]["manifest"]["seed"]
    for row in rows.itertuples():
        claim = read_manifest(images / row.file)
        if row.source == "synthetic":
            assert claim.ai_generated and claim.intact  # intact, but self-signed: on no trust list
            assert claim.trust_failures == ("signingCredential.untrusted",)
            assert claim.generation["model"] == image_mix["provenance"].value["generator"]
            assert claim.generation["seed"] == seeds[int(row.origin_id)]
        else:
            assert not claim.has_manifest and not claim.ai_generated
    assert {"real", "synthetic"} == set(rows["source"])
    assert SELF_SIGNED_STATEMENT in (images / "README.md").read_text()
    key = out / "provenance" / "local-signer" / "signer.key"
    assert key.stat().st_mode & 0o777 == 0o600
    export_meta = result.asset_materializations_for_node("export__image_export")[0].metadata
    assert export_meta["c2pa_signed"].value == image_mix["n_synthetic"].value
    assert "PRIVATE KEY" not in json.dumps({k: str(v.value) for k, v in export_meta.items()})
    chat = [
        json.loads(x)
        for x in (out / "exports" / "instructions" / PARTITION / "messages.jsonl").read_text().splitlines()
    ]
    assert {r["source"] for r in chat} == {"real", "synthetic"}
    # the fine-tuning utility reaches the instruction scorecard, measured on equal-sized sets
    utility = result.asset_materializations_for_node("instruction_utility")[0].metadata
    sizes = {r.data["set"]: r.data["n_pairs"] for r in utility["results"].records}
    assert "kept" in sizes and len(set(sizes.values())) == 1 and utility["loss_before"].value > 0
    card = Scorecard.from_bundle(
        *_fields(load_bundle(out / "scorecard" / "instruction_scorecard" / PARTITION))
    )
    assert card.value("loss_gain_kept") == pytest.approx(utility["loss_gain_kept"].value, rel=1e-3)
    # every check result reads top down: a one-line description, the verdict first
    evaluations = [*lanes.get_asset_check_evaluations(), *instruction_run.get_asset_check_evaluations()]
    assert {
        e.check_name for e in evaluations
    } == TABULAR_CHECK_NAMES | IMAGE_CHECK_NAMES | INSTRUCTION_CHECK_NAMES
    assert len(evaluations) == len(TABULAR_CHECK_NAMES | IMAGE_CHECK_NAMES | INSTRUCTION_CHECK_NAMES)
    for e in evaluations:
        assert e.description and "\n" not in e.description and len(e.description) <= 1000, e.check_name
        assert next(iter(e.metadata)) == "verdict" and e.metadata["verdict"].value == e.description
        assert "measurement" in e.metadata and isinstance(e.metadata["settings"].value, str)
    # the scorecard shows each gated metric as its check measured it (read from the instance)
    tstr_check = next(e for e in lanes.get_asset_check_evaluations() if e.check_name == "tstr")
    card = result.asset_materializations_for_node("scorecard__tabular_scorecard")[0].metadata
    assert card["tstr_ratio"].value == tstr_check.metadata["tstr_ratio"].value
    assert (
        card["dcr_share"].value
        == next(e for e in lanes.get_asset_check_evaluations() if e.check_name == "dcr")
        .metadata["dcr_share"]
        .value
    )
    report = out / "reports" / f"validation_report_{PARTITION}.html"
    assert report.exists() and f"Instruction lane ({PARTITION})" in report.read_text()
    combined = result.asset_materializations_for_node("scorecard__combined")[0].metadata
    assert "| tabular |" in combined["scorecard"].value
    assert next(iter(combined)) == "summary" and combined["report"].value == report.resolve().as_uri()
    assert "Contents" in report.read_text()
    for node in ("scorecard__tabular_scorecard", "scorecard__image_scorecard", "anchored_mix__image_mix"):
        metadata = result.asset_materializations_for_node(node)[0].metadata
        assert next(iter(metadata)) == "summary" and len(metadata["summary"].value) <= 1000, node
    assert [r.data["name"] for r in card["metrics"].records][:3] == [
        "quality_score",
        "column_shapes",
        "column_pair_trends",
    ]

    # a real share below 5 % is refused with a clear error
    low = _materialize(
        tmp_path,
        instance,
        LLMResource(),
        [AssetKey(["anchored_mix", "tabular_mix"])],
        ops={"anchored_mix__tabular_mix": {"config": {"real_share": 0.04}}},
    )
    assert not low.success and "real_share must be at least 0.05" in step_failure_message(
        low, "anchored_mix__tabular_mix"
    )


def _harsh_judge(body: dict) -> str:
    if "Rate the RESPONSE" in body["messages"][-1]["content"]:
        return '{"score": 1, "reason": "no"}'
    return instruction_responder(body)


@pytest.mark.slow
def test_mix_refuses_data_that_failed_its_gate_but_the_scorecard_shows_why(world):
    tmp_path, instance = world
    with FakeAnthropicServer(responder=_harsh_judge) as server:
        lane = _materialize(tmp_path, instance, _llm(server, tmp_path), _keys(instruction_assets), PARTITION)
    assert not lane.success  # critic_pass_rate failed; critic_filtered_instructions is still stored
    keys = [
        AssetKey(["anchored_mix", "instruction_mix"]),
        AssetKey(["scorecard", "instruction_scorecard"]),
        UTILITY,
    ]
    result = _materialize(tmp_path, instance, LLMResource(), keys, PARTITION)
    utility = result.asset_materializations_for_node("instruction_utility")[0].metadata
    assert "not measured: 0 kept pairs" in utility["summary"].value
    message = step_failure_message(result, "anchored_mix__instruction_mix")
    assert "failed its blocking check 'critic_pass_rate'" in message and lane.run_id in message
    card = result.asset_materializations_for_node("scorecard__instruction_scorecard")[0].metadata
    assert card["passed"].value is False and card["kept"].value == 0 and card["judged"].value > 0


@pytest.mark.slow
def test_gate_accepts_checks_evaluated_inside_a_partitioned_run(tmp_path):
    """In a partitioned run (full_graph), checks of unpartitioned assets carry no target
    materialization; the gate then relies on the evaluation coming after it."""
    from dagster import AssetSelection, Definitions, asset, define_asset_job

    from synth_assets.defs.partitions import daily_partitions
    from synth_assets.tabular.split import TableSplit

    @asset(partitions_def=daily_partitions)
    def daily_copy(real_table: TableSplit) -> TableSplit:
        """A daily asset, so that the run is a partitioned one."""
        return real_table

    job = define_asset_job("one_day", selection=AssetSelection.all(), partitions_def=daily_partitions)
    project = Definitions(
        assets=[*tabular_assets, tabular_mix, daily_copy],
        asset_checks=tabular_checks,
        jobs=[job],
        resources=output_resources(tmp_path),
    )
    result = project.resolve_job_def("one_day").execute_in_process(
        partition_key=PARTITION, instance=DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert result.success
    mix = result.asset_materializations_for_node("anchored_mix__tabular_mix")[0].metadata
    assert set(mix["provenance"].value["passed_checks"]) == TABULAR_CHECK_NAMES


@pytest.mark.slow
def test_single_run_backfill_scores_a_range_of_days_in_one_run(world):
    tmp_path, instance = world
    days = [recent_day(5), recent_day(4)]
    with FakeAnthropicServer(responder=instruction_responder) as server:
        llm = _llm(server, tmp_path)
        # the utility is switched off on the first day and never built on the second
        off = {"instruction_utility": {"config": {"enabled": False}}}
        for day, extra, ops in zip(days, ([UTILITY], []), (off, {}), strict=True):
            assert _materialize(
                tmp_path, instance, llm, [*_keys(instruction_assets), *extra], day, ops
            ).success
    key = AssetKey(["scorecard", "instruction_scorecard"])
    result = materialize(
        ALL,
        selection=[key],
        instance=instance,
        raise_on_error=False,
        resources={
            **output_resources(tmp_path),
            "llm": LLMResource(),
        },
        tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[1]},
    )
    assert result.success
    [event] = result.get_asset_materialization_events()[:1]
    assert len(result.get_asset_materialization_events()) == 2  # one run, one materialization per day
    assert {e.partition for e in result.get_asset_materialization_events()} == set(days)
    assert event.materialization.metadata["n_days"].value == 2
    for day in days:
        parts, meta = load_bundle(tmp_path / "out" / "scorecard" / "instruction_scorecard" / day)
        card = Scorecard.from_bundle(parts, meta["fields"])
        assert card.title == f"Instruction lane ({day})" and card.value("judged") > 0
        why = "switched off" if day == days[0] else "instruction_utility is not materialized"
        assert any(why in note for note in card.notes), card.notes


@pytest.mark.slow
def test_a_stricter_tstr_threshold_fails_the_check_and_the_scorecard_alike(tmp_path):
    """Raise tstr's threshold in run config: the check fails, and the scorecard, which reads the
    check's stored verdict, shows the same FAIL with the same threshold."""
    instance, llm = DagsterInstance.ephemeral(), LLMResource()
    strict = {"tabular_synth_tstr": {"config": {"threshold": 0.99}}}
    lane = _materialize(tmp_path, instance, llm, _keys(tabular_assets), ops=strict)
    [tstr] = [e for e in lane.get_asset_check_evaluations() if e.check_name == "tstr"]
    assert not tstr.passed and ">= 0.99" in tstr.metadata["settings"].value
    assert tstr.description.startswith("TSTR/TRTR") and "< 0.99" in tstr.description
    keys = [AssetKey("collapse_curve"), AssetKey(["scorecard", "tabular_scorecard"])]
    result = _materialize(tmp_path, instance, llm, keys)
    assert result.success
    parts, meta = load_bundle(tmp_path / "out" / "scorecard" / "tabular_scorecard")
    card = Scorecard.from_bundle(parts, meta["fields"])
    [row] = [m for m in card.metrics if m.name == "tstr_ratio"]
    assert row.passed is False and row.threshold == ">= 0.99" and not card.passed
    assert row.value == tstr.metadata["tstr_ratio"].value and tstr.description in row.meaning
    shown = result.asset_materializations_for_node("scorecard__tabular_scorecard")[0].metadata
    assert shown["passed"].value is False
