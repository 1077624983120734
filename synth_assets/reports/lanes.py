"""Scorecards per lane. Gated metrics come from the checks' verdicts (measured once, by the
checks); the scorecards add what only they show: fidelity, NNDR, membership inference, the
collapse curve, extra diversity measures, counts, plots and examples (docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from synth_assets.images.sources import ImageSplit
from synth_assets.images.synthetic import SyntheticImages, image_grid
from synth_assets.instructions.datasets import InstructionSet, SeedTopics
from synth_assets.instructions.diversity import compression_ratio, distinct_n, self_bleu, tfidf_dispersion
from synth_assets.instructions.languages import language_mix, language_name, normalise
from synth_assets.instructions.text import words
from synth_assets.instructions.utility import UtilityReport
from synth_assets.metrics.fidelity import fidelity_report
from synth_assets.metrics.privacy import nndr_report
from synth_assets.reports import plots
from synth_assets.reports.scorecard import Metric, Scorecard
from synth_assets.tabular.collapse import CollapseCurve
from synth_assets.tabular.rules import TabularRules
from synth_assets.tabular.split import TableSplit
from synth_assets.tabular.synthesizers import SyntheticTable
from synth_assets.verdicts import Verdict, not_measured

Log = Callable[[str], None]

# What each check's headline metric means, for readers of the scorecard.
MEANINGS = {
    "tstr": "A model trained on synthetic rows scores this share of one trained on real rows (real holdout).",
    "dcr": "Share of synthetic rows nearer to train than to unseen holdout rows; 0.5 is ideal, copies approach 1.",
    "data_quality": "Expectations derived from real train (types, ranges, categories, nulls) that the synthetic rows break and the real holdout keeps.",
    "id_leakage": "Synthetic rows carrying an id that occurs in the real table (train or holdout).",
    "constraint_violations": "Synthetic rows breaking a rule between columns (declared in config, or detected and enforced).",
    "membership_inference": "AUC of guessing who was in train from distance to the synthetic rows; 0.5 reveals nothing.",
    "bias_amplification": "Largest widening of the outcome gap between groups of a sensitive column, real vs synthetic.",
    "fid": "Frechet distance of generated to real holdout images in the feature space; judged against real-vs-real.",
    "kid": "Unbiased kernel distance to the real holdout (cubic kernel); judged against real-vs-real.",
    "prdc": "Recall: share of real images covered by the generated manifold; low means mode collapse.",
    "class_agreement": "Generated images a real-trained classifier puts in their conditioned class.",
    "class_balance": "Worst ratio of a class's share among the classifier's predictions to its requested share.",
    "critic_validity": "The critic's ROC AUC on good vs corrupted calibration pairs (0.5: it cannot judge).",
    "critic_pass_rate": "Share of judged pairs the critic kept.",
    "diversity": "Unique word pairs / all word pairs of kept instructions (and nearest ROUGE-L, see the check).",
    "topic_balance": "Worst ratio of a judged topic's (or persona's) share of the kept set to its fair share.",
}


UTILITY_SETS = {
    "kept": "critic-kept pairs",
    "rejected": "critic-rejected pairs",
    "random": "random pairs of all the critic judged",
}


def verdict_metrics(section: str, verdicts: dict[str, Verdict], names: list[str]) -> list[Metric]:
    """One row per check in ``names``, as its check judged it: value, rule and verdict. A check
    without a verdict (never run, or run on an older materialization) is a failed row."""
    rows = []
    for name in names:
        v = verdicts.get(name) or not_measured(
            name, name, "", "no check result; run the lane with its checks"
        )
        value = v.value if v.value is not None else "not measured"
        rows.append(
            Metric(
                section,
                v.metric,
                value,
                f"{MEANINGS.get(name, '')} Check '{name}': {v.summary}.",
                v.threshold,
                v.passed,
            )
        )
    return rows


def tabular_scorecard(
    split: TableSplit,
    synthetic: SyntheticTable,
    verdicts: dict[str, Verdict],
    collapse: CollapseCurve | None = None,
    rules: TabularRules = TabularRules(),
    seed: int = 0,
    log: Log = lambda message: None,
) -> Scorecard:
    """``verdicts``: the lane's checks' latest results (tstr, dcr, membership_inference,
    id_leakage, constraint_violations, data_quality). Id columns are left out of every measure."""
    ids = synthetic.id_columns
    train, holdout, data = (split.without_ids(f, ids) for f in (split.train, split.holdout, synthetic.data))
    log("scorecard: fidelity (SDMetrics quality report)")
    fidelity = fidelity_report(train, data)
    log("scorecard: privacy (NNDR)")
    nndr = nndr_report(data, train, holdout, seed=seed)
    m = [
        Metric(
            "fidelity",
            "quality_score",
            fidelity.overall,
            "SDMetrics overall: mean of column shapes and pair trends (1 = identical).",
            f">= {rules.fidelity_min_overall:g}",
            fidelity.overall >= rules.fidelity_min_overall,
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
        *verdict_metrics("utility", verdicts, ["tstr"]),
        *verdict_metrics("privacy", verdicts, ["dcr", "membership_inference", "id_leakage"]),
        Metric(
            "privacy",
            "median_nndr",
            nndr.median_nndr,
            f"Nearest / second-nearest train distance of synthetic rows (holdout rows: {nndr.median_nndr_holdout:.4g}); low means one record is singled out.",
        ),
        Metric(
            "privacy",
            "nndr_below_0.5",
            nndr.share_below_half,
            f"Synthetic rows with NNDR < 0.5 (holdout rows: {nndr.share_below_half_holdout:.4g}).",
        ),
        Metric(
            "privacy",
            "formal_guarantee",
            synthetic.privacy_guarantee,
            "Differential privacy of the synthesizer itself, stated by it."
            if synthetic.epsilon
            else "No differential-privacy synthesizer was used; privacy rests on the measurements above.",
        ),
        *verdict_metrics("data quality", verdicts, ["data_quality", "constraint_violations"]),
        *verdict_metrics("fairness", verdicts, ["bias_amplification"]),
    ]
    shapes = fidelity.per_column.sort_values("Score").head(8)[["Column", "Metric", "Score"]]
    columns = [c for c in train.columns if c != split.target][:5] + [split.target]
    figures = {
        "Real vs synthetic marginals": plots.marginals(train, data, columns),
        "Correlations, real vs synthetic": plots.correlation_heatmaps(train, data),
    }
    bias = verdicts.get("bias_amplification")
    for column, facts in ((bias.details.get("per_column") or {}) if bias else {}).items():
        figures[f"Bias audit: {column}, real vs synthetic"] = plots.group_bars(
            pd.DataFrame(facts["groups"]), column, facts["outcome"]
        )
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
    seeds: SeedTopics,
    raw: InstructionSet,
    evolved: InstructionSet,
    critic: InstructionSet,
    partition: str,
    verdicts: dict[str, Verdict],
    utility: UtilityReport | None = None,
) -> Scorecard:
    """``verdicts``: the critic_validity, critic_pass_rate, diversity and topic_balance checks'
    latest results for this partition; ``utility``: the partition's instruction_utility."""
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
    m += verdict_metrics("critic", verdicts, ["critic_validity", "critic_pass_rate"])
    _critic_evidence(critic, verdicts.get("critic_validity"), tables, figures)
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
    m += verdict_metrics("diversity", verdicts, ["diversity"])
    if len(kept) >= 2:
        m += [
            Metric(
                "diversity",
                "distinct_1",
                distinct_n(kept, 1),
                "Unique words / all words of kept instructions.",
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
    m += verdict_metrics("coverage", verdicts, ["topic_balance"])
    _language_mix(critic, m, tables)
    _balance_evidence(verdicts.get("topic_balance"), tables, figures)
    if len(scores):
        figures["Judge score distribution"] = plots.histogram(
            scores,
            bins=np.arange(0.5, 6.0, 1.0),
            title=f"judge scores, {len(scores)} pairs",
            xlabel="score (1-5)",
        )
    backends = ", ".join(sorted(set(judged["backend"].dropna()))) if "backend" in judged else ""
    notes = [f"Partition {partition}; backend {backends or 'unknown'}."]
    if utility is None:
        notes.append(
            "Fine-tuning utility not measured: instruction_utility is not materialized for this day."
        )
    else:
        notes += _utility_evidence(utility, m, tables)
    return Scorecard("instructions", f"Instruction lane ({partition})", m, figures, tables, notes)


def _utility_evidence(utility: UtilityReport, m: list[Metric], tables: dict) -> list[str]:
    """The fine-tuning utility (instruction_utility): per training set the held-out loss gain,
    and the kept set's gain over the rejected and random sets', with their intervals."""
    if utility.skipped:
        return [f"Fine-tuning utility not measured: {utility.skipped}."]
    m.append(
        Metric(
            "utility",
            "heldout_loss_before",
            utility.loss_before,
            f"Loss per response token of the untuned model on {utility.n_heldout} held-out human pairs.",
        )
    )
    for row in utility.results.itertuples(index=False):
        m.append(
            Metric(
                "utility",
                f"loss_gain_{row.set}",
                row.gain,
                f"Held-out loss drop after a LoRA fine-tune on {row.n_pairs} {UTILITY_SETS[row.set]}.",
            )
        )
    for row in utility.comparisons.itertuples(index=False):
        m.append(
            Metric(
                "utility",
                row.comparison,
                row.ratio if pd.notna(row.ratio) else "no gain to compare",
                f"Gain of the kept set over the {row.comparison.split('_vs_')[1]} set's (above 1: the "
                f"critic's choice teaches more); held-out loss difference {row.loss_difference:+.4f}, "
                f"95% interval [{row.ci_low:+.4f}, {row.ci_high:+.4f}].",
            )
        )
    tables["Fine-tuning utility by training set"] = utility.results
    tables["Fine-tuning utility: kept against the others"] = utility.comparisons
    return list(utility.notes)


def _language_mix(critic: InstructionSet, m: list[Metric], tables: dict) -> None:
    """Which languages the kept pairs are written in (langdetect), against the lane's."""
    kept = critic.kept
    if kept.empty or "instruction" not in kept:
        return
    language = normalise(critic.meta.get("language"))
    texts = (kept["instruction"].astype(str) + "\n" + kept.get("response", "").astype(str)).tolist()
    mix = language_mix(texts)
    m.append(
        Metric(
            "coverage",
            "language_share",
            mix.get(language, 0.0),
            f"Share of kept pairs detected (langdetect) in the lane's language, {language_name(language)} "
            f"({language}); the rest: {', '.join(f'{k} {v:.0%}' for k, v in mix.items() if k != language) or 'none'}.",
        )
    )
    tables["Language mix of kept pairs"] = pd.DataFrame([{"language": k, "share": v} for k, v in mix.items()])


def _balance_evidence(verdict: Verdict | None, tables: dict, figures: dict) -> None:
    """Topic and persona shares of the kept set against their fair shares, as topic_balance
    measured them: a table and a bar plot each."""
    for kind, found in ((verdict.details if verdict else {}) or {}).items():
        groups = pd.DataFrame(found["groups"])
        if groups.empty:
            continue
        tables[f"Balance by {kind} (kept vs fair share)"] = groups.drop(columns=["judged"])
        figures[f"Balance by {kind}: fair share vs kept"] = plots.share_bars(
            groups, f"{kind}: share of the kept set", "fair share", "kept"
        )


def _examples(frame: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    columns = [c for c in ("instruction", "response", "ifd", "critic_score", "reason") if c in frame]
    shown = frame[columns].head(n).copy()
    for column in ("instruction", "response"):
        if column in shown:
            shown[column] = shown[column].astype(str).str.slice(0, 160).str.replace("\n", " ")
    return shown


def _critic_evidence(critic: InstructionSet, validity: Verdict | None, tables: dict, figures: dict) -> None:
    """Calibration AUC per critic and corruption (as critic_validity measured it), IFD of kept vs
    rejected pairs, and examples."""
    if validity is not None and validity.details:
        rows = [
            {"critic": name, "overall": validity.values.get(f"auc_{name}"), **found["by_corruption"]}
            for name, found in validity.details.items()
        ]
        tables["Critic calibration AUC by corruption type"] = pd.DataFrame(rows)
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


def image_scorecard(split: ImageSplit, synthetic: SyntheticImages, verdicts: dict[str, Verdict]) -> Scorecard:
    """``verdicts``: the fid, kid, prdc, class_agreement and class_balance checks' latest results."""
    m = [
        *verdict_metrics("fidelity", verdicts, ["fid", "kid"]),
        *verdict_metrics("diversity", verdicts, ["prdc"]),
    ]
    prdc = verdicts.get("prdc")
    if prdc is not None:
        m += [
            Metric(
                "diversity",
                name,
                prdc.values[name],
                f"As check 'prdc' measured it (real-vs-real: {prdc.values.get(name + '_baseline', float('nan')):.4g}).",
            )
            for name in ("precision", "density", "coverage")
            if name in prdc.values
        ]
    m += verdict_metrics("utility", verdicts, ["class_agreement"])
    m += verdict_metrics("coverage", verdicts, ["class_balance"])
    n_classes = len(split.class_names)
    figures = {
        "Real train images (one row per class)": image_grid(split.train, split.train_labels, n_classes),
        "Synthetic images (one row per class)": image_grid(synthetic.images, synthetic.labels, n_classes),
    }
    tables = {}
    balance = verdicts.get("class_balance")
    if balance is not None and balance.details.get("per_class"):
        per_class = pd.DataFrame(balance.details["per_class"])
        tables["Class balance (requested vs what the classifier sees)"] = per_class
        figures["Class balance: requested vs predicted share"] = plots.share_bars(
            per_class.rename(
                columns={"class": "group", "requested_share": "expected_share", "predicted_share": "share"}
            ),
            "share of generated images per class",
            "requested",
            "classifier sees",
        )
    notes = [f"{len(synthetic.images)} images from {synthetic.generator}; real source {split.source}."]
    return Scorecard("images", "Image lane", m, figures, tables, notes)


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
