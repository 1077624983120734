"""Verdicts and the per-lane rules objects (pure logic), the partition window and the UI helpers."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from synth_assets.defs.partitions import partitions_start
from synth_assets.defs.ui import summary, table
from synth_assets.images.evaluation import ImageEvaluation
from synth_assets.images.rules import ImageRules
from synth_assets.instructions.rules import InstructionRules
from synth_assets.metrics.image import ManifoldScores
from synth_assets.metrics.privacy import DCRResult
from synth_assets.metrics.quality import QualityResult
from synth_assets.metrics.utility import TSTRResult
from synth_assets.tabular.rules import TabularRules
from synth_assets.verdicts import Verdict, fmt, not_measured, round_sig, rounded


def test_round_sig_keeps_four_significant_digits():
    assert round_sig(0.123456789) == 0.1235 and round_sig(123456.7) == 123500.0
    assert (
        round_sig(0.0) == 0.0
        and np.isnan(round_sig(float("nan")))
        and round_sig(float("inf")) == float("inf")
    )
    assert rounded({"a": [np.float64(0.987654), 3, True, None, "x"]}) == {"a": [0.9877, 3, True, None, "x"]}
    assert [fmt(v) for v in (0.5, 1.0, 0.93481, 12, "s")] == ["0.5000", "1.000", "0.9348", "12", "s"]


def test_verdict_round_trips_through_json_and_rejects_other_records():
    v = TabularRules().tstr(
        TSTRResult(0.912345678, 0.98, 0.930965, "roc_auc", "gradient_boosting", 398, 398, 171)
    )
    again = Verdict.from_json(json.loads(json.dumps(v.to_json())))
    assert (
        again.value == 0.931 and again.passed and again.threshold == ">= 0.9" and again.summary == v.summary
    )
    assert again.settings_text().startswith("threshold >= 0.9 · model gradient_boosting")
    with pytest.raises(ValueError, match="missing"):
        Verdict.from_json({"check": "tstr"})


def test_tstr_rule_at_and_around_its_threshold():
    def ratio(r):
        return TSTRResult(r, 1.0, r, "roc_auc", "gradient_boosting", 10, 10, 5)

    rules = TabularRules(tstr_min_ratio=0.99)
    assert rules.tstr(ratio(0.99)).passed and not rules.tstr(ratio(0.9899)).passed
    failed = rules.tstr(ratio(0.95))
    assert "< 0.99" in failed.summary and failed.threshold == ">= 0.99" and "\n" not in failed.summary


def test_dcr_fails_on_share_or_on_more_copies_than_the_holdout():
    def dcr(share, copies, holdout_copies):
        return DCRResult(share, copies, holdout_copies, 0.1, 0.1, 100, 100, 3)

    rules = TabularRules()
    assert rules.dcr(dcr(0.5, 0.0, 0.0), "none").passed
    assert not rules.dcr(dcr(0.6, 0.0, 0.0), "none").passed
    copies = rules.dcr(dcr(0.5, 0.2, 0.01), "none")
    assert not copies.passed and "exact train copies 0.2000 > holdout's own 0.01000" in copies.summary


def test_data_quality_names_the_failed_expectations():
    failed = [{"expectation": "expect_column_values_to_be_between", "column": "age", "detail": {}}]
    v = TabularRules().data_quality(QualityResult(False, 12, failed), QualityResult(True, 12))
    assert not v.passed and v.value == 1 and "1 of 12" in v.summary and "between(age)" in v.summary


def _evaluation(fid=5.0, recall=0.9, coverage=0.9, agreement=0.95, per_class=()):
    manifold = ManifoldScores(0.9, recall, 1.0, coverage)
    return ImageEvaluation(
        500,
        "cnn",
        fid,
        4.0,
        0.01,
        0.002,
        0.008,
        0.002,
        manifold,
        ManifoldScores(0.9, 1.0, 1.0, 1.0),
        agreement,
        0.97,
        per_class,
    )


def test_image_rules_are_relative_to_the_baseline():
    rules = ImageRules()
    checks = [v.check for v in rules.verdicts(_evaluation())]
    assert checks == ["fid", "kid", "prdc", "class_agreement", "class_balance"]
    assert rules.fid(_evaluation(fid=10.0)).passed and not rules.fid(_evaluation(fid=10.01)).passed
    assert ImageRules(fid_abs=1.0).fid(_evaluation(fid=8.0)).passed  # 2 x the real-vs-real 4.0
    assert not rules.prdc(_evaluation(coverage=0.5)).passed
    assert not rules.class_agreement(_evaluation(agreement=0.5)).passed


def test_instruction_rules_fail_with_the_reason_when_nothing_can_be_measured():
    rules = InstructionRules()
    assert not rules.pass_rate(0, 0).passed and "no pairs reached the critic" in rules.pass_rate(0, 0).summary
    assert rules.pass_rate(1, 10).passed and not rules.pass_rate(0, 10).passed
    one = rules.diversity(["Explain x"])
    assert not one.passed and one.value is None and "diversity needs at least 2" in one.summary
    uncalibrated = rules.critic_validity(None)
    assert not uncalibrated.passed and "not calibrated" in uncalibrated.summary
    assert not_measured("c", "m", ">= 1", "why").summary == "m not measured: why"


def test_partitions_start_is_recent_by_default_and_validated():
    today = dt.date(2026, 11, 23)
    assert partitions_start(None, today) == dt.date(2026, 10, 1)
    assert partitions_start("", dt.date(2026, 1, 1)) == dt.date(2025, 12, 1)
    assert partitions_start("2026-01-01", today) == dt.date(2026, 1, 1)
    with pytest.raises(ValueError, match="SYNTH_ASSETS_PARTITIONS_START='01/02/2026' is not a date"):
        partitions_start("01/02/2026", today)
    with pytest.raises(ValueError, match="after today"):
        partitions_start("2026-12-01", today)


def test_ui_table_and_summary_fit_the_ui():
    frame = pd.DataFrame(
        {"x": [1.23456, np.nan], "t": ["a\nb" * 100, None], 3: [pd.Timestamp("2020-01-01"), pd.NaT]}
    )
    records = table(frame).records
    assert records[0].data["x"] == 1.235 and records[1].data["x"] is None and records[1].data["3"] is None
    assert len(records[0].data["t"]) <= 120 and "\n" not in records[0].data["t"]
    assert len(summary("x" * 5000).value) == 1000


def test_data_quality_is_judged_against_the_holdouts_own_failures():
    from synth_assets.metrics.quality import QualityResult
    from synth_assets.tabular.rules import TabularRules

    def failed(*columns):
        return [
            {"expectation": "expect_column_values_to_be_between", "column": c, "detail": {}} for c in columns
        ]

    holdout = QualityResult(False, 20, failed("a", "b"))
    rules = TabularRules()
    same = rules.data_quality(QualityResult(False, 20, failed("a")), holdout)
    assert same.passed and same.value == 0 and same.values == {"n_failed_synthetic": 1, "n_failed_holdout": 2}
    beyond = rules.data_quality(QualityResult(False, 20, failed("a", "c")), holdout)
    assert not beyond.passed and beyond.value == 1 and "fail only on synthetic" in beyond.summary
    assert "(c)" in beyond.summary
