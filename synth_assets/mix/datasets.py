"""The three anchored mixes. Every row keeps a ``source`` column (``real`` / ``synthetic``) and
its provenance (``origin``: the asset and part it came from, ``origin_id``: its id there)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth_assets.mix.anchor import AnchorPlan, plan_anchor

SOURCE, ORIGIN, ORIGIN_ID = "source", "origin", "origin_id"
PROVENANCE_COLUMNS = [SOURCE, ORIGIN, ORIGIN_ID]
GENERATION_FIELDS = ("seed", "steps", "sampler")  # per generated image, kept by the image mix


@dataclass(frozen=True)
class MixFacts:
    lane: str
    requested_share: float
    real_share: float
    n_real: int
    n_synthetic: int
    short_by: int
    note: str
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, lane: str, plan: AnchorPlan, **extra) -> MixFacts:
        return cls(
            lane,
            plan.requested_share,
            plan.real_share,
            plan.n_real,
            plan.n_synthetic,
            plan.short_by,
            plan.describe(),
            extra,
        )


def _tag(frame: pd.DataFrame, source: str, origin: str, ids) -> pd.DataFrame:
    return frame.assign(
        **{SOURCE: source, ORIGIN: origin, ORIGIN_ID: np.asarray(ids, dtype=object).astype(str)}
    )


def _stack(
    synthetic: pd.DataFrame, synthetic_ids, synthetic_origin, real: pd.DataFrame, real_ids, real_origin
):
    return pd.concat(
        [
            _tag(synthetic.reset_index(drop=True), "synthetic", synthetic_origin, synthetic_ids),
            _tag(real.reset_index(drop=True), "real", real_origin, real_ids),
        ],
        ignore_index=True,
    )


def mix_tables(
    synthetic: pd.DataFrame,
    real_train: pd.DataFrame,
    real_share: float,
    seed: int = 0,
    synthetic_origin: str = "tabular_synth",
    real_origin: str = "real_table/train",
) -> tuple[pd.DataFrame, MixFacts]:
    """Synthetic rows plus real rows from the train split only (never the holdout)."""
    plan = plan_anchor(len(synthetic), len(real_train), real_share, seed)
    real = real_train.iloc[plan.real_indices]
    frame = _stack(synthetic, range(len(synthetic)), synthetic_origin, real, real.index, real_origin)
    return frame, MixFacts.of("tabular", plan)


def mix_instructions(
    kept: pd.DataFrame,
    human: pd.DataFrame,
    real_share: float,
    seed: int = 0,
    synthetic_origin: str = "critic_filtered_instructions",
    real_origin: str = "seed_topics/seed_tasks",
) -> tuple[pd.DataFrame, MixFacts]:
    """Critic-kept pairs plus human-written pairs (instruction, input, output, topic)."""
    columns = ["instruction", "input", "output", "topic"]
    kept = kept.rename(columns={"response": "output"}) if "output" not in kept.columns else kept
    for name, frame in (("kept pairs", kept), ("human pool", human)):
        missing = sorted({"instruction", "output"} - set(frame.columns))
        if missing:
            raise ValueError(f"{name} lack the column(s) {missing}")
    plan = plan_anchor(len(kept), len(human), real_share, seed)
    real = human.iloc[plan.real_indices]
    synthetic_ids = kept["id"] if "id" in kept.columns else range(len(kept))
    real_ids = real["id"] if "id" in real.columns else real.index

    def select(frame):
        return frame.reindex(columns=columns).fillna("").reset_index(drop=True)

    frame = _stack(select(kept), synthetic_ids, synthetic_origin, select(real), real_ids, real_origin)
    return frame, MixFacts.of("instructions", plan)


def mix_images(
    synthetic: np.ndarray,
    synthetic_labels: np.ndarray,
    real_train: np.ndarray,
    real_labels: np.ndarray,
    real_share: float,
    seed: int = 0,
    synthetic_records: pd.DataFrame | None = None,
) -> tuple[np.ndarray, pd.DataFrame, MixFacts]:
    """Images and an index frame (label, source, origin, origin_id) in the same order.
    ``synthetic_records``: per generated image, how it was made (seed, steps, sampler); kept
    as columns of the synthetic rows (empty for real ones), for the exports' provenance."""
    plan = plan_anchor(len(synthetic), len(real_train), real_share, seed)
    images = np.concatenate([synthetic, real_train[plan.real_indices]])
    made = pd.DataFrame({"label": synthetic_labels})
    if synthetic_records is not None:
        made = made.join(synthetic_records.reset_index(drop=True))
        if "seed" in made:
            made["seed"] = made["seed"].astype("Int64")
    index = pd.concat(
        [
            _tag(
                made,
                "synthetic",
                "synthetic_images",
                range(len(synthetic)),
            ),
            _tag(
                pd.DataFrame({"label": real_labels[plan.real_indices]}),
                "real",
                "real_images/train",
                plan.real_indices,
            ),
        ],
        ignore_index=True,
    )
    return images, index, MixFacts.of("images", plan)


@dataclass
class AnchoredMix:
    """What an anchored_mix asset holds: rows (for images, one index row per image), the images
    themselves for the image lane, and the facts of the mix."""

    lane: str
    data: pd.DataFrame
    facts: MixFacts
    images: np.ndarray | None = None
    class_names: list[str] | None = None
    provenance: dict = field(default_factory=dict)  # upstream runs, generator, source, gate results

    def to_bundle(self):
        parts = {"data": self.data}
        if self.images is not None:
            parts["images"] = self.images
        meta = {
            "lane": self.lane,
            "facts": {**self.facts.__dict__},
            "class_names": self.class_names,
            "provenance": self.provenance,
        }
        return parts, meta

    @classmethod
    def from_bundle(cls, parts, meta) -> AnchoredMix:
        return cls(
            meta["lane"],
            parts["data"],
            MixFacts(**meta["facts"]),
            parts.get("images"),
            meta["class_names"],
            meta["provenance"],
        )
