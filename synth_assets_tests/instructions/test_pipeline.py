"""The lane's stages over a scripted backend: filtering, lineage, elimination, judging."""

import itertools

import pytest

from synth_assets.instructions import critic, judging, pipeline
from synth_assets.instructions.datasets import load_seed_topics
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.client import LLMClient
from synth_assets.llm.types import LLMError

from ..fakes import ScriptedBackend, last_user_text

SEEDS = load_seed_topics()
TOPICS = ["budget cooking", "python testing"]


def _client(responder, tmp_path=None):
    cache = ResponseCache(tmp_path / "cache.sqlite") if tmp_path else None
    return LLMClient(ScriptedBackend(responder), cache=cache)


def _generator():
    counter = itertools.count()
    phrases = [
        "Describe how to {} without spending much money on ingredients.",
        "Write a short checklist for {} before a long weekend.",
        "Compare two common approaches to {} and recommend one.",
        "Explain the main mistakes beginners make with {} and how to avoid them.",
    ]

    def respond(request):
        n = next(counter)
        topic = "budget cooking" if "budget cooking" in last_user_text(request) else "python testing"
        return f"{n + 1}. " + phrases[n % len(phrases)].format(topic) + "\n2. ignored second line"

    return respond


def test_generate_raw_keeps_filters_and_records_provenance():
    client = _client(_generator())
    out = pipeline.generate_raw(
        client,
        TOPICS,
        SEEDS.personas,
        SEEDS.seed_tasks.to_dict("records"),
        "self_instruct",
        per_topic=3,
        seed=20261120,
    )
    assert len(out.kept) + len(out.rejects) == 6
    assert set(out.kept.columns) >= {
        "id",
        "topic",
        "persona",
        "technique",
        "backend",
        "model",
        "template_version",
        "seed",
        "parent_id",
        "created_at",
    }
    assert out.kept["id"].is_unique and (out.kept["backend"] == "scripted").all()
    assert not out.kept["instruction"].str.contains("ignored second line").any()
    # two rounds: the second round's prompts show instructions kept in the first
    second_round = client.backend.calls[3:]
    kept_first = set(out.kept["instruction"])
    assert any(any(k in last_user_text(r) for k in kept_first) for r in second_round)
    assert out.usage.requests_total == 6 and out.usage.calls_new == 6


def test_rejects_keep_their_reasons():
    answers = iter(
        [
            "Describe a picture of a cat in detail.",
            "I'm here to assist you, and I'm a language learning app.",
            "Suggest three cheap dinners that use rice as the main ingredient.",
            "Explain how to store cooked rice safely in the fridge.",
        ]
    )
    out = pipeline.generate_raw(
        _client(lambda r: next(answers)),
        TOPICS,
        [],
        SEEDS.seed_tasks.to_dict("records"),
        "topic_prompt",
        per_topic=2,
        seed=1,
    )
    reasons = sorted(r.split(" ")[0] for r in out.rejects["reason"])
    assert reasons == ["blacklisted_keyword", "near_duplicate", "not_a_task"]
    assert out.kept["instruction"].tolist() == ["Explain how to store cooked rice safely in the fridge."]


def test_magpie_refused_without_raw_completion():
    backend = ScriptedBackend(lambda r: "x")
    backend.supports_raw_completion = False
    with pytest.raises(LLMError, match="magpie needs raw completion"):
        pipeline.generate_raw(LLMClient(backend), TOPICS, [], [], "magpie", 1, seed=0)


def test_magpie_sends_only_the_pre_query_prefix():
    backend = ScriptedBackend(lambda r: "How do I keep basil alive on a windowsill in winter?")
    backend.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    )
    out = pipeline.generate_raw(LLMClient(backend), ["gardening"], [], [], "magpie", 1, seed=0)
    request = backend.calls[0]
    assert request.kind == "completion" and request.stop == ("<|im_end|>",)
    assert request.prompt.endswith("<|im_start|>user\n") and "gardening" in request.prompt
    assert len(out.kept) == 1


def _evolver(request):
    text = last_user_text(request)
    if "#The Given Prompt#" in text or "#Given Prompt#" in text:
        parent = text.split("Prompt#:\n", 1)[1].split("\n\n", 1)[0]
        if "rice" in parent:
            return "#Rewritten Prompt#: " + parent  # copies the marker: eliminated
        extra = "for a family of four" if "family" not in parent else "within a vegetarian diet"
        return parent.rstrip(".") + f", with a worked example {extra}."
    if "sorry" in text.lower() or "refuse" in text:
        return "Sorry, I can't."
    return "Here is a thorough answer with several concrete and useful steps. " * 3


def test_evolve_lineage_and_elimination():
    import pandas as pd

    def raw_row(row_id, instruction):
        row = dict.fromkeys(pipeline.ROW_COLUMNS)
        return {
            **row,
            "id": row_id,
            "topic": "t",
            "technique": "topic_prompt",
            "instruction": instruction,
            "input": "",
            "round": 0,
            "backend": "scripted",
            "model": "m",
            "template_version": "v",
            "seed": 1,
            "created_at": "x",
        }

    raw = pd.DataFrame(
        [
            raw_row("a", "Explain how to plan weekly meals on a budget."),
            raw_row("b", "Suggest cheap meals based on rice and lentils."),
        ]
    )
    out = pipeline.evolve(_client(_evolver), raw, rounds=2, operators=["add_constraints"], seed=3)
    # 'b' copies the marker in round 1 and, eliminated, is not evolved again
    assert out.rejects["reason"].tolist() == ["copies_prompt_markers (#rewritten prompt#)"]
    rounds = sorted(out.kept["round"].tolist())
    assert rounds == [0, 0, 1, 2]
    round1 = out.kept[out.kept["round"] == 1].iloc[0]
    assert round1["parent_id"] == "a" and round1["operator"] == "add_constraints"
    round2 = out.kept[out.kept["round"] == 2].iloc[0]
    assert round2["parent_id"] == round1["id"]
    assert out.kept["response"].notna().all()


def test_judge_parses_retries_once_then_rejects_unparseable(tmp_path):
    import pandas as pd

    pairs = pd.DataFrame(
        [
            {
                "id": str(i),
                "instruction": f"Explain instruction number {i} about cooking.",
                "response": "Cook the rice in twice its volume of water for twenty minutes, then rest it.",
            }
            for i in range(4)
        ]
    )
    pairs = pairs.reindex(columns=pipeline.ROW_COLUMNS)
    replies = {
        ("0", 0): '{"score": 5, "reason": "good"}',
        ("1", 0): '```json\n{"score": 2}\n```',
        ("2", 0): "hmm",
        ("2", 1): "4",
        ("3", 0): "no idea",
        ("3", 1): "still no idea",
    }

    def respond(request):
        number = last_user_text(request).split("instruction number ")[1].split(" ")[0]
        return replies[(number, request.sample_index)]

    out = judging.judge(_client(respond, tmp_path), pairs, "llm_judge", threshold=4)
    assert sorted(out.kept["id"]) == ["0", "2"]
    reasons = dict(zip(out.rejects["id"], out.rejects["reason"], strict=True))
    assert reasons["3"] == "unparseable" and reasons["1"].startswith("judge_score_below_threshold")
    assert out.usage.requests_total == 6  # 4 first attempts + 2 retries
    assert out.parse_failures == 3  # "hmm", "no idea", "still no idea"


def test_judge_requests_one_constrained_verdict():
    import json

    import pandas as pd

    backend = ScriptedBackend(lambda r: '{"score": 4, "reason": "fine"}')
    pairs = pd.DataFrame(
        [{"id": "x", "instruction": "Name a prime number between 5 and 10.", "response": "Seven is prime."}]
    )
    out = judging.judge(LLMClient(backend), pairs.reindex(columns=pipeline.ROW_COLUMNS), "llm_judge")
    request = backend.calls[0]
    assert request.kind == "chat" and request.json_schema == critic.VERDICT_SCHEMA
    assert json.loads(request.json_schema)["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]
    assert out.kept["judge_score"].tolist() == [4] and out.kept["judge_reason"].tolist() == ["fine"]


def test_validators_run_before_the_critic_and_keep_their_reason():
    import pandas as pd

    backend = ScriptedBackend(lambda r: '{"score": 5, "reason": "fine"}')
    pairs = pd.DataFrame(
        [
            {
                "id": "ok",
                "instruction": "What is the boiling point of water at sea level?",
                "response": "Water boils at 100 degrees Celsius (212 Fahrenheit) at sea level.",
            },
            {
                "id": "refusal",
                "instruction": "How do I bake bread at home?",
                "response": "I'm sorry, but I can't help with that request.",
            },
            {
                "id": "cut",
                "instruction": "Describe how yeast makes bread rise.",
                "response": "Yeast eats sugars and releases carbon dioxide, which",
                "finish_reason": "length",
            },
        ]
    ).reindex(columns=pipeline.ROW_COLUMNS)
    out = judging.judge(LLMClient(backend), pairs, "llm_judge")
    assert out.kept["id"].tolist() == ["ok"]
    reasons = dict(zip(out.rejects["id"], out.rejects["reason"], strict=True))
    assert reasons["refusal"].startswith("validator:refusal") and reasons["cut"].startswith(
        "validator:cut_off"
    )
    assert len(backend.calls) == 1  # only the valid pair reached the judge


def test_answer_augmentation_kept_only_where_the_critic_prefers_it():
    """Human answers get a model rewrite; the critic keeps the rewrite only where it scores it
    above the original, and then the original goes (replaced_by_augmented_answer)."""
    import pandas as pd

    def rewrite(request):
        text = last_user_text(request)
        if "Current answer:" in text:
            return "A clearer answer: " + text.split("Current answer:\n", 1)[1].split("\n\n", 1)[0]
        return '{"score": 3, "reason": "ok"}'

    raw = pd.DataFrame(
        [
            {
                **dict.fromkeys(pipeline.ROW_COLUMNS),
                "id": name,
                "technique": "backtranslation",
                "instruction": f"Explain {name} in plain words.",
                "response": f"{name.capitalize()} is explained here in several plain sentences.",
                "response_origin": "human",
                "round": 0,
            }
            for name in ("tides", "yeast")
        ]
    )
    out = pipeline.evolve(
        _client(rewrite), raw, rounds=0, operators=["breadth"], seed=1, answer_augmentation=True
    )
    augmented = out.kept[out.kept["operator"] == "answer_augmentation"]
    assert sorted(augmented["parent_id"]) == ["tides", "yeast"]
    assert (augmented["response_origin"] == "model").all()
    assert augmented["response"].str.startswith("A clearer answer:").all()
    # a critic that prefers the rewrite of 'tides' and the original of 'yeast'
    kept = [
        {**row, "critic_score": {"tides": 0.5, "yeast": 0.9}.get(row["id"], 0.0)}
        for row in out.kept.to_dict("records")
    ]
    for row in kept:
        if row["operator"] == "answer_augmentation":
            row["critic_score"] = 0.8
    rejects: list[dict] = []
    judging.resolve_augmented(kept, rejects)
    assert sorted(row["id"] for row in kept) == sorted(
        ["yeast", augmented.loc[augmented["parent_id"] == "tides", "id"].item()]
    )
    reasons = {row["id"]: row["reason"] for row in rejects}
    assert reasons["tides"].startswith("replaced_by_augmented_answer")
    assert next(r for i, r in reasons.items() if i != "tides").startswith("critic_prefers_original")
