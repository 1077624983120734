"""Id columns: detection, fresh values disjoint from every real id, and the leak count."""

import numpy as np
import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.identifiers import (
    detect_id_columns,
    find_id_columns,
    fresh_ids,
    leaked_ids,
    name_tokens,
)
from synth_assets.tabular.synthesizers import synthesize
from synth_assets_tests.conftest import make_mixed_table


def _table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row": np.arange(5, 5 + n),  # auto-increment key without an id-like name
            "customerId": [f"C{i:05d}" for i in rng.permutation(n)],
            "store_id": rng.integers(0, 8, n),  # a category with an id-like name
            "amount": rng.normal(100, 10, n).round(2),
            "label": rng.integers(0, 2, n),
        }
    )


def test_name_tokens_split_camel_snake_and_spaces():
    assert name_tokens("customerId") == ["customer", "id"]
    assert name_tokens("Order ID") == ["order", "id"]
    assert "id" not in name_tokens("paid") and "id" not in name_tokens("valid_flag")


def test_detects_counters_and_id_named_unique_columns_but_not_categories():
    found = {c.name: c.reason for c in detect_id_columns(_table(), "label")}
    assert set(found) == {"row", "customerId"}
    assert "increasing" in found["row"] and "id-like name" in found["customerId"]


def test_sdv_id_sdtype_counts_only_beyond_a_category():
    frame = _table().assign(ref=lambda f: [f"r{i}" for i in range(len(f))])
    sdtypes = {"ref": "id", "store_id": "id"}
    assert "ref" in {c.name for c in detect_id_columns(frame, "label", sdtypes)}
    assert "store_id" not in {c.name for c in detect_id_columns(frame, "label", sdtypes)}


def test_free_text_is_never_modelled_but_cities_and_emails_are_left_to_sdv():
    rng = np.random.default_rng(0)
    frame = _table().assign(
        comment=lambda f: [
            f"called back on day {i}, {w}" for i, w in enumerate(rng.choice(["ok", "late"], len(f)))
        ],
        city=lambda f: rng.choice([f"town{i}" for i in range(60)], len(f)),
        email=lambda f: [f"user{i}@example.org" for i in range(len(f))],
    )
    found = {c.name: c.reason for c in find_id_columns(frame, "label")}
    assert "free text" in found["comment"] and "city" not in found
    assert "email" not in found  # SDV's email sdtype: replaced by Faker, never copied


def test_a_repeated_patient_id_is_still_an_id():
    frame = _table().assign(patient_id=lambda f: [f"P{i // 3:04d}" for i in range(len(f))])  # 3 visits each
    assert "patient_id" in {c.name for c in detect_id_columns(frame, "label")}


def test_target_is_never_an_id_and_override_wins():
    frame = _table().assign(label=lambda f: np.arange(len(f)))
    assert "label" not in {c.name for c in detect_id_columns(frame, "label")}
    assert find_id_columns(frame, "label", []) == []
    assert [c.name for c in find_id_columns(frame, "label", ["amount"])] == ["amount"]
    with pytest.raises(InputDataError, match="not columns of the table"):
        find_id_columns(frame, "label", ["nope"])
    with pytest.raises(InputDataError, match="target column"):
        find_id_columns(frame, "label", ["label"])


def test_bundled_tables_have_no_id_columns():
    from sklearn import datasets

    for load in (datasets.load_breast_cancer, datasets.load_wine, datasets.load_diabetes):
        frame = load(as_frame=True).frame
        assert find_id_columns(frame, "target") == []


@pytest.mark.parametrize(
    "real",
    [
        pd.Series([3, 10, 7], dtype="int64"),
        pd.Series([3.0, 10.0, np.nan]),
        pd.Series(["C00012", "C00003", "C00999"]),
        pd.Series(["7d9f1c9e-1b6e-4c1a-9a43-2f1f7f0e2b11", "0b3a7a52-1f0c-4c3e-8f6a-5c1d2e3f4a5b"]),
        pd.Series(["alice", "bob", "carol"]),
    ],
)
def test_fresh_ids_are_distinct_and_disjoint_from_real(real):
    fresh = fresh_ids(real, 500, seed=1)
    assert len(fresh) == 500 and fresh.nunique() == 500
    assert not set(fresh.astype(str)) & set(real.dropna().astype(str))
    assert not leaked_ids(pd.DataFrame({"k": fresh}), pd.DataFrame({"k": real}), ["k"])["k"]


def test_fresh_ids_keep_the_style():
    assert fresh_ids(pd.Series(["C00012", "C00999"]), 2).tolist() == ["C01000", "C01001"]
    assert fresh_ids(pd.Series([3, 10]), 2).tolist() == [11, 12]


def test_leaked_ids_counts_copied_ids_across_types():
    real = pd.DataFrame({"k": [1, 2, 3]})
    synthetic = pd.DataFrame({"k": [1.0, 5.0, 3.0, np.nan]})
    assert leaked_ids(synthetic, real, ["k"]) == {"k": 2}
    assert leaked_ids(synthetic.drop(columns="k"), real, ["k"]) == {"k": 0}


@pytest.mark.slow
def test_sdv_alone_copies_real_ids_and_the_lane_does_not():
    """The bug: SDV 2.0's UniformEncoder on a plain id column samples real ids."""
    frame = make_mixed_table(300).assign(patient_id=lambda f: [f"P{i:04d}" for i in range(len(f))])
    train = frame.iloc[:200]
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    sdv = GaussianCopulaSynthesizer(Metadata.detect_from_dataframes({"t": train}, infer_keys=None))
    sdv.fit({"t": train})
    assert leaked_ids(sdv.sample(200)["t"], frame, ["patient_id"])["patient_id"] > 0
    fresh = synthesize(train, seed=0, id_columns=["patient_id"], real_ids=frame[["patient_id"]])
    assert leaked_ids(fresh.data, frame, ["patient_id"]) == {"patient_id": 0}
    assert list(fresh.data.columns) == list(train.columns) and fresh.data["patient_id"].is_unique
    dropped = synthesize(train, seed=0, id_columns=["patient_id"], id_handling="drop")
    assert "patient_id" not in dropped.data.columns and dropped.id_handling == "drop"


@pytest.mark.slow
def test_an_undeclared_sdv_id_column_is_never_sampled_from_real_values():
    frame = make_mixed_table(300).assign(record_id=lambda f: [f"R{i:04d}" for i in range(len(f))])
    synthetic = synthesize(frame, seed=0)  # no id_columns given
    assert synthetic.id_columns == ["record_id"]
    assert leaked_ids(synthetic.data, frame, ["record_id"]) == {"record_id": 0}
