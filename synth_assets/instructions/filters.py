"""Self-Instruct filters: every rejected instruction keeps its reason (nothing silently dropped).

Rules (Wang et al. 2023, Self-Instruct): 3 to 150 words; none of the keywords a text-only model
cannot act on (image, graph, picture, file, map, draw, plot, go to); no leading punctuation and
only ASCII. Near-duplicates (ROUGE-L F above 0.7 against any seed or already kept instruction)
are found by :mod:`synth_assets.instructions.dedup`.
"""

from __future__ import annotations

import re
import string

from synth_assets.instructions.languages import is_english
from synth_assets.instructions.text import words

MIN_WORDS, MAX_WORDS = 3, 150
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


def rule_violation(instruction: str, blacklist: bool = True, language: str | None = None) -> str | None:
    """The first Self-Instruct rule ``instruction`` breaks (a reason string), or None.
    ``blacklist`` False skips the keyword rule (for back-translation the human response, not
    the model, decides what the pair is about). The keyword and ASCII rules are English ones:
    for another ``language`` only the length and punctuation rules apply."""
    english = language is None or is_english(language)
    text = instruction.strip()
    n_words = len(words(text))
    if n_words < MIN_WORDS:
        return f"too_short ({n_words} words)"
    if n_words > MAX_WORDS:
        return f"too_long ({n_words} words)"
    match = _BLACKLIST_RE.search(text) if blacklist and english else None
    if match:
        return f"blacklisted_keyword ({match.group(1).lower()})"
    if text[0] in string.punctuation:
        return "leading_punctuation"
    if english and not text.isascii():
        return "non_ascii"
    return None
