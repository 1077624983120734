import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.collapse import collapse_curve
from synth_assets.tabular.sources import load_real_table


@pytest.fixture(scope="module")
def curve():
    small = load_real_table("wine").frame.sample(120, random_state=0).reset_index(drop=True)
    return collapse_curve(small, generations=15, real_share=0.10, seed=0).curve


def _arm(curve, arm, metric):
    return curve[curve["arm"] == arm].sort_values("generation")[metric].to_numpy()


@pytest.mark.slow
def test_synthetic_only_generations_collapse_and_the_anchor_holds(curve):
    only, anchored = _arm(curve, "synthetic_only", "fidelity"), _arm(curve, "anchored", "fidelity")
    assert only[-3:].mean() < only[:2].mean() - 0.05  # fidelity falls generation after generation
    assert anchored[-5:].mean() > only[-5:].mean() + 0.01  # and stays higher with the real anchor
    tails_only, tails_anchored = (
        _arm(curve, "synthetic_only", "tail_coverage"),
        _arm(curve, "anchored", "tail_coverage"),
    )
    assert tails_only[-3:].mean() < tails_only[0] - 0.15  # the tails go first
    assert tails_anchored[-5:].mean() > tails_only[-5:].mean() + 0.1


def test_anchor_below_five_percent_is_refused():
    with pytest.raises(InputDataError, match="at least 0.05"):
        collapse_curve(load_real_table("wine").frame, generations=2, real_share=0.04)
