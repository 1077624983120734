"""Diversity of a set of texts (docs/metrics.md, "Diversity (text)"): distinct-n, self-BLEU,
compression ratio, nearest-neighbour ROUGE-L and TF-IDF embedding dispersion."""

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


def self_bleu(texts: list[str], max_texts: int = 300, seed: int = 0) -> float:
    """Mean BLEU-4 (smoothed, NLTK) of each text against all the others as references (Zhu et
    al. 2018, Texygen); higher means more repetitive. Capped at ``max_texts`` (seeded sample)."""
    import random

    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    if len(texts) < 2:
        raise ValueError("self-BLEU needs at least two texts")
    if len(texts) > max_texts:
        texts = random.Random(seed).sample(texts, max_texts)
    tokens = [words(t) for t in texts]
    smoothing = SmoothingFunction().method1
    scores = [
        sentence_bleu(tokens[:i] + tokens[i + 1 :], hypothesis, smoothing_function=smoothing)
        for i, hypothesis in enumerate(tokens)
    ]
    return sum(scores) / len(scores)


def compression_ratio(texts: list[str]) -> float:
    """Size of the joined texts over their gzip-compressed size (higher means more repetitive)."""
    import gzip

    data = "\n".join(texts).encode("utf-8")
    if not data:
        raise ValueError("no text to compress")
    return len(data) / len(gzip.compress(data, mtime=0))


def tfidf_dispersion(texts: list[str]) -> float:
    """Mean cosine distance of each text's TF-IDF vector to the set's centroid: an embedding
    dispersion without a neural encoder (0 = all the same, higher = more spread out)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        raise ValueError("dispersion needs at least two texts")
    vectors = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b").fit_transform(texts).toarray()
    centroid = vectors.mean(axis=0)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(centroid)
    cosine = np.divide(vectors @ centroid, norms, out=np.zeros(len(vectors)), where=norms > 0)
    return float(np.mean(1.0 - cosine))
