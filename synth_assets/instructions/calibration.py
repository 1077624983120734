"""A versioned critic-calibration set and the ROC AUC of a critic's scores on it.

A critic scores instruction / response pairs (higher = better). To show that it can judge, it
scores human-written good pairs (label 1, shipped in ``data/calibration_pairs.jsonl``) and
systematic corruptions of each of them (label 0):

* ``swapped``: the response of another pair (a fixed derangement that avoids similar topics);
* ``truncated``: the response cut mid-sentence at a word boundary 40-60 % of the way in;
* ``echo``: the response only restates the instruction;
* ``refusal``: a canned refusal;
* ``off_topic``: a fluent, correct paragraph about an unrelated subject;
* ``wrong_number`` (arithmetic pairs only): the final stated result changed everywhere it appears.

:func:`calibration_auc` turns the critic's scores into ROC AUCs, overall and per corruption;
0.5 means the critic cannot tell good pairs from that corruption (docs/metrics.md, "Critic
calibration AUC"). Everything here is
deterministic: bump :data:`CALIBRATION_VERSION` whenever the pairs or the corruptions change.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from synth_assets.errors import InputDataError
from synth_assets.storage import json_lines

CALIBRATION_VERSION = "calibration-v1"
CORRUPTIONS = ("swapped", "truncated", "echo", "refusal", "off_topic", "wrong_number")
DEFAULT_CALIBRATION_PAIRS = Path(__file__).parent / "data" / "calibration_pairs.jsonl"
PAIR_FIELDS = ("id", "instruction", "response", "kind")
KINDS = ("general", "arithmetic")
COLUMNS = ("id", "source_id", "corruption", "label", "instruction", "response")

REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "As an AI language model, I cannot provide an answer to this question.",
    "I'm unable to assist with this. Please consult a qualified professional.",
    "Sorry, I can't do that.",
    "I apologize, but I am not able to answer questions like this one.",
    "Unfortunately, I cannot fulfill this request because it falls outside what I am able to help with.",
    "As an AI, I don't have the ability to respond to that. Is there anything else I can help you with?",
    "I'm afraid I can't provide that information.",
)

ECHO_TEMPLATES = (
    "{instruction}",
    "You asked: {instruction}",
    "Your question was: {instruction}",
    "Here is your request again: {instruction}",
)

# Fluent, correct paragraphs on subjects far from every calibration topic (hobbies and sports).
OFF_TOPIC = (
    "In chess, each player starts with sixteen pieces: one king, one queen, two rooks, two bishops, "
    "two knights and eight pawns. The goal is to checkmate the opposing king, which means attacking it "
    "so that it has no legal way to escape. Castling lets a player move the king two squares toward a "
    "rook and place that rook on the square the king crossed, as long as neither piece has moved yet "
    "and the king is not in check.",
    "A volleyball team has six players on the court. Each side may touch the ball up to three times "
    "before sending it back over the net, and the same player may not touch it twice in a row, except "
    "after a block. Indoor matches use rally scoring, so a point is won on every serve, and a set is "
    "played to 25 points with a lead of at least two.",
    "Knitting uses two basic stitches, the knit stitch and the purl stitch. Working every row in knit "
    "stitch produces garter stitch, a bumpy, stretchy fabric that lies flat and suits a first scarf. "
    "Alternating a row of knit with a row of purl gives stockinette stitch, which is smooth on one side "
    "but tends to curl at the edges. Beginners usually choose a smooth, medium-weight yarn in a light "
    "color, so that the stitches are easy to see.",
    "In standard tuning, the six strings of a guitar, from the lowest to the highest, are tuned to E, A, "
    "D, G, B and E. A common way to tune by ear is the fifth-fret method: pressing the low E string at "
    "the fifth fret gives the note A, which should match the open A string. The same works for each "
    "neighboring pair of strings, except that the G string is pressed at the fourth fret to match the "
    "open B string.",
    "Syrian hamsters are solitary animals and should be housed alone, because adults often fight when "
    "kept together. They are most active at dusk and during the night, so their cage belongs in a quiet "
    "room. A solid running wheel large enough that the hamster's back stays straight, a deep layer of "
    "bedding for burrowing, and a good hamster pellet mix keep them healthy and busy.",
    "In ten-pin bowling, a game has ten frames, and in each frame the bowler has up to two balls to "
    "knock down all ten pins. A strike, clearing every pin with the first ball, scores ten plus the "
    "pins knocked down by the next two balls. A spare, clearing them with both balls, scores ten plus "
    "the next ball. A perfect game of twelve strikes in a row scores 300.",
    "The basic three-ball juggling pattern is called the cascade. Each ball is thrown from one hand in "
    "an arc that peaks at about eye level and is caught by the other hand, and the next throw starts "
    "just as the previous ball reaches its peak. Learners usually begin with one ball passed from hand "
    "to hand, then practice two balls with a steady throw, throw, catch, catch rhythm before adding the "
    "third.",
    "A cricket team has eleven players. The bowler delivers the ball from one end of a pitch that is 22 "
    "yards long toward the batter, who defends a wicket made of three stumps topped by two bails. An "
    "over consists of six legal deliveries, after which a different bowler bowls from the other end. A "
    "ball hit to the boundary scores four runs if it bounces first and six if it clears the rope "
    "without touching the ground.",
    "The paper crane is one of the best known origami models. It starts from a square sheet folded into "
    "a square base, which is turned into a bird base by petal folds on both sides. The two narrow lower "
    "points are reverse folded upward to form the neck and the tail, one tip is folded down to make the "
    "head, and the wings are gently pulled apart to shape the body.",
    "Birdwatchers often identify a species by its song before they see it, so learning a few common "
    "calls pays off quickly. Binoculars marked 8x42 magnify eight times and have front lenses 42 "
    "millimeters wide, a popular balance of brightness, field of view and steadiness. Noting a bird's "
    "size, shape, bill, wing bars and behavior, rather than color alone, makes identification much more "
    "reliable.",
)

# A number as written in the responses: 18, 2.5, 18.40, 12,000, not part of a word or a longer number.
_NUMBER = re.compile(
    r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w]|[.,]\d)|(?<![\w.,])\d+(?:\.\d+)?(?![\w]|[.,]\d)"
)
_WORD = re.compile(r"[a-z]{4,}")
_STOP = frozenset(
    "about after also because before being both does each from have here into just more most much "
    "once only other over same should some such than that their them then there these they this those "
    "through very were what when where which while will with would your".split()
)


def numbers(text: str) -> list[re.Match]:
    """The numbers written in ``text``, in order (thousands separators and decimals included)."""
    return list(_NUMBER.finditer(text))


def load_calibration_pairs(path: str | Path | None = None) -> pd.DataFrame:
    """The good pairs (columns id, instruction, response, kind), validated line by line."""
    path = Path(path or DEFAULT_CALIBRATION_PAIRS)
    if not path.is_file():
        raise InputDataError(f"calibration file not found: {path}")
    rows, seen = [], {}
    for number, row in json_lines(path):
        where = f"{path}:{number}"
        missing = [f for f in PAIR_FIELDS if f not in row]
        if missing:
            raise InputDataError(f"{where}: missing fields {missing}")
        for name in PAIR_FIELDS:
            if not isinstance(row[name], str) or not row[name].strip():
                raise InputDataError(f"{where}: field '{name}' must be a non-empty string")
        if row["kind"] not in KINDS:
            raise InputDataError(f"{where}: kind must be one of {list(KINDS)}, got {row['kind']!r}")
        if row["id"] in seen:
            raise InputDataError(f"{where}: duplicate id {row['id']!r} (first on line {seen[row['id']]})")
        seen[row["id"]] = number
        if row["kind"] == "arithmetic" and not numbers(row["response"]):
            raise InputDataError(f"{where}: arithmetic response states no numeric result")
        if _truncate(row["response"]) is None:
            raise InputDataError(f"{where}: response too short to truncate mid-sentence")
        rows.append({f: row[f] for f in PAIR_FIELDS})
    if len(rows) < 2:
        raise InputDataError(f"calibration file {path} needs at least 2 pairs, has {len(rows)}")
    return pd.DataFrame(rows, columns=list(PAIR_FIELDS))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def swap_targets(pairs: pd.DataFrame) -> list[int]:
    """A derangement: position i gets the response of pair ``targets[i]`` (never i itself).

    Chosen to minimise the total topical similarity (word overlap of instruction + response; two
    arithmetic pairs count as similar) of the swapped pairs, so that a swapped response is plainly
    off: the assignment problem is solved exactly and deterministically.
    """
    n = len(pairs)
    bags = [_words(f"{i} {r}") for i, r in zip(pairs["instruction"], pairs["response"], strict=True)]
    kinds = pairs["kind"].tolist()
    cost = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                cost[i, j] = 1e6
                continue
            union = len(bags[i] | bags[j]) or 1
            cost[i, j] = len(bags[i] & bags[j]) / union + (kinds[i] == kinds[j] == "arithmetic")
    rows, cols = linear_sum_assignment(cost)
    targets = [int(c) for _, c in sorted(zip(rows, cols, strict=True))]
    assert all(t != i for i, t in enumerate(targets))
    return targets


def _truncate(response: str) -> str | None:
    """The response cut at a word boundary 40-60 % in (nearest 50 %), after a word that ends in a
    letter: mid-sentence, no trailing punctuation. None when there is no such point."""
    length = len(response)
    best = None
    for match in re.finditer(r"\S+", response):
        end = match.end()
        if end >= length or not response[end - 1].isalpha():
            continue
        if 0.4 * length <= end <= 0.6 * length:
            if best is None or abs(end - length / 2) < abs(best - length / 2):
                best = end
    return None if best is None else response[:best]


def _shifted(value: str, step_index: int, taken: set[str]) -> str:
    """A plausible wrong value for the number written as ``value``: a small shift (scaled to its
    size, same number of decimals and same thousands style), not already written in the text."""
    plain = Decimal(value.replace(",", ""))
    decimals = len(value.split(".")[1]) if "." in value else 0
    step = Decimal(10) ** max(0, int(math.floor(math.log10(max(abs(plain), 1)))) - 1)
    first = (2, -1, 1, -2, 3, -3)  # rotated per pair so the errors vary in size and sign
    rotation = step_index % len(first)
    further = [sign * k for k in range(4, 1000) for sign in (1, -1)]
    for multiplier in [*first[rotation:], *first[:rotation], *further]:
        candidate = plain + step * multiplier
        if candidate <= 0:
            continue
        text = f"{candidate:,.{decimals}f}" if "," in value else f"{candidate:.{decimals}f}"
        if text not in taken:
            return text
    raise AssertionError(f"no wrong value for {value}")  # unreachable: the text has too few numbers


def wrong_number(response: str, index: int) -> str:
    """The response with its final stated number replaced, wherever it appears, by a wrong one."""
    found = numbers(response)
    final = found[-1].group()
    wrong = _shifted(final, index, {m.group() for m in found})
    pieces, last = [], 0
    for match in found:
        if match.group() == final:
            pieces += [response[last : match.start()], wrong]
            last = match.end()
    return "".join(pieces) + response[last:]


def calibration_set(path: str | Path | None = None) -> pd.DataFrame:
    """Good pairs (label 1, corruption "none") followed by their corruptions (label 0), one block per
    corruption in :data:`CORRUPTIONS` order. Columns: id, source_id, corruption, label, instruction,
    response. Corrupted ids are ``<source_id>:<corruption>``.

    Each of the five general corruptions is applied to every other good pair (alternating, so each
    pair gets two or three of them and each type about half the pairs), and wrong_number to every
    arithmetic pair: every type is well represented while a local critic scores the set in about
    two minutes."""
    pairs = load_calibration_pairs(path)
    records = [(p.id, p.id, "none", 1, p.instruction, p.response) for p in pairs.itertuples(index=False)]
    responses = pairs["response"].tolist()
    targets = swap_targets(pairs)
    arithmetic_seen = 0
    blocks: dict[str, list[tuple]] = {name: [] for name in CORRUPTIONS}
    for i, p in enumerate(pairs.itertuples(index=False)):

        def add(corruption: str, response: str, p=p) -> None:
            blocks[corruption].append((f"{p.id}:{corruption}", p.id, corruption, 0, p.instruction, response))

        def wanted(corruption: str, i=i) -> bool:
            return (i + CORRUPTIONS.index(corruption)) % 2 == 0

        n = {name: len(blocks[name]) for name in CORRUPTIONS}  # picks the next template of each list
        if wanted("swapped"):
            add("swapped", responses[targets[i]])
        if wanted("truncated"):
            add("truncated", _truncate(p.response))
        if wanted("echo"):
            add("echo", ECHO_TEMPLATES[n["echo"] % len(ECHO_TEMPLATES)].format(instruction=p.instruction))
        if wanted("refusal"):
            add("refusal", REFUSALS[n["refusal"] % len(REFUSALS)])
        if wanted("off_topic"):
            add("off_topic", OFF_TOPIC[n["off_topic"] % len(OFF_TOPIC)])
        if p.kind == "arithmetic":
            add("wrong_number", wrong_number(p.response, arithmetic_seen))
            arithmetic_seen += 1
    for name in CORRUPTIONS:
        records += blocks[name]
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame["label"] = frame["label"].astype(int)
    frame.attrs["version"] = CALIBRATION_VERSION
    return frame


def calibration_auc(frame: pd.DataFrame, score_column: str = "score") -> dict:
    """ROC AUC of ``score_column`` (higher = judged better) for good vs corrupted rows, overall and
    per corruption (good rows vs that corruption's rows). Ties count 1/2. A NaN score (the critic
    could not score the pair) ranks below every other score; their number is ``n_unscored``."""
    for column in ("label", "corruption", score_column):
        if column not in frame.columns:
            raise ValueError(f"calibration frame has no column {column!r}")
    labels = frame["label"].to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("label must be 0 (corrupted) or 1 (good)")
    labels = labels.astype(int)
    n_good, n_corrupted = int((labels == 1).sum()), int((labels == 0).sum())
    if n_good == 0 or n_corrupted == 0:
        raise ValueError(f"need good and corrupted rows, got {n_good} good and {n_corrupted} corrupted")
    scores = pd.to_numeric(frame[score_column]).to_numpy(dtype=float)
    unscored = np.isnan(scores)
    # AUC only depends on the order of the scores: rank them with NaN below everything (-inf).
    ranks = rankdata(np.where(unscored, -np.inf, scores), method="average")
    corruption = frame["corruption"].to_numpy()
    good = labels == 1
    present = [c for c in CORRUPTIONS if (corruption[~good] == c).any()]
    present += sorted({str(c) for c in corruption[~good]} - set(present))
    by_corruption = {}
    for name in present:
        mask = good | ((labels == 0) & (corruption == name))
        by_corruption[name] = float(roc_auc_score(labels[mask], ranks[mask]))
    return {
        "overall": float(roc_auc_score(labels, ranks)),
        "by_corruption": by_corruption,
        "n_good": n_good,
        "n_corrupted": n_corrupted,
        "n_unscored": int(unscored.sum()),
    }
