"""Data versions: every asset declares a code version; every materialization's data version is
the hash of the bundle it stored, so rebuilding from the same inputs and config stores the same
bytes and the same version, and a code change marks the asset and what follows it stale."""

from pathlib import Path

import pytest
from dagster import AssetKey, AssetsDefinition, DagsterInstance, materialize
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver

from synth_assets.defs.io_manager import content_version
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.storage import folder_digest
from synth_assets_tests.defs.helpers import (
    PROJECT,
    instruction_assets,
    output_resources,
    recent_day,
    run_assets,
    tabular_assets,
)
from synth_assets_tests.fakes import instruction_responder
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

DAY = recent_day(2)


def _versions(result) -> dict[str, tuple[str, str]]:
    """asset -> (data version tag, content_hash metadata) of each materialization in ``result``."""
    out = {}
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        out[event.asset_key.path[-1]] = (
            materialization.tags["dagster/data_version"],
            materialization.metadata["content_hash"].value,
        )
    return out


def _digests(root: Path, names, partition: str | None = None) -> dict[str, str]:
    return {name: folder_digest(root / name / (partition or "")) for name in names}


def test_every_asset_declares_a_code_version():
    missing = [
        key.to_user_string()
        for a in PROJECT.assets
        if isinstance(a, AssetsDefinition)
        for key in a.keys
        if not a.code_versions_by_key.get(key)
    ]
    assert missing == []


def test_folder_digest_follows_content_not_time_or_place(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "x.bin").write_bytes(b"\x00\x01")
        (tmp_path / name / "sub" / "y.txt").write_text("same")
    assert folder_digest(tmp_path / "a") == folder_digest(tmp_path / "b")
    assert content_version(tmp_path / "a") == folder_digest(tmp_path / "a")[:16]
    (tmp_path / "b" / "sub" / "y.txt").write_text("Same")
    assert folder_digest(tmp_path / "a") != folder_digest(tmp_path / "b")
    (tmp_path / "b" / "sub" / "y.txt").rename(tmp_path / "b" / "y.txt")  # same bytes, other name
    (tmp_path / "b" / "y.txt").write_text("same")
    assert folder_digest(tmp_path / "a") != folder_digest(tmp_path / "b")


@pytest.mark.slow
def test_tabular_rebuild_is_byte_identical_and_only_a_content_change_makes_children_stale(tmp_path):
    names = ["real_table", "tabular_synth"]
    instance = DagsterInstance.ephemeral()
    first = run_assets(tmp_path, tabular_assets, instance=instance)
    assert first.success
    stored = _digests(tmp_path / "out", names)
    again = run_assets(tmp_path, tabular_assets, instance=instance)
    assert _digests(tmp_path / "out", names) == stored  # byte for byte
    assert _versions(again) == _versions(first)
    for name in names:
        tag, content_hash = _versions(first)[name]
        assert tag == content_hash == stored[name][:16]

    def status(name):  # what the UI shows as stale or not
        return get_stale_status_resolver(instance, tabular_assets).get_status(AssetKey(name))

    # the same table again: its data version is unchanged, so tabular_synth stays up to date
    real_table = next(a for a in tabular_assets if AssetKey("real_table") in a.keys)
    assert run_assets(tmp_path, [real_table], instance=instance).success
    assert status("tabular_synth") == StaleStatus.FRESH
    # other config, other content: a new data version, and tabular_synth is stale (a root
    # asset's default version would only follow its code version, and miss this)
    changed = {"real_table": {"config": {"holdout_fraction": 0.25}}}
    assert run_assets(tmp_path, [real_table], changed, instance=instance).success
    assert status("tabular_synth") == StaleStatus.STALE
    other = run_assets(tmp_path / "other", tabular_assets, {"tabular_synth": {"config": {"num_rows": 200}}})
    assert _versions(other)["real_table"] == _versions(first)["real_table"]
    assert _versions(other)["tabular_synth"] != _versions(first)["tabular_synth"]


@pytest.mark.slow
def test_instruction_rebuild_from_the_cache_is_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-versions")
    names = ["raw_instructions", "evolved_instructions", "critic_filtered_instructions"]
    with FakeAnthropicServer(responder=instruction_responder) as server:
        llm = LLMResource(
            backend="anthropic", base_url=server.base_url, cache_path=str(tmp_path / "c.sqlite")
        )

        def build():
            return materialize(
                instruction_assets,
                partition_key=DAY,
                instance=DagsterInstance.ephemeral(),
                resources={**output_resources(tmp_path), "llm": llm},
                run_config={"ops": {"raw_instructions": {"config": {"n_chunks": 12}}}},
            )

        first = build()
        stored = _digests(tmp_path / "out", names, DAY)
        calls = len(server.message_requests())
        again = build()
        assert len(server.message_requests()) == calls  # every response came from the cache
    assert _digests(tmp_path / "out", names, DAY) == stored
    assert _versions(again) == _versions(first)
