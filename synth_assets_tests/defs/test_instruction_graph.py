"""The instruction lane in-process: Anthropic backend (against the loopback fake API) and
the embedded local model, one daily partition each; back-translation from a folder corpus; a
judge that cannot judge is stopped by critic_validity."""

import hashlib
import json

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, build_op_context, materialize

from synth_assets.defs.llm_resource import LLMResource
from synth_assets.defs.partitions import partition_seed
from synth_assets.instructions.constitution import load_constitution
from synth_assets.storage import load_bundle
from synth_assets_tests.defs.helpers import (
    INSTRUCTION_CHECK_NAMES,
    instruction_assets,
    instruction_checks,
    output_resources,
    recent_day,
)
from synth_assets_tests.fakes import _corrupted_calibration_pairs, _judged_pair
from synth_assets_tests.fakes import instruction_responder as fake_llm
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer

PARTITION = recent_day(3)
SECRET = "sk-test-secret-value-9d2e"


def _materialize(tmp_path, llm, instance, run_config=None):
    return materialize(
        [*instruction_assets, *instruction_checks],
        partition_key=PARTITION,
        instance=instance,
        raise_on_error=False,
        resources={**output_resources(tmp_path), "llm": llm},
        run_config=run_config or {"ops": {"raw_instructions": {"config": {"n_chunks": 16}}}},
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
        assert critic["critic"] == "llm_judge" and critic["n_calibration_pairs"] == 115
        validity = next(e for e in result.get_asset_check_evaluations() if e.check_name == "critic_validity")
        assert validity.passed and validity.metadata["auc_llm_judge"].value > 0.9
        assert (
            sum(
                _metadata(result, a)["llm_calls_new"]
                for a in ("raw_instructions", "evolved_instructions", "critic_filtered_instructions")
            )
            == sent
        )
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == dict.fromkeys(INSTRUCTION_CHECK_NAMES, True)
        # structured output: every generation and verdict went out as a forced tool
        assert all(body.get("tool_choice", {}).get("type") == "tool" for body in _llm_bodies(server))

        again = _materialize(tmp_path, llm, instance)
        assert again.success and len(server.message_requests()) == sent  # zero new calls
        for asset in ("raw_instructions", "evolved_instructions", "critic_filtered_instructions"):
            assert _metadata(again, asset)["llm_calls_new"] == 0

    frames, _ = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    kept = frames["kept"]
    assert {"parent_id", "operator", "round", "judge_score", "seed", "backend", "model"} <= set(kept.columns)
    assert (kept["technique"] == "backtranslation").all() and (kept["response_origin"] == "human").all()
    assert "calibration" in frames and set(frames["calibration"]["critic"]) == {"llm_judge"}
    assert (kept["seed"] == partition_seed(PARTITION)).all() and (kept["judge_score"] >= 4).all()
    rejects, _ = load_bundle(tmp_path / "out" / "raw_instructions" / PARTITION)
    assert "reason" in rejects["rejects"].columns
    # the key is nowhere: not in outputs, cache, or the instance's event log
    blobs = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert not any(SECRET.encode() in blob for blob in blobs)
    logs = " ".join(str(r.user_message) + str(r.dagster_event) for r in instance.all_logs(result.run_id))
    assert SECRET not in logs


def _fake_api_llm(server, tmp_path) -> LLMResource:
    """The llm resource on the anthropic backend against the loopback fake API."""
    return LLMResource(backend="anthropic", base_url=server.base_url, cache_path=str(tmp_path / "c.sqlite"))


def _llm_bodies(server):
    """Recorded generation and judge requests (answers are free text and carry no schema)."""
    return [
        body
        for body in server.message_requests()
        if "Rate the RESPONSE" in str(body["messages"]) or "Write the request" in str(body["messages"])
    ]


def test_backtranslation_from_a_folder_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    texts = {
        "sourdough.md": "# Sourdough\n\nA sourdough starter is a mixture of flour and water that wild yeast "
        "and lactic acid bacteria have colonised. Feed it equal weights of flour and water once a day "
        "at room temperature, or once a week if it lives in the fridge, and it will keep for years.",
        "tides.txt": "Tides are caused mainly by the gravitational pull of the Moon on the oceans. The "
        "water bulges on the side facing the Moon and on the opposite side, so most coasts see two "
        "high tides and two low tides every lunar day of about twenty-four hours and fifty minutes.",
        "notes/compost.md": "Compost needs a balance of green material, such as grass clippings and "
        "vegetable scraps, and brown material, such as dry leaves and cardboard. Turn the pile every "
        "week or two so that air reaches the middle, and keep it as damp as a wrung-out sponge.",
    }
    for name, text in texts.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    with FakeAnthropicServer(responder=fake_llm) as server:
        llm = _fake_api_llm(server, tmp_path)
        result = _materialize(
            tmp_path,
            llm,
            DagsterInstance.ephemeral(),
            {
                "ops": {
                    "seed_corpus": {"config": {"kind": "folder", "path": str(corpus), "license": "CC0"}},
                    "raw_instructions": {"config": {"n_chunks": 10}},
                }
            },
        )
    assert _metadata(result, "seed_corpus")["n_chunks"] == 3
    assert _metadata(result, "raw_instructions")["llm_requests_total"] == 3
    frames, _ = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    pairs = pd.concat([frames["kept"], frames["rejects"]])
    # every pair's response is one of the documents' text, verbatim, and names its file
    assert len(pairs) == 3
    for row in pairs.itertuples():
        name = row.source_doc.split(":")[0].removeprefix(str(corpus) + "/")
        assert name in texts and row.response in texts[name].replace("# Sourdough\n\n", "")
        assert row.technique == "backtranslation" and row.corpus_license == "CC0"
        assert row.instruction.startswith("Explain")


WORDS = (
    "river stone garden window bread letter music harbour winter engine candle market bridge forest "
    "signal ladder mirror orchard pocket thunder violin wagon yellow basket copper desert feather "
    "glacier helmet island jacket kettle lantern meadow needle ocean pepper quarry ribbon saddle "
    "tunnel velvet walnut anchor blanket cactus dolphin emerald falcon granite hammock"
).split()


def _three_topic_corpus(folder, per_doc: int = 10):
    """Three documents of ``per_doc`` distinct prose paragraphs each: each is a topic."""
    rng = __import__("random").Random(7)
    for name in ("tides.txt", "sourdough.txt", "compost.txt"):
        paragraphs = []
        for i in range(per_doc):
            sentences = [" ".join(rng.sample(WORDS, 9)).capitalize() + "." for _ in range(4)]
            paragraphs.append(f"Note {i} on {name.split('.')[0]}: " + " ".join(sentences))
        folder.mkdir(exist_ok=True)
        (folder / name).write_text("\n\n".join(paragraphs))


def test_topic_balance_warns_when_the_critic_starves_a_topic(tmp_path, monkeypatch):
    """A judge that never keeps pairs about tides: topic_balance fails with WARN severity (the
    lane still succeeds) and names the topic; the capable judge keeps every topic near its share."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    corpus = tmp_path / "corpus"
    _three_topic_corpus(corpus)

    def dislikes_tides(body):
        text = body["messages"][-1]["content"]
        if "Rate the RESPONSE" in text and "Note" in text and "on tides" in text:
            return '{"score": 1, "reason": "off topic"}'
        return fake_llm(body)

    config = {
        "ops": {
            "seed_corpus": {"config": {"kind": "folder", "path": str(corpus)}},
            "raw_instructions": {"config": {"n_chunks": 30}},
        }
    }
    for responder, starved in ((dislikes_tides, True), (fake_llm, False)):
        with FakeAnthropicServer(responder=responder) as server:
            result = _materialize(
                tmp_path / responder.__name__,
                _fake_api_llm(server, tmp_path / responder.__name__),
                DagsterInstance.ephemeral(),
                config,
            )
        assert result.success  # a WARN failure stops nothing
        balance = next(e for e in result.get_asset_check_evaluations() if e.check_name == "topic_balance")
        assert balance.severity.value == "WARN"
        measured = balance.metadata["measurement"].value
        assert measured["settings"]["reference"] == "each topic's share of the sampled candidates"
        groups = {g["group"].rsplit("/", 1)[-1]: g for g in measured["details"]["topic"]["groups"]}
        assert set(groups) == {"tides.txt", "sourdough.txt", "compost.txt"}
        assert all(g["judged"] for g in groups.values())
        if starved:
            assert (
                not balance.passed
                and groups["tides.txt"]["n"] == 0
                and "tides.txt' has 0 kept pairs" in balance.description
            )
        else:
            assert balance.passed and min(g["ratio"] for g in groups.values()) > 0.5


KOREAN_DOCS = {
    "kimchi.txt": (
        "김치찌개는 잘 익은 김치와 돼지고기를 함께 끓인 한국의 대표적인 찌개입니다. 먼저 냄비에 "
        "돼지고기와 김치를 넣고 충분히 볶은 다음 물이나 멸치 육수를 붓습니다. 고춧가루와 다진 마늘을 "
        "넣고 이십 분 정도 끓이다가 두부와 대파를 넣으면 완성됩니다. 간은 김치 국물로 맞추는 것이 "
        "좋으며, 김치가 너무 시면 설탕을 조금 넣어 맛을 부드럽게 할 수 있습니다."
    ),
    "hanok.txt": (
        "한옥은 나무와 흙, 돌 같은 자연 재료로 지은 한국의 전통 가옥입니다. 추운 겨울을 위해 바닥을 "
        "데우는 온돌이 있고, 더운 여름을 위해 바람이 잘 통하는 대청마루가 있습니다. 지붕의 곡선은 "
        "처마 밑으로 들어오는 햇빛의 양을 계절에 따라 조절해 줍니다. 요즘에는 한옥의 장점을 살린 "
        "현대식 주택도 많이 지어지고 있습니다."
    ),
    "subway.txt": (
        "서울 지하철은 스무 개가 넘는 노선이 도시 전체와 수도권을 연결하는 대중교통입니다. 교통카드를 "
        "사용하면 버스와 지하철 사이를 갈아탈 때 요금이 할인됩니다. 출퇴근 시간에는 열차가 이삼 분 "
        "간격으로 다니지만 매우 붐비기 때문에 여유 있게 출발하는 것이 좋습니다. 대부분의 역에는 "
        "엘리베이터와 안내판이 있어 처음 방문한 사람도 쉽게 길을 찾을 수 있습니다."
    ),
}
ENGLISH_REQUEST = (
    "Explain in plain English how the underground trains of a big city connect districts, how fares "
    "and transfers work, and when the trains are most crowded during the day."
)


def korean_responder(body):
    """The fake API when the lane asks for Korean: back-translated requests in Korean (English
    for the subway text, which the language validator must reject) and a judge that keeps the
    Korean pairs; the English calibration set is judged as usual."""
    text = body["messages"][-1]["content"]
    system = " ".join(m.get("text", "") for m in body.get("system", []) if isinstance(m, dict)) + str(
        body.get("system", "")
    )
    if "Write the request this answers." in text and "Korean" in system:
        answer = text.split("\n", 1)[1].rsplit("\n\nWrite the request", 1)[0]
        if "지하철" in answer:
            return json.dumps({"instruction": ENGLISH_REQUEST})
        return json.dumps({"instruction": "다음 내용을 쉽게 설명해 주세요: " + " ".join(answer.split()[:6])})
    if "Rate the RESPONSE" in text and "written in Korean" in text:
        return '{"score": 5, "reason": "a clear Korean pair"}'
    return fake_llm(body)


def test_a_korean_lane_asks_for_korean_and_rejects_pairs_in_another_language(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in KOREAN_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    config = {
        "ops": {
            # Hangul packs a sentence into fewer characters than English: a lower chunk floor
            "seed_corpus": {"config": {"kind": "folder", "path": str(corpus), "min_chars": 120}},
            "raw_instructions": {"config": {"n_chunks": 10, "language": "ko"}},
        }
    }
    with FakeAnthropicServer(responder=korean_responder) as server:
        result = _materialize(tmp_path, _fake_api_llm(server, tmp_path), DagsterInstance.ephemeral(), config)
        bodies = server.message_requests()
    assert result.success
    assert _metadata(result, "raw_instructions")["language"] == "ko"
    backtranslation = [b for b in bodies if "Write the request this answers." in str(b["messages"])]
    assert len(backtranslation) == 3 and all(
        "Write the request in Korean." in str(b) for b in backtranslation
    )
    frames, meta = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    kept, rejects = frames["kept"], frames["rejects"]
    assert meta["fields"]["meta"]["language"] == "ko"
    assert len(kept) == 2 and all(t.startswith("다음 내용을") for t in kept["instruction"])
    [english] = rejects.to_dict("records")
    assert english["reason"] == "validator:instruction_language_mismatch (expected ko, no Hangul)"
    # the judge was told the language of the pairs (not of the English calibration set)
    judged = [b for b in bodies if "Rate the RESPONSE" in str(b["messages"])]
    assert sum("written in Korean" in str(b) for b in judged) == 2


def revising_responder(body):
    """The fake API for constitution-guided revision: a critique, a revision that says so, and
    a judge that gives originals 4 and revisions 5 or 4 (by a hash of the pair): a tie keeps the
    original."""
    text = body["messages"][-1]["content"]
    if text.startswith("Principle:") and "Critique the RESPONSE" in text:
        return "It does not say how long each step takes."
    if text.startswith("Principle:") and "Rewrite the RESPONSE" in text:
        return "Revised answer: gather what you need, then do each step in turn and check it. " * 2
    if "Rate the RESPONSE" in text and "<<<RESPONSE" in text:
        if _judged_pair(text) in _corrupted_calibration_pairs():
            return '{"score": 1, "reason": "does not answer"}'
        if "Revised answer:" in text:
            score = 5 if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2 else 4
            return json.dumps({"score": score, "reason": "revision"})
        return '{"score": 4, "reason": "original"}'
    return fake_llm(body)


def test_constitutional_revision_keeps_a_revision_only_where_the_critic_prefers_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    config = {
        "ops": {
            "raw_instructions": {"config": {"n_chunks": 12}},
            "evolved_instructions": {"config": {"constitutional_revision": True}},
        }
    }
    with FakeAnthropicServer(responder=revising_responder) as server:
        result = _materialize(tmp_path, _fake_api_llm(server, tmp_path), DagsterInstance.ephemeral(), config)
        bodies = [b["messages"][-1]["content"] for b in server.message_requests()]
    assert result.success
    evolved = _metadata(result, "evolved_instructions")
    assert evolved["constitution"].endswith("constitution.yaml (version 1)")
    critiques = [b for b in bodies if b.startswith("Principle:") and "Critique the RESPONSE" in b]
    assert evolved["n_constitutional_revisions"] == len(critiques) > 0
    principles = {p.id: p.text for p in load_constitution().principles}
    frames, _ = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    kept, rejects = frames["kept"], frames["rejects"]
    revisions = pd.concat([kept, rejects]).query("operator == 'constitutional_revision'")
    assert len(revisions) == len(critiques)
    for row in revisions.itertuples():
        principle = row.principle_id.removesuffix("@v1")
        assert principle in principles and row.critique == "It does not say how long each step takes."
        assert any(principles[principle] in b and row.response[:40] not in b for b in critiques)
    won = kept.query("operator == 'constitutional_revision'")
    lost = rejects.query("operator == 'constitutional_revision'")
    assert len(won) and len(lost)  # the critic decides, pair by pair
    assert (won["judge_score"] == 5).all() and lost["reason"].str.startswith("critic_prefers_original").all()
    replaced = rejects[rejects["reason"].str.startswith("replaced_by_constitutional_revision")]
    assert set(replaced["id"]) == set(won["parent_id"])


def test_critic_validity_stops_a_judge_that_cannot_judge(tmp_path, monkeypatch):
    """A judge that gives every pair the same score has calibration AUC 0.5: the blocking check
    fails, names the AUC and says what to switch to, and the gate keeps the data out."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)

    def constant_judge(body):
        if "Rate the RESPONSE" in body["messages"][-1]["content"]:
            return '{"score": 4, "reason": "looks fine"}'
        return fake_llm(body)

    with FakeAnthropicServer(responder=constant_judge) as server:
        llm = _fake_api_llm(server, tmp_path)
        result = _materialize(tmp_path, llm, DagsterInstance.ephemeral())
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == "critic_validity")
    assert not evaluation.passed
    assert evaluation.metadata["auc_llm_judge"].value == pytest.approx(0.5)
    assert "llm_judge AUC 0.5000 < 0.8" in evaluation.description
    assert "larger judge model" in evaluation.description


def test_magpie_refused_on_anthropic(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    with FakeAnthropicServer(responder=fake_llm) as server:
        llm = _fake_api_llm(server, tmp_path)
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
    """The embedded 135M model with the defaults' technique and critic, on a few chunks: every
    call grammar-constrained or scored, the IFD critic calibrated and valid."""
    llm = LLMResource(backend="local", cache_path=str(tmp_path / "cache.sqlite"))
    result = _materialize(
        tmp_path,
        llm,
        DagsterInstance.ephemeral(),
        {"ops": {"raw_instructions": {"config": {"n_chunks": 6}}}},
    )
    assert result.success
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {
        "seed_corpus",
        "seed_topics",
        "raw_instructions",
        "evolved_instructions",
        "critic_filtered_instructions",
        "review_requests",
        "human_reviews",
    }
    raw = _metadata(result, "raw_instructions")
    assert raw["backend"] == "local" and raw["model"].startswith("SmolLM2") and raw["llm_calls_new"] == 6
    assert raw["estimated_cost_usd"] == 0.0 and raw["technique"] == "backtranslation"
    critic = _metadata(result, "critic_filtered_instructions")
    assert critic["critic"] == "ifd" and critic["n_calibration_pairs"] == 115
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert (
        checks["critic_validity"].passed is True
        and checks["critic_validity"].metadata["auc_ifd"].value >= 0.8
    )
    frames, _ = load_bundle(tmp_path / "out" / "critic_filtered_instructions" / PARTITION)
    assert (frames["kept"]["ifd"] < 1).all() and frames["kept"]["ifd"].notna().all()


def test_critic_validity_tells_a_local_judge_to_switch_to_ifd():
    """The check alone, on stored calibration scores: a local judge that scores every pair 1
    fails with advice naming the ifd critic; an IFD critic that separates the set passes."""
    from synth_assets.defs.instructions.checks import CriticValidityConfig, critic_validity
    from synth_assets.instructions.calibration import calibration_set
    from synth_assets.instructions.datasets import InstructionSet

    kept = pd.DataFrame({"instruction": ["x"], "backend": ["local"]})
    judged = calibration_set().assign(critic="llm_judge", score=1.0)
    # no human reviews in this instance: the verdict is the calibration's alone
    context = build_op_context(instance=DagsterInstance.ephemeral(), partition_key=PARTITION)
    result = critic_validity(
        context, CriticValidityConfig(), InstructionSet(kept, kept.iloc[:0], calibration=judged)
    )
    assert not result.passed and result.metadata["auc_llm_judge"].value == 0.5
    assert "a small local model cannot judge 1-5: use critic 'ifd'" in result.description
    good = calibration_set()
    scored = good.assign(critic="ifd", score=good["label"] + 0.1 * (good["corruption"] == "echo"))
    result = critic_validity(
        context, CriticValidityConfig(), InstructionSet(kept, kept.iloc[:0], calibration=scored)
    )
    assert result.passed and result.description == "calibration AUC ifd 1.000 >= 0.8 on 115 pairs"
    uncalibrated = critic_validity(context, CriticValidityConfig(), InstructionSet(kept, kept.iloc[:0]))
    assert not uncalibrated.passed and "not calibrated" in uncalibrated.description
