"""Tokenising and ROUGE-L shared by the filters, the dedup index and the diversity measures.

Tokens are words of any script: letters, digits and combining marks, so Hangul, Devanagari,
accented Latin and Cyrillic words count (rouge-score's own tokenizer keeps ASCII only and would
score two Korean texts as empty). Scripts written without spaces between words (Chinese,
Japanese kana, Thai) give one token per character, the usual unit of ROUGE for them. For ASCII
text the ROUGE tokens are exactly rouge-score's: lower case, split at anything but a letter or
digit.
"""

from __future__ import annotations

import unicodedata

import regex
from rouge_score import rouge_scorer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# scripts without spaces between words: kana, CJK ideographs (and extension A, compatibility), Thai
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
# a word: letters, digits and combining marks (Devanagari vowel signs, Arabic harakat, accents)
_LETTERS = rf"[[\p{{L}}\p{{N}}\p{{M}}]--[{_UNSPACED}]]"
_TOKEN = regex.compile(rf"[{_UNSPACED}]|{_LETTERS}+", regex.V1)
_WORD = regex.compile(rf"[{_UNSPACED}]|{_LETTERS}+(?:'{_LETTERS}+)*", regex.V1)


def words(text: str) -> list[str]:
    """Lower-cased words (an apostrophe inside a word keeps it whole: "don't")."""
    return [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text))]


def rouge_tokens(text: str) -> list[str]:
    """The tokens ROUGE-L compares."""
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in ENGLISH_STOP_WORDS}


class _Tokenizer:
    """rouge-score's tokenizer interface over :func:`rouge_tokens`."""

    @staticmethod
    def tokenize(text: str) -> list[str]:
        return rouge_tokens(text)


_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_Tokenizer())


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure (rouge-score's implementation, no stemming)."""
    return _SCORER.score(a, b)["rougeL"].fmeasure


def rouge_l_of_tokens(a: list[str], b: list[str]) -> float:
    """:func:`rouge_l` of texts already split by :func:`rouge_tokens` (rouge-score's own LCS
    scoring, without tokenizing again)."""
    return rouge_scorer._score_lcs(a, b).fmeasure
