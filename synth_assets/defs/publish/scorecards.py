"""Validation scorecards per lane and combined, in the asset metadata and as one self-contained
HTML report. Scorecards read the stored lane outputs whether or not their gates passed (a
failing lane's scorecard is the place to see why) and the latest check results from the
instance: a gated metric is measured once, by its check, and shown here as the check judged it."""

from pathlib import Path
from urllib.parse import quote

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    BackfillPolicy,
    Config,
    Failure,
    MetadataValue,
    asset,
)
from pydantic import Field

from synth_assets.defs.check_results import latest_check_records
from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.gates import check_keys
from synth_assets.defs.io_manager import OPTIONAL
from synth_assets.defs.locations import OutputLocation
from synth_assets.defs.partitions import daily_partitions
from synth_assets.defs.ui import number, summary, table
from synth_assets.defs.versions import code_version
from synth_assets.images.sources import ImageSplit
from synth_assets.images.synthetic import SyntheticImages
from synth_assets.instructions.datasets import SeedTopics
from synth_assets.mix.anchor import DEFAULT_REAL_SHARE
from synth_assets.reports.html import render_html
from synth_assets.reports.lanes import (
    combined_scorecard,
    image_scorecard,
    instruction_scorecard,
    tabular_scorecard,
)
from synth_assets.reports.plots import collapse_plot
from synth_assets.reports.scorecard import Scorecard, png_markdown
from synth_assets.storage import atomic_write_text
from synth_assets.tabular.collapse import CollapseCurve, collapse_curve
from synth_assets.tabular.split import TableSplit
from synth_assets.tabular.synthesizers import SyntheticTable

GROUP = "validation"
PREFIX = "scorecard"


class CollapseConfig(Config):
    generations: int = Field(default=15, description="Generations, each fit on the previous one's output.")
    real_share: float = Field(
        default=DEFAULT_REAL_SHARE, description="Real share of every anchored generation."
    )
    synthesizer: str = Field(default="gaussian_copula", description="SDV synthesizer refit each generation.")
    seed: int = 0


class ReportConfig(Config):
    report_dir: str | None = Field(
        default=None, description="Folder for the HTML report; default <output dir>/reports."
    )
    report_base_url: str | None = Field(
        default=None,
        description="URL under which report_dir is served (a web server, a bucket); the 'report' "
        "entry links there. Default: a file:// link, which browsers open from a local UI when "
        "copied into the address bar.",
    )


def _verdicts(context, asset: str, partition_key: str | None = None) -> dict:
    """The latest verdict of every check on ``asset`` (for the partition), from the instance."""
    records = latest_check_records(context.instance, check_keys(AssetKey(asset)), partition_key)
    for name, record in records.items():
        if not record.evaluated_latest:
            context.log.warning(f"{asset} check '{name}': {record.verdict.summary}")
    return {name: record.verdict for name, record in records.items()}


def _publish(context, card: Scorecard, extra: dict | None = None) -> Scorecard:
    """Metadata, top down: the verdict in one line, the metric table and the lane's tables (both
    shown without a click), each plot as its own entry, then the numbers (for plots over time)."""
    failed = [m.name for m in card.metrics if m.passed is False]
    n_rules = sum(m.passed is not None for m in card.metrics)
    verdict = f"{'PASS' if card.passed else 'FAIL'}: {card.title}: " + (
        f"{len(failed)} of {n_rules} thresholded metrics failed ({', '.join(failed)})"
        if failed
        else f"all {n_rules} thresholded metrics pass"
    )
    context.log.info(verdict)
    frame = card.metrics_frame()[["section", "name", "value", "threshold", "status", "meaning"]]
    metadata = {"summary": summary(verdict), **(extra or {}), "metrics": table(frame, len(frame))}
    metadata.update({caption: table(t, 20) for caption, t in card.tables.items()})
    metadata.update(
        {caption: MetadataValue.md(png_markdown(png, caption)) for caption, png in card.plots.items()}
    )
    metadata.update({"passed": card.passed, "n_failed": card.n_failed})
    metadata.update({m.name: number(m.value) for m in card.metrics if isinstance(m.value, int | float)})
    metadata["scorecard"] = MetadataValue.md(card.to_markdown(with_plots=False))
    context.add_output_metadata(metadata)
    return card


@asset(code_version=code_version("collapse_curve"), name="collapse_curve", group_name=GROUP, kinds={"sdv"})
def collapse_curve_asset(
    context: AssetExecutionContext, config: CollapseConfig, real_table: TableSplit
) -> CollapseCurve:
    """Model collapse, measured: a synthesizer refit for G generations on its own output, once
    synthetic-only and once with a real anchor; fidelity and tail coverage per generation."""
    with settings_errors_are_final():
        curve = collapse_curve(
            real_table.without_ids(real_table.train),
            generations=config.generations,
            real_share=config.real_share,
            synthesizer=config.synthesizer,
            seed=config.seed,
            log=context.log.info,
        )
    only, anchored = curve.final("synthetic_only"), curve.final("anchored")
    context.add_output_metadata(
        {
            "summary": summary(
                f"after {int(only['generation'])} generations: fidelity {float(only['fidelity']):.4g} "
                f"synthetic-only vs {float(anchored['fidelity']):.4g} with a {config.real_share:.0%} "
                "real anchor"
            ),
            "final_fidelity_synthetic_only": number(float(only["fidelity"])),
            "final_fidelity_anchored": number(float(anchored["fidelity"])),
            "final_tail_coverage_synthetic_only": number(float(only["tail_coverage"])),
            "final_tail_coverage_anchored": number(float(anchored["tail_coverage"])),
            "curve": table(curve.curve, len(curve.curve)),
            "plot": MetadataValue.md(png_markdown(collapse_plot(curve.curve), "collapse curve")),
        }
    )
    return curve


@asset(
    code_version=code_version("tabular_scorecard"),
    key_prefix=PREFIX,
    name="tabular_scorecard",
    group_name=GROUP,
    ins={"collapse": AssetIn("collapse_curve")},
    kinds={"sdmetrics"},
)
def tabular_scorecard_asset(
    context: AssetExecutionContext,
    real_table: TableSplit,
    tabular_synth: SyntheticTable,
    collapse: CollapseCurve,
) -> Scorecard:
    """Fidelity (SDMetrics quality), utility (TSTR vs TRTR), privacy (DCR, exact matches, NNDR,
    membership inference, formal guarantee) and the collapse curve."""
    card = tabular_scorecard(
        real_table, tabular_synth, _verdicts(context, "tabular_synth"), collapse, log=context.log.info
    )
    return _publish(context, card)


@asset(
    code_version=code_version("image_scorecard"), key_prefix=PREFIX, name="image_scorecard", group_name=GROUP
)
def image_scorecard_asset(
    context: AssetExecutionContext, real_images: ImageSplit, synthetic_images: SyntheticImages
) -> Scorecard:
    """FID beside its real-vs-real baseline, KID, precision / recall / density / coverage and
    class agreement as the image checks measured them, with real and synthetic image grids."""
    return _publish(
        context, image_scorecard(real_images, synthetic_images, _verdicts(context, "synthetic_images"))
    )


@asset(
    code_version=code_version("instruction_scorecard"),
    key_prefix=PREFIX,
    name="instruction_scorecard",
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),  # cheap: a backfill scores its whole range in one run
    # the costly fine-tuning utility may be missing for a day: the scorecard then says so
    ins={"instruction_utility": AssetIn("instruction_utility", metadata={OPTIONAL: True})},
)
def instruction_scorecard_asset(
    context: AssetExecutionContext,
    seed_topics: SeedTopics,
    raw_instructions,
    evolved_instructions,
    critic_filtered_instructions,
    instruction_utility,
):
    """Counts through each stage with reasons, judge scores, diversity, lengths, topic coverage,
    and what fine-tuning on the kept pairs teaches (instruction_utility). In a backfill all days
    are scored in one run (inputs and output are then per-day dicts)."""
    keys = context.partition_keys
    if len(keys) == 1:
        card = instruction_scorecard(
            seed_topics,
            raw_instructions,
            evolved_instructions,
            critic_filtered_instructions,
            keys[0],
            _verdicts(context, "critic_filtered_instructions", keys[0]),
            instruction_utility,
        )
        return _publish(context, card)
    stages = {
        "raw_instructions": raw_instructions,
        "evolved_instructions": evolved_instructions,
        "critic_filtered_instructions": critic_filtered_instructions,
    }
    for name, by_day in stages.items():
        missing = sorted(set(keys) - set(by_day))
        if missing:
            raise Failure(f"{name} is not materialized for {missing}; backfill it first")
    cards = {
        day: instruction_scorecard(
            seed_topics,
            raw_instructions[day],
            evolved_instructions[day],
            critic_filtered_instructions[day],
            day,
            _verdicts(context, "critic_filtered_instructions", day),
            instruction_utility.get(day),  # a day without it is noted on its card
        )
        for day in keys
    }
    days = pd.DataFrame(
        [
            {
                "day": day,
                "verdict": "PASS" if c.passed else "FAIL",
                "kept": c.value("kept"),
                "judged": c.value("judged"),
            }
            for day, c in cards.items()
        ]
    )
    context.log.info(f"scored {len(cards)} days in one run")
    n_pass = sum(c.passed for c in cards.values())
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(cards)} days scored in one run: {n_pass} PASS, {len(cards) - n_pass} FAIL"
            ),
            "days": table(days, len(days)),
            "n_days": len(cards),
        }
    )
    return cards


@asset(
    code_version=code_version("combined"),
    key_prefix=PREFIX,
    name="combined",
    group_name=GROUP,
    partitions_def=daily_partitions,
    ins={
        "tabular": AssetIn(AssetKey([PREFIX, "tabular_scorecard"])),
        "images": AssetIn(AssetKey([PREFIX, "image_scorecard"])),
        "instructions": AssetIn(AssetKey([PREFIX, "instruction_scorecard"])),
    },
)
def combined_scorecard_asset(
    context: AssetExecutionContext,
    config: ReportConfig,
    output_location: OutputLocation,
    tabular: Scorecard,
    images: Scorecard,
    instructions: Scorecard,
) -> Scorecard:
    """Every lane's verdict in one table, and the self-contained HTML report with all scorecards."""
    lanes = [tabular, images, instructions]
    card = combined_scorecard(lanes)
    folder = Path(config.report_dir).expanduser() if config.report_dir else output_location.path("reports")
    path = folder / f"validation_report_{context.partition_key}.html"
    atomic_write_text(path, render_html([card, *lanes]))
    context.log.info(f"HTML report written to {path}")
    url = (
        f"{config.report_base_url.rstrip('/')}/{quote(path.name)}"
        if config.report_base_url
        else path.resolve().as_uri()
    )
    report = {
        "report": MetadataValue.url(url),
        "report_path": MetadataValue.path(str(path.resolve())),
    }
    return _publish(context, card, report)


scorecard_assets = [
    collapse_curve_asset,
    tabular_scorecard_asset,
    image_scorecard_asset,
    instruction_scorecard_asset,
    combined_scorecard_asset,
]
