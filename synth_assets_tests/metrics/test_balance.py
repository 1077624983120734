"""Topic and class balance: shares against fair shares, judged only where enough items were
expected; the instruction and image rules built on it."""

import numpy as np
import pandas as pd
import pytest

from synth_assets.images.evaluation import per_class_results
from synth_assets.images.rules import ImageRules
from synth_assets.instructions.rules import InstructionRules, expected_topic_shares
from synth_assets.metrics.balance import balance_report, normalised_entropy, uniform_shares
from synth_assets_tests.test_verdicts_and_rules import _evaluation

TOPICS = ["cooking", "finance", "gardening", "python"]


def test_an_even_set_is_balanced_and_a_starved_topic_is_under():
    even = balance_report(TOPICS * 10, uniform_shares(TOPICS))
    assert even.under == [] and even.entropy == pytest.approx(1.0) and even.min_max_ratio == 1.0
    assert even.min_ratio == pytest.approx(1.0) and even.n == 40 and even.n_judged == 4
    starved = balance_report(["cooking", "finance", "gardening"] * 10 + ["python"], uniform_shares(TOPICS))
    assert starved.under == ["python"]
    row = starved.groups.set_index("group").loc["python"]
    assert row["n"] == 1 and row["share"] == pytest.approx(1 / 31) and row["ratio"] == pytest.approx(4 / 31)
    assert starved.entropy < 0.9 and starved.min_max_ratio == pytest.approx(0.1)
    # exactly half the fair share passes; just below it does not
    half = balance_report(["a"] * 30 + ["b"] * 10, {"a": 0.5, "b": 0.5}, min_ratio=0.5)
    assert half.under == []
    assert balance_report(["a"] * 31 + ["b"] * 9, {"a": 0.5, "b": 0.5}).under == ["b"]


def test_small_topics_are_reported_but_not_judged():
    report = balance_report(["a", "b", "c"], uniform_shares(["a", "b", "c", "d", "e"]), min_expected=3)
    assert report.n_judged == 0 and report.under == []
    assert report.groups.set_index("group").loc["d", "n"] == 0 and report.min_max_ratio == 0.0
    assert report.min_ratio == 0.0  # the headline still shows the worst category
    # values outside the expected categories, and missing values, are counted apart
    other = balance_report(["a", "a", "z", None, float("nan")], {"a": 1.0})
    assert other.n == 2 and other.n_other == 1
    with pytest.raises(ValueError, match="at least one expected category"):
        balance_report(["a"], {})
    with pytest.raises(ValueError, match="non-negative"):
        balance_report(["a"], {"a": -1.0})


def test_normalised_entropy():
    assert normalised_entropy([0.25] * 4) == pytest.approx(1.0)
    assert normalised_entropy([1.0, 0.0, 0.0]) == 0.0
    assert 0 < normalised_entropy([0.7, 0.2, 0.1]) < 1
    assert normalised_entropy([1.0]) == 1.0


def test_fair_share_is_even_for_planned_topics_and_the_sample_for_backtranslation():
    candidates = pd.DataFrame({"topic": ["a", "a", "a", "b"]})
    even, reference = expected_topic_shares(candidates, "self_instruct")
    assert even == {"a": 0.5, "b": 0.5} and "2 configured topics" in reference
    sampled, reference = expected_topic_shares(candidates, "backtranslation")
    assert sampled == {"a": 0.75, "b": 0.25} and "sampled candidates" in reference
    assert expected_topic_shares(pd.DataFrame({"x": [1]}), "magpie")[0] == {}


def test_topic_balance_warns_when_the_critic_starves_a_topic():
    rules = InstructionRules()
    personas = ["student", "engineer"]
    kept = ["cooking", "finance", "gardening"] * 8 + ["python"]
    verdict = rules.topic_balance(
        balance_report(kept, uniform_shares(TOPICS)),
        balance_report(personas * 12 + ["student"], uniform_shares(personas)),
        "even over the 4 configured topics",
    )
    assert not verdict.passed and "topic 'python' has 1 kept pairs" in verdict.summary
    assert verdict.value == pytest.approx(4 / 25) and verdict.values["topic_entropy"] < 0.9
    assert {g["group"] for g in verdict.details["topic"]["groups"]} == set(TOPICS)
    balanced = rules.topic_balance(balance_report(TOPICS * 6, uniform_shares(TOPICS)), None, "even")
    assert balanced.passed and "4 of 4 topics judged" in balanced.summary
    # a starved persona fails too
    persona_starved = rules.topic_balance(
        balance_report(TOPICS * 6, uniform_shares(TOPICS)),
        balance_report(["student"] * 23 + ["engineer"], uniform_shares(personas)),
        "even",
    )
    assert not persona_starved.passed and "persona 'engineer'" in persona_starved.summary
    # one pair per topic (back-translation's usual case): reported, not judged
    sparse = rules.topic_balance(balance_report(["a", "b"], uniform_shares("abcd")), None, "sample")
    assert sparse.passed and "no topic judged" in sparse.summary


def _per_class(predicted_counts, agreement=0.95):
    return tuple(
        {"class": str(i), "requested": 100, "predicted": n, "agreement": agreement, "holdout_recall": 0.97}
        for i, n in enumerate(predicted_counts)
    )


def test_class_balance_fails_when_the_classifier_rarely_sees_a_class():
    rules = ImageRules()
    even = rules.class_balance(_evaluation(per_class=_per_class([100, 100, 100, 100])))
    assert even.passed and even.value == pytest.approx(1.0)
    rows = {row["class"]: row for row in even.details["per_class"]}
    assert rows["0"]["requested_share"] == pytest.approx(0.25) and rows["0"]["predicted_share"] == 0.25
    collapsed = rules.class_balance(_evaluation(per_class=_per_class([180, 120, 90, 10])))
    assert not collapsed.passed and "class '3' is 0.02500" in collapsed.summary
    assert collapsed.value == pytest.approx(0.1)
    low = rules.class_balance(_evaluation(per_class=_per_class([100] * 4, agreement=0.3)))
    assert not low.passed and "class '0' agreement 0.3000 < 0.5" in low.summary
    unmeasured = rules.class_balance(_evaluation())
    assert not unmeasured.passed and unmeasured.value is None


def test_per_class_results_count_requested_and_predicted():
    labels = np.array([0, 0, 0, 1, 1, 1])
    predicted = np.array([0, 0, 1, 1, 1, 1])
    rows = per_class_results(["zero", "one"], labels, predicted, np.array([0, 1]), np.array([0, 0]))
    assert rows[0] == {
        "class": "zero",
        "requested": 3,
        "predicted": 2,
        "agreement": 2 / 3,
        "holdout_recall": 1.0,
    }
    assert rows[1]["predicted"] == 4 and rows[1]["agreement"] == 1.0 and rows[1]["holdout_recall"] == 0.0


def test_personas_are_judged_against_what_the_candidates_drew():
    """Each candidate draws its persona at random: an uneven draw kept whole is not a skew."""
    candidates = pd.DataFrame({"topic": TOPICS * 3, "persona": ["student"] * 10 + ["engineer"] * 2})
    verdict = InstructionRules().topic_balance_of(
        candidates, candidates, "self_instruct", ["student", "engineer"]
    )
    shares = {g["group"]: g["expected_share"] for g in verdict.details["persona"]["groups"]}
    assert verdict.passed and shares == pytest.approx({"student": 10 / 12, "engineer": 2 / 12})
    # the critic dropping the rarer persona's pairs still fails, when enough were expected
    many = pd.DataFrame({"topic": TOPICS * 12, "persona": ["student", "engineer", "student", "student"] * 12})
    kept = many[many["persona"] == "student"]
    starved = InstructionRules().topic_balance_of(kept, many, "self_instruct", ["student", "engineer"])
    assert not starved.passed and "persona 'engineer'" in starved.summary
