"""Human review that outranks the critic. review_requests pushes a stratified sample of the
day's critic-kept and critic-rejected pairs, with the critic's verdict, to the review tool
(resource ``review``: JSONL files in a review inbox by default, or Label Studio);
human_reviews collects the decisions made so far, and the human_review_sensor re-collects them
whenever people finish more. instruction_mix applies the decisions (a person's keep or reject
wins over the critic's), and critic_validity reports the critic's agreement with people."""

import hashlib
import json

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Config,
    DefaultSensorStatus,
    Failure,
    MetadataValue,
    RunRequest,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)
from pydantic import Field

from synth_assets.defs.failures import settings_errors_are_final
from synth_assets.defs.instructions.assets import GROUP
from synth_assets.defs.locations import OutputLocation
from synth_assets.defs.partitions import daily_partitions
from synth_assets.defs.review_resource import ReviewResource
from synth_assets.defs.ui import number, summary, table
from synth_assets.defs.versions import code_version
from synth_assets.instructions.datasets import InstructionSet
from synth_assets.instructions.review import ReviewTable, agreement, latest_decisions, review_sample

# how many recent days of review requests the sensor looks at for new decisions
SENSOR_DAYS = 30


class ReviewRequestsConfig(Config):
    sample_size: int = Field(
        default=20,
        description="Pairs pushed for review per day: half critic-kept, half critic-rejected, spread "
        "over topics (0 pushes nothing).",
    )
    seed: int = Field(default=0, description="Seeds the sample (with the partition).")


def _tool_errors(review: ReviewResource, output: OutputLocation):
    """The review tool's failures as a step failure that names the tool (never the API key)."""
    import contextlib

    import httpx

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except httpx.HTTPError as exc:
            raise Failure(f"cannot reach {review.target(output)}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            if type(exc).__name__ != "ApiError":  # label_studio_sdk.core.api_error.ApiError
                raise
            raise Failure(
                f"{review.target(output)} refused the request: HTTP {getattr(exc, 'status_code', '?')} "
                f"{str(getattr(exc, 'body', ''))[:300]}"
            ) from exc

    return guard()


@asset(code_version=code_version("review_requests"), group_name=GROUP, partitions_def=daily_partitions)
def review_requests(
    context: AssetExecutionContext,
    config: ReviewRequestsConfig,
    review: ReviewResource,
    output_location: OutputLocation,
    critic_filtered_instructions: InstructionSet,
) -> ReviewTable:
    """A stratified sample of the day's judged pairs (critic-kept and critic-rejected, over
    topics) pushed for human review with the critic's verdict, score and reason; a pair already
    pushed is not pushed again."""
    critic = critic_filtered_instructions
    with settings_errors_are_final():
        sample = review_sample(
            critic.kept, critic.rejects, config.sample_size, context.partition_key, config.seed
        )
        tool = review.tool(output_location)
    with _tool_errors(review, output_location):
        added = tool.push(sample) if len(sample) else 0
    where = review.target(output_location)
    verdicts = sample["critic_verdict"].value_counts()
    context.log.info(f"review_requests: {added} of {len(sample)} sampled pairs pushed to {where}")
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(sample)} pairs for review ({int(verdicts.get('keep', 0))} critic-kept, "
                f"{int(verdicts.get('reject', 0))} critic-rejected), {added} newly pushed to {where}"
            ),
            "preview": table(sample[["critic_verdict", "critic_score", "topic", "instruction"]], 5),
            "backend": review.backend,
            "target": MetadataValue.text(where),
            "n_requested": len(sample),
            "n_pushed": added,
        }
    )
    return ReviewTable(sample, {"backend": review.backend, "sample_size": config.sample_size})


@asset(code_version=code_version("human_reviews"), group_name=GROUP, partitions_def=daily_partitions)
def human_reviews(
    context: AssetExecutionContext,
    review: ReviewResource,
    output_location: OutputLocation,
    review_requests: ReviewTable,
) -> ReviewTable:
    """The decisions people have made on the day's review requests so far (the latest per pair),
    and the critic's agreement with them: Cohen's kappa and accuracy of its keep/reject at its
    threshold. instruction_mix applies them; critic_validity reports the agreement."""
    with settings_errors_are_final():
        tool = review.tool(output_location)
    with _tool_errors(review, output_location), settings_errors_are_final():
        decisions = latest_decisions(tool.finished(context.partition_key))
        pending = tool.pending(context.partition_key)
    found = agreement(decisions)
    overrides = decisions[decisions["critic_verdict"] != decisions["decision"]]
    context.log.info(
        f"human_reviews: {len(decisions)} decided, {pending} pending at {review.target(output_location)}"
    )
    kappa = "undefined" if found.kappa is None else f"{found.kappa:.3f}"
    context.add_output_metadata(
        {
            "summary": summary(
                f"{len(decisions)} pairs reviewed ({len(overrides)} overrule the critic), {pending} pending"
                + (f"; critic vs people: kappa {kappa}, accuracy {found.accuracy:.3f}" if found.n else "")
            ),
            "decisions": table(decisions, 10),
            "n_reviewed": found.n,
            "n_pending": pending,
            "n_overrides": len(overrides),
            **({"kappa": number(found.kappa)} if found.kappa is not None else {}),
            **({"accuracy": number(found.accuracy)} if found.accuracy is not None else {}),
            "dagster/row_count": len(decisions),
        }
    )
    requested = set(review_requests.rows["id"]) if not review_requests.rows.empty else set()
    return ReviewTable(
        decisions,
        {"agreement": found.as_dict(), "n_requested": len(requested), "n_pending": pending},
    )


human_review_job = define_asset_job(
    "human_review",
    selection=AssetSelection.assets(human_reviews),
    partitions_def=daily_partitions,
    tags={"synth_assets/lane": "instructions"},
    description="Collect the human decisions made so far on one day's review requests.",
)


def _fingerprint(decisions) -> str:
    rows = sorted(map(tuple, decisions[["id", "decision", "note"]].astype(str).values.tolist()))
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


@sensor(
    job=human_review_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="When people finish reviews (Label Studio annotations, or decisions written into a "
    f"review inbox file) on any of the last {SENSOR_DAYS} days with review requests, collects them "
    "into human_reviews for that day; the next instruction_mix applies them.",
)
def human_review_sensor(context, review: ReviewResource, output_location: OutputLocation):
    days = sorted(context.instance.get_materialized_partitions(AssetKey("review_requests")))[-SENSOR_DAYS:]
    if not days:
        yield SkipReason("no review requests yet: run the instruction lane first")
        return
    cursor = json.loads(context.cursor) if context.cursor else {}
    tool = review.tool(output_location)
    requested = 0
    for day in days:
        decisions = latest_decisions(tool.finished(day))
        if decisions.empty:
            continue
        mark = _fingerprint(decisions)
        if cursor.get(day) == mark:
            continue
        cursor[day] = mark
        requested += 1
        yield RunRequest(
            run_key=f"human_reviews-{day}-{mark}",
            partition_key=day,
            tags={"synth_assets/reviews": str(len(decisions))},
        )
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not requested:
        yield SkipReason(f"no new decisions on {len(days)} day(s) at {review.target(output_location)}")
