"""Human review, pure parts: the stratified sample, agreement (kappa against scikit-learn's),
decisions applied to the kept set, and the JSONL review inbox round trip."""

import json

import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from synth_assets.errors import InputDataError
from synth_assets.instructions.label_studio import decision_of, task_data
from synth_assets.instructions.review import (
    REQUEST_FIELDS,
    ReviewInbox,
    agreement,
    apply_decisions,
    latest_decisions,
    review_sample,
)
from synth_assets.instructions.rules import InstructionRules

DAY = "2026-11-20"


def _pairs(prefix: str, n: int, topics=("cooking", "finance", "travel")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(n)],
            "instruction": [f"{prefix} question {i}?" for i in range(n)],
            "response": [f"{prefix} answer {i}." for i in range(n)],
            "topic": [topics[i % len(topics)] for i in range(n)],
            "critic_score": [float(i % 5 + 1) for i in range(n)],
        }
    )


def test_the_sample_is_half_kept_half_rejected_and_spread_over_topics():
    sample = review_sample(_pairs("k", 30), _pairs("r", 12).assign(reason="judge_score 2"), 12, DAY, seed=0)
    assert list(sample.columns) == REQUEST_FIELDS and len(sample) == 12
    assert sample["critic_verdict"].value_counts().to_dict() == {"keep": 6, "reject": 6}
    for _, side in sample.groupby("critic_verdict"):
        assert side["topic"].value_counts().to_dict() == {"cooking": 2, "finance": 2, "travel": 2}
    assert set(sample["partition"]) == {DAY} and sample["id"].is_unique
    assert (sample.loc[sample["critic_verdict"] == "reject", "reason"] == "judge_score 2").all()


def test_a_short_side_is_filled_from_the_other_and_unreviewable_pairs_are_left_out():
    rejects = _pairs("r", 3)
    rejects.loc[0, "response"] = None  # nothing to review
    sample = review_sample(_pairs("k", 30), rejects, 10, DAY, seed=0)
    assert sample["critic_verdict"].value_counts().to_dict() == {"keep": 8, "reject": 2}
    assert (
        review_sample(_pairs("k", 3), pd.DataFrame(), 10, DAY, 0)["critic_verdict"].tolist() == ["keep"] * 3
    )
    assert review_sample(_pairs("k", 3), _pairs("r", 3), 0, DAY, 0).empty


def test_the_sample_is_seeded_by_seed_and_day():
    a = review_sample(_pairs("k", 30), _pairs("r", 30), 8, DAY, 0)
    assert a.equals(review_sample(_pairs("k", 30), _pairs("r", 30), 8, DAY, 0))
    assert not a.equals(review_sample(_pairs("k", 30), _pairs("r", 30), 8, "2026-11-21", 0))


def _reviews(critic, human):
    return pd.DataFrame(
        {"id": [f"p{i}" for i in range(len(critic))], "critic_verdict": critic, "decision": human}
    )


def test_agreement_is_cohens_kappa_and_accuracy():
    critic = ["keep", "keep", "reject", "reject", "keep", "reject", "keep", "keep"]
    human = ["keep", "reject", "reject", "keep", "keep", "reject", "keep", "reject"]
    found = agreement(_reviews(critic, human))
    assert found.n == 8 and found.accuracy == 5 / 8
    assert found.kappa == pytest.approx(cohen_kappa_score(critic, human))
    assert (found.critic_keep_human_reject, found.critic_reject_human_keep) == (2, 1)
    assert agreement(_reviews(["keep"] * 4, ["keep"] * 4)).kappa is None  # one label: undefined
    assert agreement(_reviews([], [])).n == 0


def test_people_outrank_the_critic_both_ways():
    kept, rejects = _pairs("k", 4), _pairs("r", 3).assign(reason="judge_score 2")
    reviews = pd.DataFrame(
        {
            "id": ["k1", "r2", "k0", "k0"],
            "critic_verdict": ["keep", "reject", "keep", "keep"],
            "decision": ["reject", "keep", "reject", "keep"],  # k0: the last decision counts
            "reviewer": ["ana", "ana", "ben", "ben"],
            "note": ["wrong", "fine", "", "changed my mind"],
        }
    )
    new_kept, new_rejects, overrides = apply_decisions(kept, rejects, reviews)
    assert sorted(new_kept["id"]) == ["k0", "k2", "k3", "r2"]
    assert sorted(new_rejects["id"]) == ["k1", "r0", "r1"]
    assert new_rejects.set_index("id").loc["k1", "reason"] == "human review: reject"
    assert new_kept.set_index("id").loc["k0", "human_decision"] == "keep"
    assert overrides.set_index("id")["decision"].to_dict() == {"k1": "reject", "r2": "keep"}
    assert len(latest_decisions(reviews)) == 3
    same = apply_decisions(kept, rejects, reviews.iloc[0:0])
    assert same[0]["id"].tolist() == kept["id"].tolist() and same[2].empty


def test_the_inbox_round_trip_keeps_decisions_and_names_bad_lines(tmp_path):
    inbox = ReviewInbox(tmp_path / "review_inbox")
    sample = review_sample(_pairs("k", 6), _pairs("r", 6), 4, DAY, 0)
    assert inbox.push(sample) == 4 and inbox.pending(DAY) == 4 and inbox.finished(DAY).empty
    path = inbox.path(DAY)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    lines[0] |= {"decision": "Reject", "reviewer": "ana", "note": "vague"}
    lines[1] |= {"decision": "keep"}
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    # pushing again (a rebuild, or a bigger sample) adds only new pairs and keeps the decisions
    assert inbox.push(review_sample(_pairs("k", 6), _pairs("r", 6), 6, DAY, 0)) == 2
    finished = inbox.finished(DAY)
    assert finished["decision"].tolist() == ["reject", "keep"] and finished.loc[0, "reviewer"] == "ana"
    assert finished["id"].tolist() == [lines[0]["id"], lines[1]["id"]] and inbox.pending(DAY) == 4
    lines[2]["decision"] = "maybe"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(InputDataError, match=rf"{DAY}.jsonl: review of {lines[2]['id']}: decision must be"):
        inbox.finished(DAY)
    path.write_text("{not json\n")
    with pytest.raises(InputDataError, match=":1: not JSON"):
        inbox.finished(DAY)


def test_label_studio_tasks_show_the_critic_and_read_the_latest_decision():
    request = review_sample(_pairs("k", 2), _pairs("r", 2), 2, DAY, 0).to_dict("records")[0]
    data = task_data(request)
    assert data["key"] == f"{DAY}/{request['id']}" and data["critic_summary"].startswith("keep (score ")

    class Task:
        annotations = [
            {
                "was_cancelled": False,
                "updated_at": "2026-11-21T10:00",
                "completed_by": 1,
                "result": [{"from_name": "decision", "type": "choices", "value": {"choices": ["keep"]}}],
            },
            {
                "was_cancelled": False,
                "updated_at": "2026-11-21T11:00",
                "completed_by": 2,
                "result": [
                    {"from_name": "decision", "type": "choices", "value": {"choices": ["reject"]}},
                    {"from_name": "note", "type": "textarea", "value": {"text": ["off topic"]}},
                ],
            },
            {
                "was_cancelled": True,
                "updated_at": "2026-11-21T12:00",
                "result": [{"from_name": "decision", "type": "choices", "value": {"choices": ["keep"]}}],
            },
        ]

    assert decision_of(Task()) == ("reject", "off topic", "2")
    Task.annotations = []
    assert decision_of(Task()) == (None, "", "")


def test_critic_validity_reports_human_agreement_and_judges_it_when_asked():
    from synth_assets.instructions.calibration import calibration_set

    calibration = calibration_set().assign(critic="ifd")
    calibration["score"] = calibration["label"].astype(float)
    rules = InstructionRules()
    human = {"n": 12, "kappa": 0.2, "accuracy": 0.6}
    verdict = rules.critic_validity(calibration, "local", human)
    assert verdict.passed and "people's reviews: kappa 0.2000, accuracy 0.6000 on 12 pairs" in verdict.summary
    assert verdict.values["human_kappa"] == 0.2
    strict = InstructionRules(min_human_kappa=0.4)
    failed = strict.critic_validity(calibration, "local", human)
    assert not failed.passed and "kappa 0.2000 < 0.4 on 12 reviewed pairs" in failed.summary
    few = strict.critic_validity(calibration, "local", {"n": 3, "kappa": 0.0, "accuracy": 0.3})
    assert few.passed and "too few to judge" in few.summary
