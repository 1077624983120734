import pytest

from synth_assets.instructions.dedup import NearDuplicateIndex
from synth_assets.instructions.diversity import distinct_n, mean_nearest_rouge_l
from synth_assets.instructions.filters import rule_violation
from synth_assets.instructions.text import rouge_l


@pytest.mark.parametrize(
    "text,reason",
    [
        ("Hi there", "too_short"),
        (" ".join(["word"] * 151), "too_long"),
        ("Describe the image of a cat sitting on a mat.", "blacklisted_keyword (image)"),
        ("Please go to the website and summarise it.", "blacklisted_keyword (go to)"),
        ("Plot the sales figures for the last year.", "blacklisted_keyword (plot)"),
        ("- List three fruits that are red.", "leading_punctuation"),
        ("Explique la différence entre deux mots.", "non_ascii"),
    ],
)
def test_rule_violations(text, reason):
    assert rule_violation(text).startswith(reason)


@pytest.mark.parametrize(
    "text",
    [
        "List three fruits that are red.",
        "Explain how compound interest works with an example.",
        "Summarise the mapping between keys and values in a Python dict.",  # 'map' only as a whole word
    ],
)
def test_acceptable_instructions(text):
    assert rule_violation(text) is None


def test_rouge_l_hand_computed():
    # LCS of "the cat sat" and "the cat ran": "the cat" (2 of 3 tokens each): F = 2/3
    assert rouge_l("the cat sat", "the cat ran") == pytest.approx(2 / 3)
    assert rouge_l("a b c", "a b c") == 1.0


def test_near_duplicates_rejected_against_seeds_and_kept():
    dedupe = NearDuplicateIndex(["Suggest three cheap dinners that use rice."])
    assert dedupe.check_and_add("Suggest three cheap dinners that use rice and beans.").startswith(
        "near_duplicate"
    )
    assert dedupe.check_and_add("Explain how a credit score is calculated.") is None
    assert dedupe.check_and_add("Explain how a credit score is calculated in the US.").startswith(
        "near_duplicate"
    )
    assert len(dedupe) == 2 and not dedupe.uses_lsh


def test_distinct_n_hand_computed():
    # bigrams: (a b) (b a) (a b) | (c d): 3 unique of 4
    assert distinct_n(["a b a b", "c d"], 2) == 0.75
    assert distinct_n(["one"], 2) == 0.0


def test_mean_nearest_rouge_l():
    assert mean_nearest_rouge_l(["the cat sat", "the cat ran", "dogs bark loudly"]) == pytest.approx(
        (2 / 3 + 2 / 3 + 0) / 3
    )
    with pytest.raises(ValueError, match="at least two"):
        mean_nearest_rouge_l(["alone"])
