"""The instruction lane's pass rules, in one object: the checks fill it from their config and
turn measurements into verdicts (docs/metrics.md, "Critic calibration AUC", "Critic pass rate",
"Diversity (text)")."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from synth_assets.instructions.calibration import calibration_auc
from synth_assets.instructions.diversity import distinct_n, mean_nearest_rouge_l
from synth_assets.metrics.balance import BalanceReport, balance_report, observed_shares, uniform_shares
from synth_assets.verdicts import Verdict, fmt, not_measured


def expected_topic_shares(candidates: pd.DataFrame, technique: str) -> tuple[dict[str, float], str]:
    """What each topic's share of the kept set should be. Generated techniques plan every
    configured topic evenly, so the fair share is even over the topics the candidates were
    planned for (filtered-out candidates included). Back-translation takes its topics from the
    corpus sample, so the fair share is the topic's share of the sampled candidates."""
    topics = candidates["topic"].dropna().astype(str) if "topic" in candidates else pd.Series(dtype=str)
    if topics.empty:
        return {}, "no topics"
    if technique == "backtranslation":
        shares = topics.value_counts(normalize=True)
        return {str(k): float(v) for k, v in shares.items()}, "each topic's share of the sampled candidates"
    shares = uniform_shares(topics)
    return shares, f"even over the {len(shares)} configured topics"


def switch_advice(critic: str, backend: str) -> str:
    """What to use instead of a critic that failed calibration."""
    if critic == "llm_judge" and backend == "local":
        return (
            "a small local model cannot judge 1-5: use critic 'ifd' on the local backend, or a larger "
            "model (backend anthropic or openai_compatible) for llm_judge"
        )
    if critic == "llm_judge":
        return "use a larger judge model, or critic 'ifd' on a backend with token log-probabilities"
    return "use a larger scoring model (llm.model), or critic 'llm_judge' with a capable remote model"


@dataclass(frozen=True)
class InstructionRules:
    min_calibration_auc: float = 0.80  # good vs corrupted calibration pairs
    min_pass_rate: float = 0.10  # share of judged pairs the critic keeps
    min_distinct_2: float = 0.30
    max_mean_nn_rouge_l: float = 0.70
    min_share_ratio: float = 0.5  # a topic or persona below half its fair share after filtering
    min_expected: float = 3.0  # ... judged only when this many kept pairs were expected in it
    min_human_kappa: float | None = None  # critic vs human reviews (None: reported, not judged)
    min_human_reviews: int = 10  # ... judged only on at least this many reviewed pairs

    def critic_validity(
        self, calibration: pd.DataFrame | None, backend: str = "", human: dict | None = None
    ) -> Verdict:
        """Every critic in use must separate the calibration set's good pairs from corrupted copies.
        ``human``: the critic's agreement with people's reviews (review.Agreement.as_dict()),
        reported beside the AUC and judged against ``min_human_kappa`` when that is set."""
        threshold = f">= {self.min_calibration_auc:g}"
        if calibration is None or calibration.empty:
            return not_measured(
                "critic_validity",
                "calibration_auc",
                threshold,
                "the critic was not calibrated (calibrate: false), so its judgement is unproven",
            )
        aucs, failures, details = {}, [], {}
        for name, group in calibration.groupby("critic", sort=False):
            auc = calibration_auc(group)
            aucs[name] = auc["overall"]
            details[name] = {
                "by_corruption": auc["by_corruption"],
                "n_good": auc["n_good"],
                "n_corrupted": auc["n_corrupted"],
            }
            if not auc["overall"] >= self.min_calibration_auc:
                failures.append(
                    f"{name} AUC {fmt(auc['overall'])} < {self.min_calibration_auc:g}: "
                    f"{switch_advice(name, backend)}"
                )
        shown = ", ".join(f"{name} {fmt(auc)}" for name, auc in aucs.items())
        n_pairs = int(calibration["id"].nunique()) if "id" in calibration else len(calibration)
        values = {f"auc_{name}": auc for name, auc in aucs.items()}
        settings = {"n_calibration_pairs": n_pairs, "backend": backend or "unknown"}
        message = f"calibration AUC {shown} >= {self.min_calibration_auc:g} on {n_pairs} pairs"
        n_human = int((human or {}).get("n") or 0)
        if n_human:
            kappa, accuracy = human.get("kappa"), human.get("accuracy")
            values |= {"human_accuracy": accuracy} | ({"human_kappa": kappa} if kappa is not None else {})
            settings["n_human_reviews"] = n_human
            shown_kappa = "undefined" if kappa is None else fmt(kappa)
            message += f"; people's reviews: kappa {shown_kappa}, accuracy {fmt(accuracy)} on {n_human} pairs"
            if self.min_human_kappa is not None and n_human >= self.min_human_reviews:
                if kappa is None or kappa < self.min_human_kappa:
                    failures.append(
                        f"the critic agrees with people only at kappa {shown_kappa} < "
                        f"{self.min_human_kappa:g} on {n_human} reviewed pairs: raise its threshold or "
                        "change the critic"
                    )
            elif self.min_human_kappa is not None:
                message += f" (too few to judge; {self.min_human_reviews} needed)"
        return Verdict(
            "critic_validity",
            not failures,
            "calibration_auc",
            min(aucs.values()),
            threshold,
            "; ".join(failures) if failures else message,
            values=values,
            settings=settings,
            details=details,
        )

    def pass_rate(self, n_kept: int, n_judged: int) -> Verdict:
        threshold = f">= {self.min_pass_rate:g}"
        if n_judged == 0:
            return not_measured("critic_pass_rate", "pass_rate", threshold, "no pairs reached the critic")
        rate = n_kept / n_judged
        passed = rate >= self.min_pass_rate
        return Verdict(
            "critic_pass_rate",
            passed,
            "pass_rate",
            rate,
            threshold,
            f"pass rate {fmt(rate)} {'>=' if passed else '<'} {self.min_pass_rate:g}: "
            f"{n_kept} of {n_judged} judged pairs kept",
            settings={"n_kept": n_kept, "n_judged": n_judged},
        )

    def diversity(self, instructions: list[str]) -> Verdict:
        threshold = f"distinct_2 >= {self.min_distinct_2:g}, mean_nn_rouge_l <= {self.max_mean_nn_rouge_l:g}"
        if len(instructions) < 2:
            return not_measured(
                "diversity",
                "distinct_2",
                threshold,
                f"{len(instructions)} kept instruction(s); diversity needs at least 2",
                n_instructions=len(instructions),
            )
        d2, rouge = distinct_n(instructions, 2), mean_nearest_rouge_l(instructions)
        d2_ok, rouge_ok = d2 >= self.min_distinct_2, rouge <= self.max_mean_nn_rouge_l
        return Verdict(
            "diversity",
            d2_ok and rouge_ok,
            "distinct_2",
            d2,
            threshold,
            f"distinct-2 {fmt(d2)} {'>=' if d2_ok else '<'} {self.min_distinct_2:g}, mean nearest ROUGE-L "
            f"{fmt(rouge)} {'<=' if rouge_ok else '>'} {self.max_mean_nn_rouge_l:g} over "
            f"{len(instructions)} kept instructions",
            values={"mean_nn_rouge_l": rouge},
            settings={"n_instructions": len(instructions)},
        )

    @property
    def balance_rule(self) -> str:
        return f"share >= {self.min_share_ratio:g} x fair (where >= {self.min_expected:g} pairs expected)"

    def topic_balance(self, topics: BalanceReport, personas: BalanceReport | None, reference: str) -> Verdict:
        """Coverage of the kept set: every judged topic (and persona) keeps at least
        ``min_share_ratio`` of its fair share. ``reference`` says what fair means ("the configured
        topics, evenly" or "the candidates' topics")."""
        reports = {"topic": topics} | ({"persona": personas} if personas is not None else {})
        problems, values, details = [], {}, {}
        for kind, report in reports.items():
            for row in report.groups[report.groups["under"]].itertuples():
                problems.append(
                    f"{kind} '{row.group}' has {row.n} kept pairs, {fmt(row.share)} of the set against a "
                    f"fair share of {fmt(row.expected_share)}"
                )
            values[f"{kind}_entropy"] = report.entropy
            values[f"{kind}_min_max_ratio"] = report.min_max_ratio
            details[kind] = {"groups": report.records(), "n_other": report.n_other}
        n_groups, n_judged = len(topics.groups), topics.n_judged
        coverage = (
            f"{n_judged} of {n_groups} topics judged"
            if n_judged
            else f"no topic judged: {n_groups} topics over {topics.n} kept pairs, fewer than "
            f"{self.min_expected:g} expected in each"
        )
        summary = "; ".join(problems) if problems else "no judged topic or persona below the rule"
        return Verdict(
            "topic_balance",
            not problems,
            "topic_share_ratio",
            topics.min_ratio,
            self.balance_rule,
            f"{summary} ({coverage}; topic entropy {fmt(topics.entropy)}; fair share: {reference})",
            values=values,
            settings={"reference": reference, "n_kept": topics.n, "n_topics": n_groups},
            details=details,
        )

    def topic_balance_of(
        self, kept: pd.DataFrame, candidates: pd.DataFrame, technique: str, personas: list[str]
    ) -> Verdict:
        """:meth:`topic_balance` of the kept pairs against the candidates the day planned (raw
        kept and rejected); personas (generated techniques only) against the configured personas' shares
        among those candidates."""
        shares, reference = expected_topic_shares(candidates, technique)
        if not shares:
            return not_measured(
                "topic_balance", "topic_share_ratio", self.balance_rule, "no topics in the candidates"
            )
        topics = balance_report(kept.get("topic", []), shares, self.min_share_ratio, self.min_expected)
        persona_report = None
        drawn = candidates["persona"].dropna().astype(str) if "persona" in candidates else pd.Series()
        drawn = drawn[drawn.isin([str(p) for p in personas])]
        if technique != "backtranslation" and len(drawn) and "persona" in kept:
            # each candidate's persona is drawn at random: its fair share is what was drawn
            persona_report = balance_report(
                kept["persona"], observed_shares(drawn), self.min_share_ratio, self.min_expected
            )
        return self.topic_balance(topics, persona_report, reference)
