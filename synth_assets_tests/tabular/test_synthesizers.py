import dataclasses

import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.sources import RealTable
from synth_assets.tabular.split import split_table
from synth_assets.tabular.synthesizers import NO_FORMAL_GUARANTEE, SyntheticTable, synthesize


def test_gaussian_copula_keeps_schema(breast_cancer_split, gaussian_copula_synth):
    synth = gaussian_copula_synth
    assert list(synth.data.columns) == list(breast_cancer_split.train.columns)
    assert synth.data.dtypes.equals(breast_cancer_split.train.dtypes)
    assert len(synth.data) == len(breast_cancer_split.train) == synth.requested_rows
    assert synth.privacy_guarantee == NO_FORMAL_GUARANTEE
    assert not synth.data.equals(breast_cancer_split.train)


def test_mixed_types_round_trip(mixed_table):
    mixed = mixed_table.assign(city=mixed_table["city"].astype("category"))
    split = split_table(RealTable(mixed, "label", "binary", "mixed"), seed=0)
    synth = synthesize(split.train, num_rows=150, seed=1)
    assert len(synth.data) == 150
    assert synth.data.dtypes.equals(split.train.dtypes)
    assert set(synth.data["city"].dropna()) <= set(split.train["city"])
    assert synth.data["income"].isna().any()  # missing values are modelled, not dropped
    frames, meta = synth.to_bundle()
    # run facts (timings, the time of the run) are not stored: the same content stores the same bytes
    stored = dataclasses.replace(synth, fit_seconds=0.0, sample_seconds=0.0, created_at="")
    assert SyntheticTable.from_bundle(frames, meta) == stored and synth.fit_seconds > 0


def test_seed_controls_sampling(breast_cancer_split):
    train = breast_cancer_split.train
    a = synthesize(train, seed=5, num_rows=50)
    b = synthesize(train, seed=5, num_rows=50)
    c = synthesize(train, seed=6, num_rows=50)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data.equals(c.data)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ctgan", "tvae", "copula_gan"])
def test_neural_synthesizers_selectable(kind, mixed_table):
    split = split_table(RealTable(mixed_table, "label", "binary", "mixed"), seed=0)
    synth = synthesize(split.train, kind=kind, epochs=2, num_rows=40, seed=0)
    assert synth.synthesizer == kind and synth.epochs == 2
    assert synth.data.dtypes.equals(split.train.dtypes) and len(synth.data) == 40


def test_bad_synthesizer_settings(breast_cancer_split):
    with pytest.raises(InputDataError, match="synthesizer must be one of"):
        synthesize(breast_cancer_split.train, kind="gan9000")
    with pytest.raises(InputDataError, match="epochs must be >= 1"):
        synthesize(breast_cancer_split.train, kind="ctgan", epochs=0)
    with pytest.raises(InputDataError, match="num_rows must be >= 1"):
        synthesize(breast_cancer_split.train, num_rows=0)
