"""Tokenising and ROUGE-L shared by the filters and the diversity measures."""

from __future__ import annotations

import re

from rouge_score import rouge_scorer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

WORD = re.compile(r"[A-Za-z0-9']+")
_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in ENGLISH_STOP_WORDS}


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure (rouge-score's implementation, no stemming)."""
    return _SCORER.score(a, b)["rougeL"].fmeasure
