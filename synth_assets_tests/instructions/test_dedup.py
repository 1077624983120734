"""Near-duplicate index: exact ROUGE-L below the size threshold, MinHash LSH candidates verified
by exact ROUGE-L above it; tokens that keep Hangul and unspaced scripts."""

import random

import pytest

from synth_assets.instructions.dedup import NearDuplicateIndex, near_duplicates, occurrences
from synth_assets.instructions.diversity import distinct_n, mean_nearest_rouge_l
from synth_assets.instructions.text import rouge_l, rouge_tokens

VOCAB = (
    "river stone garden window bread letter music harbour winter engine candle market bridge forest "
    "signal ladder mirror orchard pocket thunder violin wagon yellow basket copper desert feather "
    "glacier helmet island jacket kettle lantern meadow needle ocean pepper quarry ribbon saddle"
).split()


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        if texts and rng.random() < 0.4:  # a near-copy: one word swapped
            tokens = rng.choice(texts).split()
            tokens[rng.randrange(len(tokens))] = rng.choice(VOCAB)
            texts.append(" ".join(tokens))
        else:
            texts.append("Explain " + " ".join(rng.sample(VOCAB, 9)))
    return texts


def test_korean_text_is_tokenised_and_compared():
    a, b = "서울의 유명한 관광지 세 곳을 추천해 주세요", "서울의 유명한 관광지 다섯 곳을 추천해 주세요"
    assert rouge_tokens(a) == ["서울의", "유명한", "관광지", "세", "곳을", "추천해", "주세요"]
    assert rouge_l(a, b) == pytest.approx(6 / 7)  # rouge-score's own tokenizer would give 0 here
    index = NearDuplicateIndex(["서울의 유명한 관광지 세 곳을 추천해 주세요"])
    assert index.check_and_add(b).startswith("near_duplicate (rouge_l 0.86")
    assert index.check_and_add("김치찌개를 맛있게 끓이는 방법을 단계별로 설명해 주세요") is None
    # scripts without spaces compare by character; diversity measures see the same tokens
    assert rouge_tokens("日本語のテキスト") == list("日本語のテキスト")
    assert distinct_n([a, b], 1) == pytest.approx(8 / 14)
    assert mean_nearest_rouge_l([a, b]) == pytest.approx(6 / 7)


def test_ascii_tokens_are_rouge_scores_own():
    from rouge_score import rouge_scorer

    default = rouge_scorer.RougeScorer(["rougeL"])
    for a, b in [("Don't stop: cook rice, cheaply!", "dont stop cook pasta cheaply"), ("a_b 3.5", "a b 3 5")]:
        assert rouge_l(a, b) == default.score(a, b)["rougeL"].fmeasure


def test_occurrence_bags_bound_the_lcs():
    a, b = "a a b c".split(), "a b a a".split()
    assert len(occurrences(a) & occurrences(b)) == 3  # multiset intersection {a, a, b}


def test_the_exact_index_finds_the_most_similar_text():
    texts = _texts(60)
    index = NearDuplicateIndex(texts[:40], exact_below=10**6)
    for text in texts[40:]:
        expected = max(rouge_l(other, text) for other in texts[:40])
        score, match = index.most_similar(text)
        assert score == pytest.approx(expected) and rouge_l(match, text) == pytest.approx(expected)


def test_above_the_threshold_lsh_rejects_only_true_near_duplicates_and_misses_few():
    texts = _texts(1500, seed=3)
    exact = near_duplicates(texts, exact_below=10**6)
    index = NearDuplicateIndex(exact_below=200)
    lsh = [index.check_and_add(t) for t in texts]
    assert index.uses_lsh and len(index) == sum(r is None for r in lsh)
    for text, reason in zip(texts, lsh, strict=True):
        if reason:  # every LSH rejection names a kept text above the threshold
            match = next(k for k in index.texts if reason.endswith(repr(k[:60]) + ")"))
            assert rouge_l(match, text) > 0.7
    found = sum(bool(e) and bool(a) for e, a in zip(exact, lsh, strict=True))
    assert sum(map(bool, exact)) > 400 and found / sum(map(bool, exact)) >= 0.95
