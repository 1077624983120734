"""Shared fixtures. Test data is made here or shipped with scikit-learn: nothing is downloaded."""

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def breast_cancer_split():
    from synth_assets.tabular.sources import load_real_table
    from synth_assets.tabular.split import split_table

    return split_table(load_real_table("breast_cancer"), holdout_fraction=0.3, seed=0)


@pytest.fixture(scope="session")
def gaussian_copula_synth(breast_cancer_split):
    from synth_assets.tabular.synthesizers import synthesize

    return synthesize(breast_cancer_split.train, kind="gaussian_copula", seed=0)


def make_mixed_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A table with every supported column kind and some missing values; target 'label'."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = np.round(rng.lognormal(10, 0.5, n), 2)
    income[rng.random(n) < 0.1] = np.nan
    city = rng.choice(["Lyon", "Porto", "Oslo"], n)
    member = rng.random(n) < 0.4
    joined = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D")
    score = 0.03 * age + 0.8 * member + (city == "Oslo") + rng.normal(0, 0.5, n)
    label = np.where(score > np.median(score), "yes", "no")
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "city": city,
            "member": member,
            "joined": joined,
            "label": label,
        }
    )


@pytest.fixture
def mixed_table():
    return make_mixed_table()
