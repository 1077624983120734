"""Bias amplification: group shares and outcome gaps, real vs synthetic."""

import numpy as np
import pandas as pd
import pytest

from synth_assets.metrics.bias import bias_report, suggest_sensitive_columns
from synth_assets.tabular.rules import TabularRules


def applicants(n=2000, gap=0.10, women=0.5, seed=0):
    """Loan decisions: approval rate 0.5 + gap/2 for men, 0.5 - gap/2 for women."""
    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(n) < women, "F", "M")
    rate = np.where(sex == "M", 0.5 + gap / 2, 0.5 - gap / 2)
    return pd.DataFrame(
        {
            "sex": sex,
            "age": rng.integers(18, 80, n),
            "income": rng.normal(3000, 500, n),
            "approved": rng.random(n) < rate,
        }
    )


def test_suggests_columns_by_name_only():
    frame = applicants().assign(usage=1, Gender="x", birth_nationality="y")
    assert suggest_sensitive_columns(frame, "approved") == ["sex", "age", "Gender", "birth_nationality"]


def test_same_population_is_not_amplified():
    report = bias_report(applicants(seed=0), applicants(seed=1), "sex", "approved", "binary")
    assert report.outcome == "rate of target = 1"
    assert abs(report.parity_gap_real - 0.10) < 0.05 and abs(report.gap_increase) < 0.05
    assert report.max_share_shift < 0.03
    assert 0.7 < report.disparate_impact_real < 0.9
    assert TabularRules().bias_amplification([report], "config").passed


def test_a_widened_gap_and_a_shifted_share_fail():
    real = applicants(gap=0.10)
    widened = bias_report(real, applicants(gap=0.40, seed=1), "sex", "approved", "binary")
    assert widened.gap_increase == pytest.approx(0.30, abs=0.06)
    verdict = TabularRules().bias_amplification([widened], "config")
    assert not verdict.passed and "sex: parity gap" in verdict.summary
    shifted = bias_report(real, applicants(women=0.35, seed=1), "sex", "approved", "binary")
    assert shifted.max_share_shift == pytest.approx(0.15, abs=0.04)
    assert "share moved" in TabularRules().bias_amplification([shifted], "config").summary


def test_numeric_columns_are_grouped_in_real_quartiles_and_regression_gaps_scale_by_std():
    real = applicants().assign(score=lambda f: f.age * 2.0)
    report = bias_report(
        real, applicants(seed=1).assign(score=lambda f: f.age * 2.0), "age", "score", "regression"
    )
    assert len(report.groups) == 4 and report.groups.share_real.between(0.2, 0.3).all()
    assert report.gap_scale == pytest.approx(real.score.std())
    assert abs(report.gap_increase) < 0.1


def test_no_sensitive_columns_passes_and_says_so():
    verdict = TabularRules().bias_amplification([], "suggested by name")
    assert verdict.passed and "no sensitive columns" in verdict.summary


def test_the_verdict_carries_the_groups_and_the_scorecard_plots_them(
    breast_cancer_split, gaussian_copula_synth
):
    import json

    from synth_assets.reports.lanes import tabular_scorecard
    from synth_assets.verdicts import Verdict

    split, synthetic = breast_cancer_split, gaussian_copula_synth
    real = split.train.assign(sex=np.where(split.train["mean radius"] > 14, "M", "F"))
    fake = synthetic.data.assign(sex=np.where(synthetic.data["mean radius"] > 14, "M", "F"))
    report = bias_report(real, fake, "sex", "target", "binary")
    verdict = Verdict.from_json(
        json.loads(json.dumps(TabularRules().bias_amplification([report], "config").to_json()))
    )
    groups = verdict.details["per_column"]["sex"]["groups"]
    assert {g["group"] for g in groups} == {"F", "M"}
    card = tabular_scorecard(split, synthetic, {"bias_amplification": verdict})
    assert "Bias audit: sex, real vs synthetic" in card.plots
    assert card.plots["Bias audit: sex, real vs synthetic"].startswith(b"\x89PNG")
    row = next(m for m in card.metrics if m.name == "max_gap_increase")
    assert row.section == "fairness" and row.value == verdict.value
