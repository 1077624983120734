"""Scorecard values are the metric functions' values; scorecards survive storage; the HTML
report is self-contained and parses; exports carry cards and verifiable SHA-256 manifests."""

import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from synth_assets.exports.writers import (
    MANIFEST,
    export_images,
    export_instructions,
    export_table,
    verify_manifest,
)
from synth_assets.images.evaluation import evaluate_images
from synth_assets.images.rules import ImageRules
from synth_assets.images.sources import load_digits_images, split_images
from synth_assets.images.synthetic import SyntheticImages
from synth_assets.instructions.calibration import calibration_auc, calibration_set
from synth_assets.instructions.datasets import InstructionSet, load_seed_topics
from synth_assets.instructions.diversity import distinct_n, self_bleu
from synth_assets.instructions.rules import InstructionRules
from synth_assets.metrics.fidelity import fidelity_report
from synth_assets.metrics.privacy import dcr_report, membership_inference_auc
from synth_assets.metrics.quality import run_quality_suite
from synth_assets.metrics.row_distance import row_hashes
from synth_assets.metrics.utility import tstr_report
from synth_assets.mix.datasets import AnchoredMix, mix_images, mix_instructions, mix_tables
from synth_assets.reports.html import render_html
from synth_assets.reports.lanes import (
    combined_scorecard,
    image_scorecard,
    instruction_scorecard,
    tabular_scorecard,
)
from synth_assets.reports.scorecard import Scorecard
from synth_assets.storage import load_bundle, save_bundle
from synth_assets.tabular.rules import TabularRules
from synth_assets.verdicts import Verdict


def tabular_verdicts(split, synthetic, rules=TabularRules()) -> dict[str, Verdict]:
    """What the tabular checks would store (the scorecard reads them, it does not measure)."""
    data = synthetic.data
    tstr = tstr_report(data, split.train, split.holdout, split.target, split.task_type)
    dcr = dcr_report(data, split.train, split.holdout, max_rows=10_000)
    quality = run_quality_suite(data, split.train, len(data))
    holdout = run_quality_suite(split.holdout, split.train, len(split.holdout))
    mia = membership_inference_auc(data, split.train, split.holdout)
    verdicts = [
        rules.tstr(tstr),
        rules.dcr(dcr, synthetic.privacy_guarantee),
        rules.data_quality(quality, holdout),
        rules.membership_inference(mia, None, "density-ratio attack not run", len(split.holdout)),
        rules.id_leakage({}, len(data), "fresh"),
        rules.constraint_violations({}, 0, len(data)),
        rules.bias_amplification([], "suggested by name"),
    ]
    return {v.check: Verdict.from_json(v.to_json()) for v in verdicts}  # as stored: 4 significant digits


@pytest.fixture(scope="module")
def tabular_card(breast_cancer_split, gaussian_copula_synth):
    verdicts = tabular_verdicts(breast_cancer_split, gaussian_copula_synth)
    return tabular_scorecard(breast_cancer_split, gaussian_copula_synth, verdicts)


def image_verdicts(split, synthetic, n=300) -> dict[str, Verdict]:
    evaluation = evaluate_images(split, synthetic.images, synthetic.labels, n=n)
    return {v.check: v for v in ImageRules().verdicts(evaluation)}


def instruction_verdicts(critic, raw, personas=()) -> dict[str, Verdict]:
    rules, kept = InstructionRules(min_expected=1), critic.kept["instruction"].tolist()
    candidates = pd.concat([raw.kept, raw.rejects], ignore_index=True)
    verdicts = [
        rules.critic_validity(critic.calibration, "scripted"),
        rules.pass_rate(len(critic.kept), len(critic.kept) + len(critic.rejects)),
        rules.diversity(kept),
        rules.topic_balance_of(critic.kept, candidates, "self_instruct", list(personas)),
    ]
    return {v.check: v for v in verdicts}


@pytest.fixture(scope="module")
def digits_like_synthetic():
    split = split_images(*load_digits_images(), seed=0)
    noisy = np.clip(split.holdout + np.random.default_rng(0).normal(0, 0.05, split.holdout.shape), 0, 1)
    synthetic = SyntheticImages.build(
        noisy.astype(np.float32),
        split.holdout_labels,
        np.arange(len(noisy)),
        split.class_names,
        "holdout+noise",
        0,
        "none",
    )
    return split, synthetic


def _pairs(n, kept=True):
    rows = [
        {
            "id": f"p{i}",
            "topic": ["cooking on a budget", "personal finance basics"][i % 2],
            "instruction": f"Explain step {i} of planning meals number {i * 7} for a student kitchen",
            "input": "",
            "response": f"Answer {i}: buy rice, beans and seasonal vegetables in bulk.",
            "backend": "scripted",
            "model": "scripted-1",
            "judge_score": 5 if kept else 2,
        }
        for i in range(n)
    ]
    frame = pd.DataFrame(rows)
    return frame if kept else frame.assign(reason="judge_score_below_threshold (2.00 < 4.0)", stage="critic")


@pytest.fixture(scope="module")
def instruction_sets():
    seeds = load_seed_topics()
    raw = InstructionSet(_pairs(12), pd.DataFrame({"reason": ["too_short (3 words)", "near_duplicate (x)"]}))
    evolved = InstructionSet(_pairs(10), pd.DataFrame({"reason": ["no_new_information"]}))
    ifd = {"ifd": [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97], "critic_score": None}
    kept = _pairs(8).assign(ifd=ifd["ifd"], critic_score=ifd["ifd"])
    calibration = calibration_set().assign(critic="ifd")
    calibration["score"] = calibration["label"] * 1.0  # a perfect critic, except on echoes
    calibration.loc[calibration["corruption"] == "echo", "score"] = 2.0
    critic = InstructionSet(kept, _pairs(2, kept=False).assign(ifd=[1.1, 1.3]), calibration=calibration)
    return seeds, raw, evolved, critic


def test_tabular_scorecard_shows_the_checks_verdicts_and_measures_the_rest(
    tabular_card, breast_cancer_split, gaussian_copula_synth
):
    split, data = breast_cancer_split, gaussian_copula_synth.data
    verdicts = tabular_verdicts(split, gaussian_copula_synth)
    assert tabular_card.value("quality_score") == fidelity_report(split.train, data).overall
    assert tabular_card.value("tstr_ratio") == verdicts["tstr"].value
    assert tabular_card.value("dcr_share") == verdicts["dcr"].value
    row = next(m for m in tabular_card.metrics if m.name == "tstr_ratio")
    assert row.threshold == ">= 0.9" and verdicts["tstr"].summary in row.meaning
    assert tabular_card.value("mia_auc") == verdicts["membership_inference"].value
    assert tabular_card.value("leaked_ids") == 0 and tabular_card.value("rows_breaking_rules") == 0
    assert tabular_card.value("formal_guarantee") == gaussian_copula_synth.privacy_guarantee
    assert tabular_card.passed and {"fidelity", "utility", "privacy"} <= {
        m.section for m in tabular_card.metrics
    }


def test_a_copy_of_train_fails_the_privacy_rows(breast_cancer_split, gaussian_copula_synth):
    copy = type(gaussian_copula_synth)(
        **{**gaussian_copula_synth.__dict__, "data": breast_cancer_split.train.copy()}
    )
    card = tabular_scorecard(breast_cancer_split, copy, tabular_verdicts(breast_cancer_split, copy))
    failed = {m.name for m in card.metrics if m.passed is False}
    assert {"dcr_share", "mia_auc"} <= failed and not card.passed
    assert card.value("mia_auc") > 0.9


def test_a_stricter_threshold_fails_the_scorecard_row_with_that_threshold(
    breast_cancer_split, gaussian_copula_synth
):
    verdicts = tabular_verdicts(
        breast_cancer_split, gaussian_copula_synth, TabularRules(tstr_min_ratio=0.999)
    )
    card = tabular_scorecard(breast_cancer_split, gaussian_copula_synth, verdicts)
    row = next(m for m in card.metrics if m.name == "tstr_ratio")
    assert row.passed is False and row.threshold == ">= 0.999" and not card.passed


def test_a_check_without_a_result_is_a_failed_row(breast_cancer_split, gaussian_copula_synth):
    verdicts = tabular_verdicts(breast_cancer_split, gaussian_copula_synth)
    del verdicts["dcr"]
    card = tabular_scorecard(breast_cancer_split, gaussian_copula_synth, verdicts)
    row = next(m for m in card.metrics if m.section == "privacy" and m.passed is False)
    assert row.value == "not measured" and "no check result" in row.meaning and not card.passed


def test_image_scorecard_shows_the_checks_verdicts(digits_like_synthetic):
    split, synthetic = digits_like_synthetic
    verdicts = image_verdicts(split, synthetic)
    card = image_scorecard(split, synthetic, verdicts)
    assert card.value("fid") == verdicts["fid"].value and card.value("kid") == verdicts["kid"].value
    assert (
        card.value("recall") == verdicts["prdc"].value
        and card.value("coverage") == verdicts["prdc"].values["coverage"]
        and card.value("class_agreement") == verdicts["class_agreement"].value
    )
    balance = verdicts["class_balance"]
    assert card.value("class_share_ratio") == balance.value and balance.passed
    per_class = card.tables["Class balance (requested vs what the classifier sees)"]
    assert per_class["requested"].sum() == len(synthetic.labels) == per_class["predicted"].sum()
    assert set(card.plots) == {
        "Real train images (one row per class)",
        "Synthetic images (one row per class)",
        "Class balance: requested vs predicted share",
    }


def test_instruction_scorecard_counts_and_diversity(instruction_sets):
    seeds, raw, evolved, critic = instruction_sets
    card = instruction_scorecard(seeds, raw, evolved, critic, "2026-11-20", instruction_verdicts(critic, raw))
    assert [card.value(k) for k in ("generated", "filtered_out", "eliminated", "judged", "kept")] == [
        14,
        2,
        1,
        10,
        8,
    ]
    kept = critic.kept["instruction"].tolist()
    assert card.value("pass_rate") == 0.8 and card.value("distinct_2") == distinct_n(kept, 2)
    assert card.value("self_bleu") == self_bleu(kept)
    # both topics the day asked about have a kept pair
    assert card.value("topic_coverage") == 1.0
    # ... and keep them evenly (4 kept pairs each against an even fair share): topic_balance passes
    assert card.value("topic_share_ratio") == 1.0
    balance = card.tables["Balance by topic (kept vs fair share)"]
    assert balance["n"].tolist() == [4, 4] and balance["expected_share"].tolist() == [0.5, 0.5]
    assert card.plots["Balance by topic: fair share vs kept"].startswith(b"\x89PNG")
    # the language mix of the kept pairs, against the lane's language (English by default)
    assert card.value("language_share") == 1.0
    assert card.tables["Language mix of kept pairs"].to_dict("records") == [{"language": "en", "share": 1.0}]
    reasons = card.tables["Rejections by stage and reason"]
    assert dict(zip(reasons["reason"], reasons["count"], strict=True))["judge_score_below_threshold"] == 2
    # the critic's evidence: calibration AUC per corruption type, IFD histogram, examples
    by_type = card.tables["Critic calibration AUC by corruption type"].iloc[0]
    assert by_type["critic"] == "ifd" and by_type["swapped"] == 1.0 and by_type["echo"] == 0.0
    assert card.value("calibration_auc") == pytest.approx(calibration_auc(critic.calibration)["overall"])
    assert card.plots["IFD of kept and rejected pairs"].startswith(b"\x89PNG")
    best = card.tables["Kept pairs (best 5)"]
    assert len(best) == 5 and best["ifd"].tolist() == [0.97, 0.95, 0.9, 0.85, 0.8]
    assert len(card.tables["Rejected pairs (5 examples)"]) == 2


def test_scorecard_round_trips_through_a_bundle(tabular_card, tmp_path):
    save_bundle(tmp_path / "card", *tabular_card.to_bundle())
    again = Scorecard.from_bundle(*load_bundle(tmp_path / "card"))
    assert again.metrics == tabular_card.metrics and again.plots == tabular_card.plots
    assert (
        list(again.tables) == list(tabular_card.tables) and again.to_markdown() == tabular_card.to_markdown()
    )


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("img", "script", "link"):
            self.images.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_self_contained_and_parses(tabular_card, digits_like_synthetic, instruction_sets):
    split, synthetic = digits_like_synthetic
    cards = [
        tabular_card,
        image_scorecard(split, synthetic, image_verdicts(split, synthetic)),
        instruction_scorecard(
            *instruction_sets, "2026-11-20", instruction_verdicts(instruction_sets[3], instruction_sets[1])
        ),
    ]
    html = render_html([combined_scorecard(cards), *cards])
    parser = _Collect()
    parser.feed(html)
    text = " ".join(parser.text)
    assert parser.tags.count("section") == 4 and parser.tags.count("table") >= 10
    assert all(
        a.get("src", "").startswith("data:image/png;base64,") for a in parser.images
    )  # nothing external
    # image lane: 2 grids + class balance; instructions: IFD and judge histograms + topic balance
    assert len(parser.images) == sum(len(card.plots) for card in cards) == len(tabular_card.plots) + 3 + 3
    for needle in (
        "class_share_ratio",
        "topic_share_ratio",
        "Balance by topic",
        "tstr_ratio",
        "dcr_share",
        "coverage",
        "distinct_2",
        "what this means",
        "Tabular lane",
    ):
        assert needle in text


def test_exports_have_cards_manifests_and_no_holdout(
    tmp_path, breast_cancer_split, gaussian_copula_synth, tabular_card
):
    split = breast_cancer_split
    data, facts = mix_tables(gaussian_copula_synth.data, split.train, 0.10)
    mix = AnchoredMix("tabular", data, facts, provenance={"real_source": "breast_cancer"})
    folder = export_table(mix, tmp_path / "tabular", tabular_card, "how it was made")
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["README.md", MANIFEST, "data.csv", "data.parquet", "manifest.json"]
    exported = pd.read_parquet(folder / "data.parquet")
    columns = list(split.train.columns)
    assert not set(row_hashes(exported[columns]).tolist()) & set(row_hashes(split.holdout[columns]).tolist())
    card = (folder / "README.md").read_text()
    assert "Breast Cancer Wisconsin" in card and "real share 0.09" in card and "tstr_ratio" in card
    assert verify_manifest(folder) == []
    (folder / "data.csv").write_text("tampered")
    assert verify_manifest(folder) == ["data.csv"]


def test_instruction_export_formats(tmp_path, instruction_sets):
    seeds, _, _, critic = instruction_sets
    data, facts = mix_instructions(critic.kept, seeds.seed_tasks, 0.2)
    folder = export_instructions(AnchoredMix("instructions", data, facts), tmp_path / "ins", None, "how")
    chat = [json.loads(line) for line in (folder / "messages.jsonl").read_text().splitlines()]
    alpaca = [json.loads(line) for line in (folder / "alpaca.jsonl").read_text().splitlines()]
    assert len(chat) == len(alpaca) == len(data) == 10
    assert [m["role"] for m in chat[0]["messages"]] == ["user", "assistant"]
    assert set(alpaca[0]) == {"instruction", "input", "output", "source", "origin", "origin_id"}
    assert {row["source"] for row in chat} == {"real", "synthetic"} and verify_manifest(folder) == []


def test_image_export_marks_every_png(tmp_path, digits_like_synthetic):
    from PIL import Image

    split, synthetic = digits_like_synthetic
    images, index, facts = mix_images(
        synthetic.images[:90], synthetic.labels[:90], split.train, split.train_labels, 0.1
    )
    mix = AnchoredMix("images", index, facts, images, split.class_names, {"generator": "g"})
    folder = export_images(mix, tmp_path / "img", None, "how")
    manifest = pd.read_csv(folder / "manifest.csv")
    assert len(manifest) == 100 and (manifest["source"] == "real").sum() == 10
    for row in manifest.itertuples():
        png = Image.open(folder / row.file)
        assert png.text["synthetic"] == ("true" if row.source == "synthetic" else "false")
    assert verify_manifest(folder) == []


def test_instruction_scorecard_shows_the_fine_tuning_utility_or_says_why_not(instruction_sets):
    import pandas as pd

    from synth_assets.instructions.utility import COMPARISON_COLUMNS, UtilityReport, skipped

    seeds, raw, evolved, critic = instruction_sets
    verdicts = instruction_verdicts(critic, raw)
    utility = UtilityReport(
        2.5,
        40,
        pd.DataFrame(
            {
                "set": ["kept", "rejected", "random"],
                "n_pairs": [8, 8, 8],
                "loss_after": [2.2, 2.4, 2.5],
                "gain": [0.3, 0.1, 0.0],
            }
        ),
        pd.DataFrame(
            [["kept_vs_rejected", 3.0, 0.2, 0.1, 0.3], ["kept_vs_random", float("nan"), 0.3, 0.2, 0.4]],
            columns=COMPARISON_COLUMNS,
        ),
    )
    card = instruction_scorecard(seeds, raw, evolved, critic, "2026-11-20", verdicts, utility)
    assert card.value("loss_gain_kept") == 0.3 and card.value("kept_vs_rejected") == 3.0
    assert card.value("kept_vs_random") == "no gain to compare"  # random gained nothing
    meaning = next(m.meaning for m in card.metrics if m.name == "kept_vs_rejected")
    assert "[+0.1000, +0.3000]" in meaning
    assert set(card.tables) >= {
        "Fine-tuning utility by training set",
        "Fine-tuning utility: kept against the others",
    }
    off = instruction_scorecard(seeds, raw, evolved, critic, "2026-11-20", verdicts, skipped("switched off"))
    assert "Fine-tuning utility not measured: switched off." in off.notes
    assert not any(m.section == "utility" for m in off.metrics)
    missing = instruction_scorecard(seeds, raw, evolved, critic, "2026-11-20", verdicts, None)
    assert any("instruction_utility is not materialized" in n for n in missing.notes)
