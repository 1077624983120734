import numpy as np
import pandas as pd
import pytest
from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

from synth_assets.metrics.row_distance import (
    column_spans,
    nearest_distances,
    row_hashes,
    sdmetrics_metadata,
)

from ..conftest import make_mixed_table


def test_hand_computed_distances():
    reference = pd.DataFrame({"a": [0.0, 10.0], "c": ["x", "y"]})
    queries = pd.DataFrame({"a": [5.0, 20.0, np.nan], "c": ["x", "y", "y"]})
    # row 0: to ref0 (|5-0|/10 + 0)/2 = 0.25, to ref1 (0.5 + 1)/2 = 0.75
    # row 1: a=20 is out of range, capped: ref0 (1 + 1)/2 = 1.0, ref1 (1 + 0)/2 = 0.5
    # row 2: one side missing counts 1: ref0 (1 + 1)/2 = 1.0, ref1 (1 + 0)/2 = 0.5
    got = nearest_distances(queries, reference, k=2)
    np.testing.assert_allclose(got, [[0.25, 0.75], [0.5, 1.0], [0.5, 1.0]], atol=1e-15)


def test_missing_equals_missing_and_zero_range():
    reference = pd.DataFrame({"a": [np.nan, 1.0], "z": [3.0, 3.0], "b": [True, False]})
    queries = pd.DataFrame({"a": [np.nan], "z": [4.0], "b": [True]})
    # ref0: a both missing 0, z range 0 and different 1, b equal 0 -> 1/3
    # ref1: a one missing 1, z 1, b differs 1 -> 1
    np.testing.assert_allclose(nearest_distances(queries, reference, k=2), [[1 / 3, 1.0]])


def test_explicit_spans_scale_every_reference_alike():
    reference = pd.DataFrame({"a": [0.0, 2.0]})
    queries = pd.DataFrame({"a": [1.0]})
    assert nearest_distances(queries, reference)[0, 0] == pytest.approx(0.5)
    assert nearest_distances(queries, reference, spans={"a": 4.0})[0, 0] == pytest.approx(0.25)


def test_datetimes_are_seconds():
    reference = pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2020-01-11"])})
    queries = pd.DataFrame({"t": pd.to_datetime(["2020-01-02"])})
    assert nearest_distances(queries, reference)[0, 0] == pytest.approx(0.1)
    assert column_spans(reference) == {"t": 10 * 86400.0}


def test_high_cardinality_categoricals_take_the_exact_path():
    reference = pd.DataFrame({"id": [f"r{i}" for i in range(400)]})
    queries = pd.DataFrame({"id": ["r7", "new"]})
    np.testing.assert_array_equal(nearest_distances(queries, reference)[:, 0], [0.0, 1.0])


def test_matches_sdmetrics_row_by_row():
    """Per-row DCR equals SDMetrics' calculate_dcr on mixed types with NaN and out-of-range."""
    reference = make_mixed_table(150, seed=1)
    queries = make_mixed_table(120, seed=2)
    queries.loc[:9, "age"] = 200  # out of the reference range: exercises the cap
    metadata = sdmetrics_metadata(reference)
    ours = nearest_distances(queries, reference)[:, 0]
    theirs = calculate_dcr(queries, reference, metadata).to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_chunking_does_not_change_results(monkeypatch):
    import synth_assets.metrics.row_distance as rd

    reference = make_mixed_table(100, seed=3)
    queries = make_mixed_table(50, seed=4)
    whole = rd.nearest_distances(queries, reference, k=2)
    monkeypatch.setattr(rd, "CHUNK_ELEMENTS", 700)  # 7 query rows per block
    np.testing.assert_array_equal(rd.nearest_distances(queries, reference, k=2), whole)


def test_row_hashes_identify_equal_rows():
    a = pd.DataFrame({"x": [1.0, np.nan], "c": ["u", None], "t": pd.to_datetime(["2020-01-01", None])})
    b = a.iloc[::-1].reset_index(drop=True)
    assert set(row_hashes(a)) == set(row_hashes(b))
    assert len(set(row_hashes(pd.concat([a, a.assign(x=[2.0, np.nan])])))) == 3


def test_refuses_too_few_reference_rows():
    with pytest.raises(ValueError, match="at least 2 reference rows"):
        nearest_distances(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [1.0]}), k=2)


def test_query_rows_keep_one_integer_per_categorical_column():
    """Memory per query row does not grow with category levels: their one-hot rows are built
    block by block; the distances still count a level the reference lacks as a mismatch."""
    import synth_assets.metrics.row_distance as rd

    reference = pd.DataFrame({"c": [f"l{i}" for i in range(200)], "d": ["u", "v"] * 100})
    queries = pd.DataFrame({"c": ["l3", "unseen", "l4"] * 40, "d": ["v", "u", "u"] * 40})
    encoded = rd._encode(queries, reference, None)
    assert tuple(encoded.onehot_q.shape) == (120, 2)
    assert encoded.onehot_r.shape[1] == 201 + 2  # every level of both columns, "unseen" too
    got = rd.nearest_distances(queries, reference, k=1)[:3, 0]
    # rows 3 ("l3", "v") and 4 ("l4", "u") exist; no reference row is "unseen"
    np.testing.assert_array_equal(got, [0.0, 0.5, 0.0])


def test_spans_narrower_than_the_reference_still_cap_at_one():
    """A synthetic reference may reach past the real rows' range (membership inference scores
    real rows against synthetic ones with the real spans): every column distance stays <= 1."""
    spans = {"a": 1.0}
    got = nearest_distances(pd.DataFrame({"a": [0.0]}), pd.DataFrame({"a": [-5.0, 5.0]}), k=2, spans=spans)
    np.testing.assert_array_equal(got, [[1.0, 1.0]])
    queries = pd.DataFrame({"a": [0.0, np.nan]})
    reference = pd.DataFrame({"a": [-5.0, 5.0, np.nan]})
    got = nearest_distances(queries, reference, k=3, spans=spans)
    np.testing.assert_array_equal(got, [[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])


def test_equal_datetime_distances_stay_ties_with_missing_values():
    """Epoch seconds (~1.7e9) over a span of an hour: the distances keep their precision, so
    two rows equally far from train and holdout count as a tie (DCR share 1/2), NaT or not."""
    from synth_assets.metrics.privacy import dcr_share

    t0 = pd.Timestamp("2024-05-01")

    def at(*seconds):
        return pd.DataFrame(
            {"t": [t0 + pd.Timedelta(seconds=s) if s is not None else pd.NaT for s in seconds]}
        )

    broken = []
    for a in range(0, 3600, 37):
        synthetic = at(a + 100)
        d_train = nearest_distances(synthetic, at(0, 3600, None, a), spans={"t": 3600.0})[:, 0]
        d_holdout = nearest_distances(synthetic, at(0, 3600, None, a + 200), spans={"t": 3600.0})[:, 0]
        if dcr_share(d_train, d_holdout) != 0.5:
            broken.append(a)
    assert broken == []
