"""Scorecards per lane. Each value comes straight from the metric functions in ``metrics/``,
``images/`` and ``instructions/``; nothing is recomputed here."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from synth_assets import thresholds as T
from synth_assets.images.evaluation import ImageThresholds, evaluate_images
from synth_assets.images.sources import ImageSplit
from synth_assets.images.synthetic import SyntheticImages, image_grid
from synth_assets.instructions.calibration import calibration_auc
from synth_assets.instructions.datasets import InstructionSet, SeedTopics
from synth_assets.instructions.diversity import (
    compression_ratio,
    distinct_n,
    mean_nearest_rouge_l,
    self_bleu,
    tfidf_dispersion,
)
from synth_assets.instructions.text import words
from synth_assets.metrics.fidelity import fidelity_report
from synth_assets.metrics.privacy import dcr_report, membership_inference_auc, nndr_report
from synth_assets.metrics.utility import tstr_report
from synth_assets.reports import plots
from synth_assets.reports.scorecard import Metric, Scorecard
from synth_assets.tabular.collapse import CollapseCurve
from synth_assets.tabular.split import TableSplit
from synth_assets.tabular.synthesizers import SyntheticTable

Log = Callable[[str], None]


def tabular_scorecard(
    split: TableSplit,
    synthetic: SyntheticTable,
    collapse: CollapseCurve | None = None,
    seed: int = 0,
    log: Log = lambda message: None,
) -> Scorecard:
    train, holdout, data = split.train, split.holdout, synthetic.data
    log("scorecard: fidelity (SDMetrics quality report)")
    fidelity = fidelity_report(train, data)
    log("scorecard: utility (TSTR)")
    tstr = tstr_report(data, train, holdout, split.target, split.task_type, seed=seed)
    log("scorecard: privacy (DCR, NNDR, membership inference)")
    dcr = dcr_report(data, train, holdout, seed=seed, max_rows=10_000)
    nndr = nndr_report(data, train, holdout, seed=seed)
    mia = membership_inference_auc(data, train, holdout, seed=seed)
    m = [
        Metric(
            "fidelity",
            "quality_score",
            fidelity.overall,
            "SDMetrics overall: mean of column shapes and pair trends (1 = identical).",
            f">= {T.FIDELITY_MIN_OVERALL}",
            fidelity.overall >= T.FIDELITY_MIN_OVERALL,
        ),
        Metric(
            "fidelity",
            "column_shapes",
            fidelity.column_shapes,
            "Mean per-column KS / TV complement: how well each marginal matches.",
        ),
        Metric(
            "fidelity",
            "column_pair_trends",
            fidelity.column_pair_trends,
            "Mean correlation / contingency similarity over column pairs.",
        ),
        Metric(
            "utility",
            "tstr_ratio",
            tstr.tstr_ratio,
            f"A {tstr.model} trained on synthetic rows scores this share of one trained on real rows.",
            f">= {T.TSTR_MIN_RATIO}",
            tstr.tstr_ratio >= T.TSTR_MIN_RATIO,
        ),
        Metric(
            "utility", f"tstr_{tstr.metric}", tstr.tstr_score, "Train on synthetic, test on the real holdout."
        ),
        Metric(
            "utility",
            f"trtr_{tstr.metric}",
            tstr.trtr_score,
            "Train on real train, test on the real holdout: the baseline.",
        ),
        Metric(
            "privacy",
            "dcr_share",
            dcr.dcr_share,
            "Share of synthetic rows nearer to train than to unseen holdout rows; 0.5 is ideal, copies approach 1.",
            f"<= {T.DCR_MAX_SHARE}",
            dcr.dcr_share <= T.DCR_MAX_SHARE,
        ),
        Metric(
            "privacy",
            "exact_match_share",
            dcr.exact_match_share,
            "Synthetic rows identical to a train row, against the holdout's own rate.",
            f"<= {dcr.holdout_exact_match_share:.4f}",
            dcr.exact_match_share <= dcr.holdout_exact_match_share,
        ),
        Metric(
            "privacy",
            "membership_inference_auc",
            mia,
            "AUC of guessing who was in train from distance to the synthetic rows; 0.5 reveals nothing.",
            f"<= {T.MIA_MAX_AUC}",
            mia <= T.MIA_MAX_AUC,
        ),
        Metric(
            "privacy",
            "median_nndr",
            nndr.median_nndr,
            f"Nearest / second-nearest train distance of synthetic rows (holdout rows: {nndr.median_nndr_holdout:.4f}); low means one record is singled out.",
        ),
        Metric(
            "privacy",
            "nndr_below_0.5",
            nndr.share_below_half,
            f"Synthetic rows with NNDR < 0.5 (holdout rows: {nndr.share_below_half_holdout:.4f}).",
        ),
        Metric(
            "privacy",
            "formal_guarantee",
            synthetic.privacy_guarantee,
            "No differential-privacy synthesizer was used; privacy rests on the measurements above.",
        ),
    ]
    shapes = fidelity.per_column.sort_values("Score").head(8)[["Column", "Metric", "Score"]]
    columns = [c for c in train.columns if c != split.target][:5] + [split.target]
    figures = {
        "Real vs synthetic marginals": plots.marginals(train, data, columns),
        "Correlations, real vs synthetic": plots.correlation_heatmaps(train, data),
    }
    notes = [
        f"{len(data)} synthetic rows from {synthetic.synthesizer}; {len(train)} real train and {len(holdout)} real holdout rows."
    ]
    if collapse is not None:
        only, anchored = collapse.final("synthetic_only"), collapse.final("anchored")
        last = int(only["generation"])
        m += [
            Metric(
                "model collapse",
                f"fidelity_gen{last}_synthetic_only",
                float(only["fidelity"]),
                f"Column shapes after {last} generations trained on synthetic data only.",
            ),
            Metric(
                "model collapse",
                f"fidelity_gen{last}_anchored",
                float(anchored["fidelity"]),
                f"The same with {collapse.real_share:.0%} real rows in every generation.",
            ),
            Metric(
                "model collapse",
                f"tail_coverage_gen{last}_synthetic_only",
                float(only["tail_coverage"]),
                "Share of the real 5 % tails still reached (1 = all).",
            ),
            Metric(
                "model collapse",
                f"tail_coverage_gen{last}_anchored",
                float(anchored["tail_coverage"]),
                "The same with the real anchor.",
            ),
        ]
        figures["Model collapse: synthetic-only vs anchored generations"] = plots.collapse_plot(
            collapse.curve
        )
    return Scorecard("tabular", "Tabular lane", m, figures, {"Weakest column shapes": shapes}, notes)


def _stage_counts(
    raw: InstructionSet, evolved: InstructionSet, critic: InstructionSet
) -> tuple[dict, pd.DataFrame]:
    counts = {
        "generated": len(raw.kept) + len(raw.rejects),
        "filtered_out": len(raw.rejects),
        "evolved_pool": len(evolved.kept) + len(evolved.rejects),
        "eliminated": len(evolved.rejects),
        "judged": len(critic.kept) + len(critic.rejects),
        "kept": len(critic.kept),
    }
    reasons = pd.concat(
        [
            s.rejects.assign(stage=name)
            for name, s in (("filter", raw), ("evolution", evolved), ("critic", critic))
            if len(s.rejects)
        ]
        or [pd.DataFrame(columns=["stage", "reason"])],
        ignore_index=True,
    )
    reasons = (
        reasons.assign(reason=reasons["reason"].astype(str).str.split(" ").str[0])
        .groupby(["stage", "reason"], sort=False)
        .size()
        .reset_index(name="count")
    )
    return counts, reasons


def instruction_scorecard(
    seeds: SeedTopics, raw: InstructionSet, evolved: InstructionSet, critic: InstructionSet, partition: str
) -> Scorecard:
    counts, reasons = _stage_counts(raw, evolved, critic)
    m = [
        Metric("counts", name, value, meaning)
        for (name, value), meaning in zip(
            counts.items(),
            (
                "Candidate instructions generated.",
                "Removed by the filters (length, duplicates, unanswerable, ...).",
                "Pairs entering and produced by Evol-Instruct.",
                "Evolutions eliminated (no new information, copied prompt, ...).",
                "Pairs scored by the critic.",
                "Pairs at or above the judge threshold.",
            ),
            strict=True,
        )
    ]
    tables = {"Rejections by stage and reason": reasons}
    figures = {}
    m += _critic_evidence(critic, tables, figures)
    rate = counts["kept"] / counts["judged"] if counts["judged"] else 0.0
    m.append(
        Metric(
            "critic",
            "pass_rate",
            rate,
            "Share of judged pairs the critic kept.",
            f">= {T.CRITIC_MIN_PASS_RATE}",
            rate >= T.CRITIC_MIN_PASS_RATE,
        )
    )
    judged = pd.concat([critic.kept, critic.rejects], ignore_index=True)
    scores = pd.to_numeric(judged.get("judge_score", pd.Series(dtype=float)), errors="coerce").dropna()
    if len(scores):
        m.append(
            Metric(
                "critic",
                "mean_judge_score",
                float(scores.mean()),
                "Mean judge score (1-5) over judged pairs.",
            )
        )
    kept = critic.kept["instruction"].astype(str).tolist()
    responses = critic.kept["response"].astype(str).tolist() if "response" in critic.kept else []
    if len(kept) >= 2:
        d2, rouge = distinct_n(kept, 2), mean_nearest_rouge_l(kept)
        m += [
            Metric(
                "diversity",
                "distinct_1",
                distinct_n(kept, 1),
                "Unique words / all words of kept instructions.",
            ),
            Metric(
                "diversity",
                "distinct_2",
                d2,
                "Unique word pairs / all word pairs.",
                f">= {T.MIN_DISTINCT_2}",
                d2 >= T.MIN_DISTINCT_2,
            ),
            Metric(
                "diversity",
                "mean_nn_rouge_l",
                rouge,
                "Mean ROUGE-L to the most similar other instruction (lower is more diverse).",
                f"<= {T.MAX_MEAN_NN_ROUGE_L}",
                rouge <= T.MAX_MEAN_NN_ROUGE_L,
            ),
            Metric(
                "diversity",
                "self_bleu",
                self_bleu(kept),
                "BLEU-4 of each instruction against the others (lower is more diverse).",
            ),
            Metric(
                "diversity",
                "compression_ratio",
                compression_ratio(kept),
                "Raw / gzip size of the instructions (higher is more repetitive).",
            ),
            Metric(
                "diversity",
                "tfidf_dispersion",
                tfidf_dispersion(kept),
                "Mean cosine distance of TF-IDF vectors to their centroid (higher is more spread).",
            ),
        ]
    else:
        m.append(
            Metric(
                "diversity",
                "kept_instructions",
                len(kept),
                "Diversity needs at least 2 kept instructions.",
                ">= 2",
                False,
            )
        )
    for name, texts in (("instruction", kept), ("response", responses)):
        if texts:
            lengths = np.array([len(words(t)) for t in texts])
            m.append(
                Metric(
                    "length",
                    f"{name}_words_median",
                    float(np.median(lengths)),
                    f"Median words per kept {name} (min {lengths.min()}, max {lengths.max()}).",
                )
            )
    topics = set(critic.kept["topic"]) if "topic" in critic.kept else set()
    asked = {t for frame in (raw.kept, raw.rejects) for t in frame.get("topic", pd.Series()).dropna()}
    if asked:
        m.append(
            Metric(
                "coverage",
                "topic_coverage",
                len(topics & asked) / len(asked),
                f"Share of the {len(asked)} topics (source documents for back-translation) "
                "with at least one kept pair.",
            )
        )
    if len(scores):
        figures["Judge score distribution"] = plots.histogram(
            scores,
            bins=np.arange(0.5, 6.0, 1.0),
            title=f"judge scores, {len(scores)} pairs",
            xlabel="score (1-5)",
        )
    backends = ", ".join(sorted(set(judged["backend"].dropna()))) if "backend" in judged else ""
    notes = [f"Partition {partition}; backend {backends or 'unknown'}."]
    return Scorecard("instructions", f"Instruction lane ({partition})", m, figures, tables, notes)


def _examples(frame: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    columns = [c for c in ("instruction", "response", "ifd", "critic_score", "reason") if c in frame]
    shown = frame[columns].head(n).copy()
    for column in ("instruction", "response"):
        if column in shown:
            shown[column] = shown[column].astype(str).str.slice(0, 160).str.replace("\n", " ")
    return shown


def _critic_evidence(critic: InstructionSet, tables: dict, figures: dict) -> list[Metric]:
    """Calibration AUC per critic and corruption, IFD of kept vs rejected pairs, and examples."""
    metrics = []
    if critic.calibration is not None and not critic.calibration.empty:
        rows = []
        for name, group in critic.calibration.groupby("critic", sort=False):
            auc = calibration_auc(group)
            rows.append({"critic": name, "overall": auc["overall"], **auc["by_corruption"]})
            metrics.append(
                Metric(
                    "critic",
                    f"calibration_auc_{name}",
                    auc["overall"],
                    f"ROC AUC of the {name} critic separating {auc['n_good']} good calibration pairs from "
                    f"{auc['n_corrupted']} corrupted copies (0.5: cannot judge).",
                    f">= {T.CRITIC_MIN_CALIBRATION_AUC}",
                    auc["overall"] >= T.CRITIC_MIN_CALIBRATION_AUC,
                )
            )
        tables["Critic calibration AUC by corruption type"] = pd.DataFrame(rows).round(4)
    kept_ifd = critic.kept["ifd"].dropna().tolist() if "ifd" in critic.kept else []
    rejected_ifd = critic.rejects["ifd"].dropna().tolist() if "ifd" in critic.rejects else []
    if kept_ifd or rejected_ifd:
        top = max([1.5, *kept_ifd, *rejected_ifd])
        figures["IFD of kept and rejected pairs"] = plots.histograms(
            {"kept": kept_ifd, "rejected": rejected_ifd},
            bins=np.linspace(0, min(top, 3.0), 31),
            title="instruction-following difficulty (< 1: the instruction helps)",
            xlabel="IFD",
        )
    order = "critic_score" if "critic_score" in critic.kept else None
    kept = critic.kept.sort_values(order, ascending=False) if order else critic.kept
    tables["Kept pairs (best 5)"] = _examples(kept)
    tables["Rejected pairs (5 examples)"] = _examples(critic.rejects.sample(frac=1.0, random_state=0))
    return metrics


def image_scorecard(
    split: ImageSplit,
    synthetic: SyntheticImages,
    n: int = 500,
    seed: int = 0,
    log: Log = lambda message: None,
) -> Scorecard:
    e = evaluate_images(split, synthetic.images, synthetic.labels, n=n, seed=seed, log=log)
    rules = ImageThresholds()
    threshold, kid_threshold = rules.fid(e), rules.kid(e)
    fake, real = e.manifold, e.manifold_baseline
    m = [
        Metric(
            "fidelity",
            "fid",
            e.fid,
            f"Frechet distance to the real holdout at n={e.n} ({e.feature_extractor} features); real-vs-real: {e.fid_baseline:.4f}.",
            f"<= {threshold:.4f}",
            e.fid <= threshold,
        ),
        Metric(
            "fidelity",
            "fid_baseline",
            e.fid_baseline,
            "Real train vs real holdout at the same n: the floor FID can reach.",
        ),
        Metric(
            "fidelity",
            "kid",
            e.kid,
            f"Unbiased KID (std {e.kid_std:.4f}); real-vs-real {e.kid_baseline:.4f}.",
            f"<= {kid_threshold:.4f}",
            e.kid <= kid_threshold,
        ),
        Metric(
            "diversity",
            "precision",
            fake.precision,
            f"Share of generated images inside the real manifold (real: {real.precision:.4f}).",
        ),
        Metric(
            "diversity",
            "recall",
            fake.recall,
            f"Share of real images covered by the generated manifold (real: {real.recall:.4f}); low means mode collapse.",
            f">= {rules.min_recall(e):.4f}",
            fake.recall >= rules.min_recall(e),
        ),
        Metric(
            "diversity",
            "density",
            fake.density,
            f"How many real neighbourhoods contain each generated image (real: {real.density:.4f}).",
        ),
        Metric(
            "diversity",
            "coverage",
            fake.coverage,
            f"Share of real images with a generated image nearby (real: {real.coverage:.4f}).",
            f">= {rules.min_coverage(e):.4f}",
            fake.coverage >= rules.min_coverage(e),
        ),
        Metric(
            "utility",
            "class_agreement",
            e.class_agreement,
            f"Generated images a real-trained classifier puts in their conditioned class (its real holdout accuracy: {e.classifier_holdout_accuracy:.4f}).",
            f">= {T.MIN_CLASS_AGREEMENT}",
            e.class_agreement >= T.MIN_CLASS_AGREEMENT,
        ),
    ]
    n_classes = len(split.class_names)
    figures = {
        "Real train images (one row per class)": image_grid(split.train, split.train_labels, n_classes),
        "Synthetic images (one row per class)": image_grid(synthetic.images, synthetic.labels, n_classes),
    }
    notes = [f"{len(synthetic.images)} images from {synthetic.generator}; real source {split.source}."]
    return Scorecard("images", "Image lane", m, figures, {}, notes)


def combined_scorecard(cards: list[Scorecard]) -> Scorecard:
    """One line per lane: its verdict and the metrics that failed."""
    m = [
        Metric(
            "lanes",
            card.lane,
            "pass" if card.passed else f"{card.n_failed} failed",
            f"{card.title}: "
            + (
                ", ".join(x.name for x in card.metrics if x.passed is False)
                or "every thresholded metric passed"
            )
            + ".",
            "all pass",
            card.passed,
        )
        for card in cards
    ]
    return Scorecard("combined", "All lanes", m, {}, {}, [])
