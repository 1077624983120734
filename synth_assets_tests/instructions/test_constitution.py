"""Constitution-guided revision: the versioned constitution, its prompts, and a critique and a
revision from the embedded model."""

import pytest

from synth_assets.errors import InputDataError
from synth_assets.instructions.constitution import (
    critique_messages,
    load_constitution,
    revision_messages,
)
from synth_assets.instructions.pipeline import constitutional_revision
from synth_assets.llm.client import LLMClient
from synth_assets.llm.local_backend import LocalBackend


def test_the_shipped_constitution_is_versioned_with_unique_ids():
    constitution = load_constitution()
    assert constitution.version == "1" and len(constitution.principles) >= 5
    assert len({p.id for p in constitution.principles}) == len(constitution.principles)
    assert constitution.principle("honest").text.startswith("The response states only")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("principles: [{id: a, text: b}]", "needs a 'version'"),
        ("version: 2\nprinciples: [{id: a, text: b}, {id: a, text: c}]", "duplicate principle ids \\['a'\\]"),
        ("version: 2\nprinciples: [{id: a, text: ''}]", "principle 1 needs a non-empty 'id' and 'text'"),
        ("version: [", "not valid YAML"),
    ],
)
def test_a_bad_constitution_is_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InputDataError, match=message):
        load_constitution(path)
    with pytest.raises(InputDataError, match="not found"):
        load_constitution(tmp_path / "missing.yaml")


def test_users_can_pass_their_own_and_the_prompts_carry_the_principle(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("version: 7\nprinciples:\n  - id: cite\n    text: The response names its sources.\n")
    mine = load_constitution(path)
    principle = mine.principle("cite")
    critique = critique_messages("Explain tides.", "The Moon does it.", principle)[0]["content"]
    assert "Principle: The response names its sources." in critique and "<<<RESPONSE" in critique
    revision = revision_messages("Explain tides.", "The Moon does it.", principle, "No source.", "ko")
    assert "Critique of the response: No source." in revision[0]["content"]
    assert "Write the revised response in Korean." in revision[0]["content"]


@pytest.mark.slow
def test_the_local_model_critiques_and_revises_with_lineage():
    client = LLMClient(LocalBackend())
    rows = [
        {
            "id": "p1",
            "instruction": "How do I keep basil fresh?",
            "response": "Put it in water.",
            "operator": None,
            "parent_id": None,
        },
        {
            "id": "p2",
            "instruction": "What does json.dumps do?",
            "response": "It turns a Python object into a JSON string.",
            "operator": None,
            "parent_id": None,
        },
    ]
    constitution = load_constitution()
    revised, usage = constitutional_revision(client, rows, constitution, seed=3)
    assert usage.requests_total == 4 and len(revised) == 2
    ids = {p.id for p in constitution.principles}
    for original, row in zip(rows, revised, strict=True):
        assert row["operator"] == "constitutional_revision" and row["parent_id"] == original["id"]
        assert row["principle_id"].removesuffix("@v1") in ids
        assert row["critique"] and row["response"] and row["response"] != original["response"]
        assert row["template_version"] == "constitution-v1" and row["backend"] == "local"
    # the principle is drawn per pair from the seed: the same seed draws the same ones
    again, _ = constitutional_revision(client, rows, constitution, seed=3)
    assert [r["principle_id"] for r in again] == [r["principle_id"] for r in revised]
