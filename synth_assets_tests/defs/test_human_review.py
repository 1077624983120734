"""Human review that outranks the critic, through the graph, with both review tools: a real
Label Studio server on loopback (its own venv, started here) and the JSONL review inbox.

The instruction lane pushes a stratified sample; a "person" overrules the critic on one kept and
one rejected pair and agrees on two; the sensor asks for human_reviews of that day; the mix built
next leaves out the pair the person rejected and takes in the one the person kept; and
critic_validity, on the next build, reports the critic's agreement with people."""

import json

import pytest
from dagster import AssetKey, DagsterInstance, SkipReason, build_sensor_context, materialize

from synth_assets.defs.instructions.review import human_review_sensor
from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.review_resource import ReviewResource
from synth_assets.instructions.label_studio import API_KEY_VARIABLE
from synth_assets.mix.datasets import ORIGIN_ID, SOURCE
from synth_assets.storage import load_bundle
from synth_assets_tests.defs.helpers import (
    instruction_assets,
    instruction_checks,
    mix_assets,
    output_resources,
    recent_day,
)
from synth_assets_tests.fakes import instruction_responder
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

PARTITION = recent_day(2)
TOKEN = "ls-legacy-token-4f1c9a"  # a test server's token, made up here
INSTRUCTION_MIX = [a for a in mix_assets if a.key == AssetKey(["anchored_mix", "instruction_mix"])]


@pytest.fixture(params=["file", "label_studio"])
def review_tool(request, tmp_path, monkeypatch):
    """(ReviewResource, decide(ids -> decision)) for each backend."""
    if request.param == "file":
        resource = ReviewResource(inbox_dir=str(tmp_path / "inbox"))

        def decide(decisions: dict[str, str]) -> None:
            path = tmp_path / "inbox" / f"{PARTITION}.jsonl"
            lines = [json.loads(x) for x in path.read_text().splitlines()]
            for line in lines:
                if line["id"] in decisions:
                    line.update(decision=decisions[line["id"]], reviewer="test reviewer")
            path.write_text("".join(json.dumps(x) + "\n" for x in lines))

        yield resource, decide
        return
    from synth_assets_tests.servers.label_studio import LabelStudioServer, ensure_installed

    problem = ensure_installed()
    if problem:
        pytest.skip(problem)
    with LabelStudioServer(tmp_path / "label-studio", TOKEN) as server:
        monkeypatch.setenv(API_KEY_VARIABLE, TOKEN)
        resource = ReviewResource(backend="label_studio", label_studio_url=server.url)

        def decide(decisions: dict[str, str]) -> None:
            from label_studio_sdk import LabelStudio

            client = LabelStudio(base_url=server.url, api_key=TOKEN)
            [project] = [p for p in client.projects.list() if p.title == resource.project_title]
            for task in client.tasks.list(project=project.id, fields="all"):
                if task.data["pair_id"] in decisions:
                    choice = {"choices": [decisions[task.data["pair_id"]]]}
                    client.annotations.create(
                        id=task.id,
                        result=[
                            {
                                "from_name": "decision",
                                "to_name": "response",
                                "type": "choices",
                                "value": choice,
                            }
                        ],
                    )

        yield resource, decide


def _run(tmp_path, instance, review, llm, selection, ops=None):
    return materialize(
        [*instruction_assets, *instruction_checks, *INSTRUCTION_MIX],
        selection=selection,
        partition_key=PARTITION,
        instance=instance,
        raise_on_error=False,
        resources={**output_resources(tmp_path), "llm": llm, "review": review},
        run_config={"ops": ops or {}},
    )


def _sense(tmp_path, instance, review, cursor):
    """One evaluation of the sensor: what it yielded, and its cursor after."""
    resources = {**output_resources(tmp_path), "review": review}
    with build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        results = list(human_review_sensor(context))
        return results, context.cursor


@pytest.mark.slow
def test_people_overrule_the_critic_in_the_next_mix(tmp_path, monkeypatch, review_tool):
    review, decide = review_tool
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-review")
    instance = DagsterInstance.ephemeral()
    lane = [k for a in instruction_assets for k in a.keys]
    ops = {
        "raw_instructions": {"config": {"n_chunks": 16}},
        "review_requests": {"config": {"sample_size": 8}},
    }
    with FakeAnthropicServer(responder=instruction_responder) as server:
        llm = LLMResource(
            backend="anthropic", base_url=server.base_url, cache_path=str(tmp_path / "cache.sqlite")
        )
        first = _run(tmp_path, instance, review, llm, lane, ops)
        assert first.success
        pushed = first.asset_materializations_for_node("review_requests")[0].metadata
        assert pushed["n_pushed"].value == pushed["n_requested"].value > 0
        requests = load_bundle(tmp_path / "out" / "review_requests" / PARTITION)[0]["rows"]
        kept = requests[requests["critic_verdict"] == "keep"]["id"].tolist()
        rejected = requests[requests["critic_verdict"] == "reject"]["id"].tolist()
        assert kept and rejected, requests
        # nothing decided yet: the sensor has nothing to collect
        results, cursor = _sense(tmp_path, instance, review, None)
        assert isinstance(results[0], SkipReason)
        decide({kept[0]: "reject", rejected[0]: "keep", kept[-1]: "keep", rejected[-1]: "reject"})
        [run_request], cursor = _sense(tmp_path, instance, review, cursor)
        assert run_request.partition_key == PARTITION
        results, _ = _sense(tmp_path, instance, review, cursor)
        assert isinstance(results[0], SkipReason)  # nothing new since

        collected = _run(tmp_path, instance, review, llm, [AssetKey("human_reviews")])
        assert collected.success
        found = collected.asset_materializations_for_node("human_reviews")[0].metadata
        assert found["n_reviewed"].value == 4 and found["n_overrides"].value == 2
        assert found["accuracy"].value == 0.5 and found["kappa"].value == pytest.approx(0.0)

        mix = _run(tmp_path, instance, review, llm, [AssetKey(["anchored_mix", "instruction_mix"])])
        assert mix.success
        data = load_bundle(tmp_path / "out" / "anchored_mix" / "instruction_mix" / PARTITION)[0]["data"]
        synthetic = set(data.loc[data[SOURCE] == "synthetic", ORIGIN_ID])
        assert rejected[0] in synthetic and kept[0] not in synthetic and kept[-1] in synthetic
        provenance = mix.asset_materializations_for_node("anchored_mix__instruction_mix")[0].metadata[
            "provenance"
        ]
        assert provenance.value["human_overrides"] == {"kept_by_people": 1, "rejected_by_people": 1}

        # the next build of the day: critic_validity reports the agreement beside the AUC
        critic_key = AssetKey("critic_filtered_instructions")
        rebuilt = _run(tmp_path, instance, review, llm, [critic_key])
        assert rebuilt.success
        validity = next(e for e in rebuilt.get_asset_check_evaluations() if e.check_name == "critic_validity")
        assert validity.passed and validity.metadata["human_accuracy"].value == 0.5
        assert "people's reviews: kappa 0.000, accuracy 0.5000 on 4 pairs" in validity.description
        strict = _run(
            tmp_path,
            instance,
            review,
            llm,
            [critic_key],
            {
                "critic_filtered_instructions_critic_validity": {
                    "config": {"min_human_kappa": 0.3, "min_human_reviews": 4}
                }
            },
        )
    validity = next(e for e in strict.get_asset_check_evaluations() if e.check_name == "critic_validity")
    assert not validity.passed and "agrees with people only at kappa" in validity.description
    assert TOKEN not in json.dumps([str(e) for e in collected.all_events])
