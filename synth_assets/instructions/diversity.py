"""Diversity of a set of texts: distinct-n and mean nearest-neighbour ROUGE-L."""

from __future__ import annotations

from synth_assets.instructions.text import rouge_l, words


def distinct_n(texts: list[str], n: int = 2) -> float:
    """Unique n-grams / all n-grams over ``texts`` (Li et al. 2016); 0 when there are none."""
    grams = [tuple(tokens[i : i + n]) for tokens in map(words, texts) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def mean_nearest_rouge_l(texts: list[str]) -> float:
    """Mean over texts of the ROUGE-L F to their most similar other text (lower is more
    diverse); needs at least two texts."""
    if len(texts) < 2:
        raise ValueError("nearest-neighbour ROUGE-L needs at least two texts")
    best = [0.0] * len(texts)
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            score = rouge_l(texts[i], texts[j])
            best[i] = max(best[i], score)
            best[j] = max(best[j], score)
    return sum(best) / len(best)
