"""instruction_utility's pure parts (equal-sized training sets, the paired interval, pairs of a
frame) and one real LoRA fine-tune of the embedded model."""

import numpy as np
import pandas as pd
import pytest

from synth_assets.instructions.utility import (
    UtilityReport,
    UtilitySettings,
    instruction_utility,
    mean_loss,
    paired_interval,
    pairs_of,
    skipped,
    training_sets,
)


def _pairs(prefix: str, n: int) -> list[tuple[str, str]]:
    return [(f"{prefix} question {i}?", f"{prefix} answer {i}.") for i in range(n)]


def test_every_training_set_gets_the_same_number_of_pairs():
    sets, notes = training_sets(
        _pairs("k", 30), _pairs("r", 9), _pairs("j", 39), UtilitySettings(max_pairs=32)
    )
    assert {name: len(pairs) for name, pairs in sets.items()} == {"kept": 9, "rejected": 9, "random": 9}
    assert notes == []
    assert set(sets["kept"]) <= set(_pairs("k", 30))


def test_a_set_below_min_pairs_is_left_out_with_a_note():
    sets, notes = training_sets(
        _pairs("k", 10), _pairs("r", 2), _pairs("j", 12), UtilitySettings(min_pairs=4)
    )
    assert set(sets) == {"kept", "random"} and len(sets["kept"]) == 10
    assert notes == ["rejected: 2 pairs, fewer than min_pairs=4; left out"]
    assert training_sets(_pairs("k", 3), _pairs("r", 9), [], UtilitySettings(min_pairs=4))[0] == {}


def test_the_samples_are_seeded():
    a = training_sets(
        _pairs("k", 30), _pairs("r", 30), _pairs("j", 60), UtilitySettings(max_pairs=8, seed=1)
    )[0]
    b = training_sets(
        _pairs("k", 30), _pairs("r", 30), _pairs("j", 60), UtilitySettings(max_pairs=8, seed=1)
    )[0]
    c = training_sets(
        _pairs("k", 30), _pairs("r", 30), _pairs("j", 60), UtilitySettings(max_pairs=8, seed=2)
    )[0]
    assert a == b and a != c


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="max_pairs must be at least 1"):
        UtilitySettings(max_pairs=0)
    with pytest.raises(ValueError, match="learning_rate"):
        UtilitySettings(learning_rate=0)


def test_pairs_of_appends_the_input_and_drops_incomplete_rows():
    frame = pd.DataFrame(
        {
            "instruction": ["Sum these.", "Explain.", None, "   "],
            "input": ["1, 2", "", "x", ""],
            "output": ["3", "It is so.", "y", "z"],
        }
    )
    assert pairs_of(frame, response="output") == [("Sum these.\n\n1, 2", "3"), ("Explain.", "It is so.")]
    assert pairs_of(frame) == [] and pairs_of(None) == []


def test_mean_loss_weights_tokens_and_refuses_an_empty_set():
    assert mean_loss(np.array([[2.0, 1], [6.0, 3]])) == 2.0
    with pytest.raises(ValueError, match="no response tokens"):
        mean_loss(np.array([[0.0, 0]]))


def test_the_paired_interval_covers_the_difference_and_excludes_zero_when_it_is_clear():
    rng = np.random.default_rng(0)
    tokens = rng.integers(5, 50, size=200).astype(float)
    base = np.column_stack([tokens * rng.normal(2.0, 0.2, 200), tokens])
    worse = np.column_stack([base[:, 0] + tokens * rng.normal(0.3, 0.1, 200), tokens])
    low, high = paired_interval(base, worse, 500, seed=0)
    assert 0 < low < 0.3 < high
    low, high = paired_interval(base, base, 500, seed=0)
    assert low == high == 0


def test_a_skipped_report_round_trips_and_says_why():
    report = skipped("switched off", UtilitySettings())
    parts, meta = report.to_bundle()
    back = UtilityReport.from_bundle(parts, meta)
    assert back.skipped == "switched off" and back.loss_before is None and back.settings["epochs"] == 2
    assert instruction_utility(_pairs("k", 5), [], [], [("q", "a")]).skipped.startswith("1 held-out")


@pytest.mark.slow
def test_training_on_the_heldout_pairs_gains_more_than_training_on_refusals():
    """A real LoRA fine-tune of the embedded model: the measure must see the difference between
    pairs that teach the held-out answers and pairs that teach nothing useful."""
    heldout = [
        ("What is the capital of France?", "The capital of France is Paris, on the Seine."),
        ("Name a primary colour.", "Red is a primary colour, as are blue and yellow."),
        ("How many legs does a spider have?", "A spider has eight legs."),
        ("What do bees make?", "Bees make honey from the nectar of flowers."),
    ]
    refusals = [(q, "I am sorry, but I cannot help with that request.") for q, _ in heldout]
    settings = UtilitySettings(epochs=3, max_pairs=4, max_tokens=64, learning_rate=2e-3, bootstrap=200)
    report = instruction_utility(heldout, refusals, heldout + refusals, heldout, settings)
    assert not report.skipped and report.n_heldout == 4
    assert set(report.results["set"]) == {"kept", "rejected", "random"}
    assert report.gain("kept") > 0 and report.gain("kept") > report.gain("rejected")
    kept_vs_rejected = report.comparison("kept_vs_rejected")
    assert kept_vs_rejected["loss_difference"] > 0 and kept_vs_rejected["ci_low"] > 0
    assert set(report.seconds) == {"load", "kept", "rejected", "random"}
