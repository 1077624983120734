"""Differentially private synthesizers (smartnoise-synth MST / AIM): budget stated, budget felt."""

import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.metrics.fidelity import fidelity_report
from synth_assets.tabular.constraints import Constraint, rows_breaking_any
from synth_assets.tabular.dp_synthesizers import continuous_columns, guarantee_text
from synth_assets.tabular.synthesizers import synthesize
from synth_assets_tests.conftest import make_mixed_table


@pytest.fixture(scope="module")
def people():
    return make_mixed_table(400, seed=1)


def test_guarantee_text_names_budget_and_what_it_does_not_cover():
    assert guarantee_text("mst", 1.0, 1e-5, []).startswith("(ε=1, δ=1e-05)-DP (MST, smartnoise-synth)")
    assert "bounds of 2 column(s) (age, income)" in guarantee_text("aim", 0.5, 1e-6, ["age", "income"])


def test_continuous_columns_are_numbers_and_dates_with_many_values(people):
    assert continuous_columns(people) == ["age", "income", "joined"]
    assert continuous_columns(people.assign(age=people.age % 5)) == ["income", "joined"]


@pytest.mark.slow
def test_mst_at_epsilon_1_keeps_schema_nulls_and_states_its_budget(people):
    synthetic = synthesize(people, kind="mst", epsilon=1.0, delta=1e-5, seed=0)
    assert synthetic.privacy_guarantee.startswith("(ε=1, δ=1e-05)-DP (MST")
    assert (synthetic.epsilon, synthetic.delta) == (1.0, 1e-5)
    data = synthetic.data
    assert list(data.columns) == list(people.columns) and (data.dtypes == people.dtypes).all()
    assert set(data["city"]) <= set(people["city"]) and data["label"].notna().all()
    assert 0 < data["income"].isna().mean() < 0.3  # real: 10 % missing
    assert data["age"].between(people.age.min(), people.age.max()).all()


@pytest.mark.slow
def test_smaller_epsilon_gives_lower_fidelity_on_the_same_seed(people):
    def fidelity(epsilon):
        return fidelity_report(people, synthesize(people, kind="mst", epsilon=epsilon, seed=0).data).overall

    loose, tight = fidelity(10.0), fidelity(0.05)
    assert tight < loose - 0.05, (tight, loose)


@pytest.mark.slow
def test_public_bounds_are_covered_and_rules_are_kept_by_rejection(people):
    frame = people.assign(left=people.joined + pd.to_timedelta(people.age, unit="D"))
    rule = Constraint("inequality", ("joined", "left"))
    bounds = {
        "age": (18, 80),
        "income": (0, 200_000),
        "joined": ("2020-01-01", "2024-12-31"),
        "left": ("2020-01-01", "2025-12-31"),
    }
    synthetic = synthesize(frame, kind="mst", epsilon=2.0, seed=0, dp_bounds=bounds, constraints=[rule])
    assert "read from the data" not in synthetic.privacy_guarantee
    assert rows_breaking_any(synthetic.data, [rule], frame) == 0


def test_bad_budget_is_refused(people):
    with pytest.raises(InputDataError, match="epsilon must be > 0"):
        synthesize(people, kind="mst", epsilon=0.0)
    with pytest.raises(InputDataError, match="delta must be in"):
        synthesize(people, kind="aim", delta=1.0)
    with pytest.raises(InputDataError, match="cannot read 'soon' as a bound"):
        synthesize(people, kind="mst", dp_bounds={"joined": ("2020-01-01", "soon")})


@pytest.mark.slow
def test_timezone_aware_dates_come_back_in_their_zone(people):
    frame = people.assign(joined=people.joined.dt.tz_localize("Europe/Paris"))
    data = synthesize(frame, kind="mst", epsilon=5.0, seed=0).data
    assert data["joined"].dtype == frame["joined"].dtype
    assert data["joined"].between(frame.joined.min(), frame.joined.max()).all()
