import json
import re
from fractions import Fraction

import numpy as np
import pytest

from synth_assets.errors import InputDataError
from synth_assets.instructions.calibration import (
    CALIBRATION_VERSION,
    CORRUPTIONS,
    OFF_TOPIC,
    calibration_auc,
    calibration_set,
    load_calibration_pairs,
    numbers,
)


@pytest.fixture(scope="module")
def cal():
    return calibration_set()


def _rows(cal, corruption):
    return cal[cal["corruption"] == corruption]


def _sources(cal):
    return cal[cal["label"] == 1].set_index("id")


def test_set_size_and_structure(cal):
    assert CALIBRATION_VERSION == "calibration-v1"
    good = cal[cal["label"] == 1]
    assert len(cal) >= 100  # the floor for the shipped set
    assert len(good) >= 30
    assert (good["corruption"] == "none").all() and (good["id"] == good["source_id"]).all()
    assert set(cal["corruption"]) == {"none", *CORRUPTIONS}
    assert (cal.loc[cal["corruption"] != "none", "label"] == 0).all()
    assert cal["id"].is_unique
    assert set(cal["source_id"]) == set(good["id"])
    # each general corruption on every other good pair (alternating), so each pair gets 2 or 3
    ids = good["id"].tolist()
    for k, name in enumerate(("swapped", "truncated", "echo", "refusal", "off_topic")):
        assert sorted(_rows(cal, name)["source_id"]) == sorted(ids[k % 2 :: 2]), name
    per_pair = cal[cal["label"] == 0].query("corruption != 'wrong_number'").groupby("source_id").size()
    assert set(per_pair) == {2, 3}
    # instructions are never altered by a corruption
    sources = _sources(cal)
    assert (cal["instruction"].to_numpy() == sources.loc[cal["source_id"], "instruction"].to_numpy()).all()


def test_shipped_pairs_are_clean():
    pairs = load_calibration_pairs()
    assert pairs["id"].tolist() == [f"cal-{i:03d}" for i in range(1, len(pairs) + 1)]
    assert (pairs["kind"] == "arithmetic").sum() >= 10
    assert pairs["response"].is_unique and pairs["instruction"].is_unique
    for row in pairs.itertuples():
        assert 40 <= len(row.response.split()) <= 120, row.id
        assert row.response.isascii() and row.instruction.isascii(), row.id
        assert len(re.findall(r"[.!?]['\"]?(?:\s|$)", row.response)) >= 2, row.id  # complete sentences


# "a op b = c (= ...)" chains made only of numbers and + - x /, e.g. "1,500 / 12,000 x 100 = 12.5"
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?(?![\w(])"
_TERM = rf"\(?\s*{_NUM}(?:\s*[x+\-/]\s*\(?\s*{_NUM}\s*\)?)*\s*\)?"
_CHAIN = re.compile(rf"(?<![\w.,])({_TERM}(?:\s*=\s*{_TERM})+)")


def _equations(text):
    """(expression parts, whether they are all equal) for every numeric equation chain."""
    out = []
    for match in _CHAIN.finditer(text):
        parts = [p.strip() for p in match.group(1).split("=")]
        values = []
        for part in parts:
            expr = re.sub(r"\d+(?:\.\d+)?", lambda m: f"Fraction('{m.group()}')", part.replace(",", ""))
            values.append(eval(expr.replace("x", "*"), {"Fraction": Fraction}))
        out.append((parts, all(v == values[0] for v in values)))
    return out


def test_arithmetic_pairs_compute_correctly():
    pairs = load_calibration_pairs()
    arithmetic = pairs[pairs["kind"] == "arithmetic"]
    n_equations = 0
    for row in arithmetic.itertuples():
        equations = _equations(row.response)
        assert all(ok for _, ok in equations), (row.id, equations)
        # the final number stated is the result of a worked equation (wrong_number changes it)
        assert numbers(row.response)[-1].group() in {parts[-1] for parts, _ in equations}, row.id
        n_equations += len(equations)
    assert n_equations >= 2 * len(arithmetic)  # the checker does see the worked steps
    assert not all(ok for _, ok in _equations("So 4 x 3 = 12 and 12 + 6 = 19."))


def test_wrong_number_changes_exactly_the_final_number(cal):
    sources = _sources(cal)
    wrong = _rows(cal, "wrong_number")
    pairs = load_calibration_pairs().set_index("id")
    assert sorted(wrong["source_id"]) == sorted(pairs.index[pairs["kind"] == "arithmetic"])
    for row in wrong.itertuples():
        source = sources.loc[row.source_id, "response"]
        assert row.response != source
        old, new = numbers(source), numbers(row.response)
        assert len(old) == len(new)
        final, replacement = old[-1].group(), new[-1].group()
        assert replacement != final
        for o, n in zip(old, new, strict=True):
            assert n.group() == (replacement if o.group() == final else o.group()), row.id
        # the text around the numbers is untouched
        strip = re.compile(r"\d[\d,.]*\d|\d")
        assert strip.sub("#", row.response) == strip.sub("#", source), row.id
        assert abs(float(replacement.replace(",", "")) - float(final.replace(",", ""))) <= 0.5 * float(
            final.replace(",", "")
        )


def test_truncated_is_a_cut_mid_sentence(cal):
    sources = _sources(cal)
    for row in _rows(cal, "truncated").itertuples():
        source = sources.loc[row.source_id, "response"]
        assert source.startswith(row.response) and len(row.response) < len(source)
        assert not row.response.endswith((".", "!", "?")), row.id
        assert row.response[-1].isalpha(), row.id  # ends inside a sentence, not on a result
        assert source[len(row.response)].isspace(), row.id  # cut at a word boundary
        assert 0.35 <= len(row.response) / len(source) <= 0.65, row.id


def test_swapped_is_a_derangement_across_topics(cal):
    sources = _sources(cal)
    swapped = _rows(cal, "swapped")
    for row in swapped.itertuples():
        assert row.response != sources.loc[row.source_id, "response"]
    # no good response is used twice
    assert swapped["response"].is_unique
    # arithmetic pairs are not swapped among themselves
    pairs = load_calibration_pairs().set_index("id")
    by_response = dict(zip(pairs["response"], pairs.index, strict=True))
    for row in swapped.itertuples():
        donor = by_response[row.response]
        assert not (pairs.loc[donor, "kind"] == pairs.loc[row.source_id, "kind"] == "arithmetic")


def test_echo_refusal_off_topic(cal):
    for row in _rows(cal, "echo").itertuples():
        assert row.instruction in row.response and len(row.response) <= len(row.instruction) + 40
    refusals = _rows(cal, "refusal")["response"]
    assert refusals.nunique() >= 5
    assert all(re.search(r"sorry|can't|cannot|unable|not able|apologi|don't have", r, re.I) for r in refusals)
    off = _rows(cal, "off_topic")["response"]
    assert len(OFF_TOPIC) >= 8 and set(off) <= set(OFF_TOPIC) and off.nunique() >= 8
    good = set(cal.loc[cal["label"] == 1, "response"])
    assert not set(off) & good


def test_deterministic():
    first, second = calibration_set(), calibration_set()
    assert first.equals(second)


def _scored(cal, scores):
    frame = cal.copy()
    frame["score"] = scores
    return frame


def test_perfect_reversed_and_constant_scorers(cal):
    perfect = calibration_auc(_scored(cal, cal["label"].astype(float)))
    assert perfect["overall"] == 1.0
    assert set(perfect["by_corruption"]) == set(CORRUPTIONS)
    assert all(v == 1.0 for v in perfect["by_corruption"].values())
    assert (
        perfect["n_good"] == (cal["label"] == 1).sum() and perfect["n_corrupted"] == (cal["label"] == 0).sum()
    )
    assert perfect["n_unscored"] == 0

    reversed_ = calibration_auc(_scored(cal, -cal["label"].astype(float)))
    assert reversed_["overall"] == 0.0 and all(v == 0.0 for v in reversed_["by_corruption"].values())

    constant = calibration_auc(_scored(cal, 3.0))
    assert constant["overall"] == 0.5 and all(v == 0.5 for v in constant["by_corruption"].values())


def test_only_one_corruption_detected(cal):
    """Per-type AUCs are computed against that type only."""
    scores = np.where(cal["corruption"] == "refusal", 0.0, 1.0)
    result = calibration_auc(_scored(cal, scores))
    assert result["by_corruption"]["refusal"] == 1.0
    assert all(v == 0.5 for k, v in result["by_corruption"].items() if k != "refusal")
    assert 0.5 < result["overall"] < 1.0


def test_random_scorer_is_near_chance(cal):
    rng = np.random.default_rng(12345)
    result = calibration_auc(_scored(cal, rng.random(len(cal))))
    assert 0.4 <= result["overall"] <= 0.6


def test_nan_scores_rank_last(cal):
    good = cal["label"] == 1
    # good pairs the critic could not score rank below every corrupted pair
    scores = np.where(good, np.nan, cal["label"].astype(float) - 5.0)
    result = calibration_auc(_scored(cal, scores))
    assert result["overall"] == 0.0 and result["n_unscored"] == good.sum()
    # unscored corrupted pairs rank below good ones even when those score badly
    scores = np.where(good, -1e9, np.nan)
    assert calibration_auc(_scored(cal, scores))["overall"] == 1.0
    # NaN vs NaN is a tie
    assert calibration_auc(_scored(cal, np.nan)) | {"by_corruption": None} == {
        "overall": 0.5,
        "by_corruption": None,
        "n_good": int(good.sum()),
        "n_corrupted": int((~good).sum()),
        "n_unscored": len(cal),
    }


def test_auc_needs_both_classes_and_a_score(cal):
    with pytest.raises(ValueError, match="good and corrupted"):
        calibration_auc(_scored(cal[cal["label"] == 1], 1.0))
    with pytest.raises(ValueError, match="good and corrupted"):
        calibration_auc(_scored(cal[cal["label"] == 0], 1.0))
    with pytest.raises(ValueError, match="score"):
        calibration_auc(cal)


def _write(tmp_path, lines):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD_LINES = [
    json.dumps(
        {
            "id": f"t-{i}",
            "instruction": f"Question number {i}?",
            "response": f"This is the first sentence of answer {i} and it goes on for a while. It ends here.",
            "kind": "general",
        }
    )
    for i in range(3)
]


def test_small_valid_file_builds(tmp_path):
    frame = calibration_set(_write(tmp_path, GOOD_LINES))
    # 3 good pairs; general corruptions alternate: pairs 0 and 2 get 3, pair 1 gets 2
    assert len(frame) == 3 + 3 + 2 + 3 and "wrong_number" not in set(frame["corruption"])


@pytest.mark.parametrize(
    "bad_line,message",
    [
        ('{"id": "t-9", "instruction": "Q?", "response": "A', "not JSON"),
        ('{"id": "t-9", "instruction": "Q?", "kind": "general"}', "missing fields \\['response'\\]"),
        ('["a list"]', "not a JSON object"),
        (GOOD_LINES[0].replace('"general"', '"poetry"'), "kind must be"),
        (GOOD_LINES[0].replace("t-0", "t-1"), "duplicate id"),
    ],
)
def test_bad_file_names_the_line(tmp_path, bad_line, message):
    path = _write(tmp_path, [GOOD_LINES[0], GOOD_LINES[1], bad_line])
    with pytest.raises(InputDataError, match=rf"pairs\.jsonl:3: {message}"):
        calibration_set(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        calibration_set(tmp_path / "nope.jsonl")
