"""The instruction lane in-process: Anthropic backend (against the loopback fake API) and
the embedded local model, one daily partition each."""

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from synth_assets.defs.instructions import instruction_assets, instruction_checks, partition_seed
from synth_assets.defs.io_manager import BundleIOManagerFactory
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.storage import load_bundle
from synth_assets_tests.fakes import instruction_responder as fake_llm
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

PARTITION = "2026-11-20"
SECRET = "sk-test-secret-value-9d2e"


def _materialize(tmp_path, llm, instance, run_config=None):
    return materialize(
        [*instruction_assets, *instruction_checks],
        partition_key=PARTITION,
        instance=instance,
        raise_on_error=False,
        resources={"io_manager": BundleIOManagerFactory(base_dir=str(tmp_path / "out")), "llm": llm},
        run_config=run_config or {"ops": {"raw_instructions": {"config": {"per_topic": 2}}}},
    )


def _metadata(result, asset):
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(asset)]
    return {k: v.value for k, v in events[0].event_specific_data.materialization.metadata.items()}


def test_anthropic_backend_end_to_end_and_rematerialization(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    instance = DagsterInstance.ephemeral()
    with FakeAnthropicServer(responder=fake_llm) as server:
        llm = LLMResource(
            backend="anthropic",
            model="claude-haiku-4-5",
            base_url=server.base_url,
            cache_path=str(tmp_path / "cache.sqlite"),
        )
        result = _materialize(tmp_path, llm, instance)
        assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        sent = len(server.message_requests())
        raw, critic = _metadata(result, "raw_instructions"), _metadata(result, "critic_filtered_instructions")
        assert raw["llm_requests_total"] == 16 and raw["backend"] == "anthropic"
        assert critic["llm_calls_new"] > 0 and critic["estimated_cost_usd"] > 0
        assert (
            sum(
                _metadata(result, a)["llm_calls_new"]
                for a in ("raw_instructions", "evolved_instructions", "critic_filtered_instructions")
            )
            == sent
        )
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {"critic_pass_rate": True, "diversity": True}

        again = _materialize(tmp_path, llm, instance)
        assert again.success and len(server.message_requests()) == sent  # zero new calls
        for asset in ("raw_instructions", "evolved_instructions", "critic_filtered_instructions"):
            assert _metadata(again, asset)["llm_calls_new"] == 0

    frames, _ = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    kept = frames["kept"]
    assert {"parent_id", "operator", "round", "judge_score", "seed", "backend", "model"} <= set(kept.columns)
    assert (kept["seed"] == partition_seed(PARTITION)).all() and (kept["judge_score"] >= 4).all()
    rejects, _ = load_bundle(tmp_path / "out" / "raw_instructions" / PARTITION)
    assert "reason" in rejects["rejects"].columns
    # the key is nowhere: not in outputs, cache, or the instance's event log
    blobs = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(SECRET.encode() in blob for blob in blobs)
    logs = " ".join(str(r.user_message) + str(r.dagster_event) for r in instance.all_logs(result.run_id))
    assert SECRET not in logs


def test_magpie_refused_on_anthropic(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    with FakeAnthropicServer(responder=fake_llm) as server:
        llm = LLMResource(
            backend="anthropic", base_url=server.base_url, cache_path=str(tmp_path / "c.sqlite")
        )
        result = _materialize(
            tmp_path,
            llm,
            DagsterInstance.ephemeral(),
            {"ops": {"raw_instructions": {"config": {"technique": "magpie"}}}},
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        assert "magpie needs raw completion" in str(failure.event_specific_data.error)
        assert server.message_requests() == []


@pytest.mark.slow
def test_local_model_end_to_end_one_partition(tmp_path):
    llm = LLMResource(backend="local", cache_path=str(tmp_path / "cache.sqlite"))
    result = _materialize(
        tmp_path,
        llm,
        DagsterInstance.ephemeral(),
        {
            "ops": {
                "raw_instructions": {"config": {"per_topic": 1, "max_topics": 3}},
                "critic_filtered_instructions": {"config": {"use_logprobs": True}},
            }
        },
    )
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {
        "seed_topics",
        "raw_instructions",
        "evolved_instructions",
        "critic_filtered_instructions",
    }
    raw = _metadata(result, "raw_instructions")
    assert raw["backend"] == "local" and raw["model"].startswith("SmolLM2") and raw["llm_calls_new"] == 3
    assert raw["estimated_cost_usd"] == 0.0
    frames, _ = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    judged = frames["kept"]["judge_score"].tolist() + frames["rejects"]["judge_score"].dropna().tolist()
    assert all(1 <= s <= 5 for s in judged)
