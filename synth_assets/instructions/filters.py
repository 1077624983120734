"""Self-Instruct filters: every rejected instruction keeps its reason (nothing silently dropped).

Rules (Wang et al. 2023, Self-Instruct): 3 to 150 words; none of the keywords a text-only model
cannot act on (image, graph, picture, file, map, draw, plot, go to); no leading punctuation and
only ASCII; ROUGE-L F above 0.7 against any seed or already kept instruction is a near-duplicate.
"""

from __future__ import annotations

import re
import string

from synth_assets.instructions.text import rouge_l, words

MIN_WORDS, MAX_WORDS = 3, 150
ROUGE_L_MAX = 0.7
BLACKLIST = (
    "image",
    "images",
    "graph",
    "graphs",
    "picture",
    "pictures",
    "file",
    "files",
    "map",
    "maps",
    "draw",
    "drawing",
    "plot",
    "plots",
    "go to",
)
_BLACKLIST_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in BLACKLIST) + r")\b", re.IGNORECASE)


def rule_violation(instruction: str, blacklist: bool = True) -> str | None:
    """The first Self-Instruct rule ``instruction`` breaks (a reason string), or None.
    ``blacklist`` False skips the keyword rule (for back-translation the human response, not
    the model, decides what the pair is about)."""
    text = instruction.strip()
    n_words = len(words(text))
    if n_words < MIN_WORDS:
        return f"too_short ({n_words} words)"
    if n_words > MAX_WORDS:
        return f"too_long ({n_words} words)"
    match = _BLACKLIST_RE.search(text) if blacklist else None
    if match:
        return f"blacklisted_keyword ({match.group(1).lower()})"
    if text[0] in string.punctuation:
        return "leading_punctuation"
    if not text.isascii():
        return "non_ascii"
    return None


class NearDuplicateFilter:
    """Rejects instructions whose ROUGE-L F against any seed or kept instruction exceeds 0.7."""

    def __init__(self, seeds: list[str], threshold: float = ROUGE_L_MAX):
        self.threshold = threshold
        self.pool = list(seeds)

    def most_similar(self, instruction: str) -> tuple[float, str | None]:
        best, match = 0.0, None
        for other in self.pool:
            score = rouge_l(other, instruction)
            if score > best:
                best, match = score, other
        return best, match

    def check_and_add(self, instruction: str) -> str | None:
        """Reason if ``instruction`` is a near-duplicate; otherwise keep it and return None."""
        score, match = self.most_similar(instruction)
        if score > self.threshold:
            return f"near_duplicate (rouge_l {score:.2f} vs {match[:60]!r})"
        self.pool.append(instruction)
        return None
