import numpy as np
import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.metrics.row_distance import row_hashes
from synth_assets.mix.anchor import plan_anchor
from synth_assets.mix.datasets import mix_images, mix_instructions, mix_tables


@pytest.mark.parametrize("n_synthetic", [9, 90, 398, 1000, 12345])
def test_requested_ten_percent_gives_ten_percent(n_synthetic):
    plan = plan_anchor(n_synthetic, 10**6, 0.10)
    assert abs(plan.real_share - 0.10) <= 0.5 / (plan.n_real + n_synthetic) + 1e-12  # within one item
    assert plan.short_by == 0 and len(set(plan.real_indices)) == plan.n_real


@pytest.mark.parametrize("share", [0.04, 0.0, -0.1, 1.0])
def test_shares_below_five_percent_or_all_real_are_refused(share):
    with pytest.raises(InputDataError, match="at least 0.05"):
        plan_anchor(100, 100, share)


def test_not_enough_real_data_is_stated():
    plan = plan_anchor(1000, 20, 0.5)
    assert plan.n_real == 20 and plan.short_by == 980
    assert plan.real_share == pytest.approx(20 / 1020)
    assert "only 20 are available" in plan.describe()


def test_table_mix_takes_real_rows_from_train_only(breast_cancer_split, gaussian_copula_synth):
    split = breast_cancer_split
    mixed, facts = mix_tables(gaussian_copula_synth.data, split.train, 0.10, seed=1)
    real = mixed[mixed["source"] == "real"]
    assert facts.real_share == pytest.approx(len(real) / len(mixed)) and facts.real_share == pytest.approx(
        0.1, abs=0.002
    )
    columns = list(split.train.columns)
    train_hashes = set(row_hashes(split.train).tolist())
    holdout_hashes = set(row_hashes(split.holdout[columns]).tolist())
    assert set(row_hashes(real[columns]).tolist()) <= train_hashes
    assert not set(row_hashes(mixed[columns]).tolist()) & holdout_hashes
    assert set(mixed["origin"]) == {"tabular_synth", "real_table/train"}
    assert real["origin_id"].astype(int).isin(split.train.index).all()


def test_instruction_mix_maps_response_to_output_and_keeps_ids():
    kept = pd.DataFrame(
        {
            "id": [f"k{i}" for i in range(18)],
            "instruction": ["do x"] * 18,
            "input": [""] * 18,
            "response": ["done"] * 18,
            "topic": ["t"] * 18,
        }
    )
    human = pd.DataFrame(
        {
            "id": ["seed-1", "seed-2", "seed-3"],
            "instruction": ["a", "b", "c"],
            "input": ["", "", ""],
            "output": ["1", "2", "3"],
            "topic": ["u"] * 3,
        }
    )
    mixed, facts = mix_instructions(kept, human, 0.10)
    assert facts.n_real == 2 and list(mixed.columns) == [
        "instruction",
        "input",
        "output",
        "topic",
        "source",
        "origin",
        "origin_id",
    ]
    assert (mixed.loc[mixed["source"] == "synthetic", "output"] == "done").all()
    assert set(mixed.loc[mixed["source"] == "real", "origin_id"]) <= {"seed-1", "seed-2", "seed-3"}
    with pytest.raises(ValueError, match="human pool lack"):
        mix_instructions(kept, human.drop(columns="output"), 0.10)


def test_image_mix_aligns_images_and_index():
    rng = np.random.default_rng(0)
    synthetic, real = rng.random((50, 1, 4, 4)), rng.random((30, 1, 4, 4))
    images, index, facts = mix_images(synthetic, np.arange(50) % 5, real, np.arange(30) % 5, 0.2)
    assert (
        len(images) == len(index) == 50 + facts.n_real and facts.n_real == 13
    )  # 0.2 * 50 / 0.8 = 12.5 -> 13
    for image, row in zip(images[50:], index.iloc[50:].itertuples(), strict=True):
        np.testing.assert_array_equal(image, real[int(row.origin_id)])
        assert row.label == int(row.origin_id) % 5
