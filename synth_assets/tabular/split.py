"""Seeded, stratified train / holdout split of a real table.

The holdout is used only for evaluation (TSTR test set, DCR reference); it never trains a
synthesizer and never enters a released dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from synth_assets.errors import InputDataError
from synth_assets.tabular.sources import RealTable, plain

MIN_TRAIN_ROWS = 20
MIN_HOLDOUT_ROWS = 10
REGRESSION_STRATA = 10


@dataclass(frozen=True)
class TableSplit:
    train: pd.DataFrame
    holdout: pd.DataFrame
    target: str
    task_type: str
    source: str
    seed: int
    holdout_fraction: float
    id_columns: tuple[str, ...] = ()  # never modelled, never compared (tabular/identifiers.py)

    @property
    def columns(self) -> list[str]:
        return list(self.train.columns)

    def to_bundle(self) -> tuple[dict[str, pd.DataFrame], dict]:
        meta = {
            "target": self.target,
            "task_type": self.task_type,
            "source": self.source,
            "seed": self.seed,
            "holdout_fraction": self.holdout_fraction,
            "id_columns": list(self.id_columns),
        }
        return {"train": self.train, "holdout": self.holdout}, meta

    @classmethod
    def from_bundle(cls, frames: dict[str, pd.DataFrame], meta: dict) -> TableSplit:
        meta = {**meta, "id_columns": tuple(meta.get("id_columns", ()))}
        return cls(train=frames["train"], holdout=frames["holdout"], **meta)

    def without_ids(self, frame: pd.DataFrame, also: list[str] = ()) -> pd.DataFrame:
        """``frame`` less this table's id columns (and ``also``, ids the synthesizer found):
        what the metrics compare."""
        ids = {*self.id_columns, *also}
        return frame.drop(columns=[c for c in frame.columns if c in ids])

    @property
    def all_rows(self) -> pd.DataFrame:
        return pd.concat([self.train, self.holdout], ignore_index=True)


def split_table(real: RealTable, holdout_fraction: float = 0.3, seed: int = 0) -> TableSplit:
    """Split ``real`` into train / holdout, stratified on the target.

    Classification targets are stratified on their labels, regression targets on their
    deciles, so both parts cover the whole target distribution.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise InputDataError(f"holdout_fraction must be in (0, 1), got {plain(holdout_fraction)}")
    frame = real.frame.reset_index(drop=True)
    n_rows = len(frame)
    n_holdout = int(round(n_rows * holdout_fraction))
    n_train = n_rows - n_holdout
    if n_train < MIN_TRAIN_ROWS or n_holdout < MIN_HOLDOUT_ROWS:
        raise InputDataError(
            f"{real.source}: {n_rows} rows give a {n_train}/{n_holdout} train/holdout split; "
            f"at least {MIN_TRAIN_ROWS} train and {MIN_HOLDOUT_ROWS} holdout rows are needed"
        )
    y = frame[real.target]
    if real.task_type == "regression":
        strata = pd.qcut(y, q=REGRESSION_STRATA, labels=False, duplicates="drop")
    else:
        counts = y.value_counts()
        rare = counts[counts < 2]
        if not rare.empty:
            raise InputDataError(
                f"{real.source}: class(es) {plain(list(rare.index))} of target {real.target!r} have a "
                "single row; a stratified split needs at least 2 rows per class"
            )
        strata = y
    try:
        train, holdout = train_test_split(frame, test_size=n_holdout, random_state=seed, stratify=strata)
    except ValueError as exc:
        raise InputDataError(f"{real.source}: cannot split stratified: {exc}") from exc
    return TableSplit(
        train=train.reset_index(drop=True),
        holdout=holdout.reset_index(drop=True),
        target=real.target,
        task_type=real.task_type,
        source=real.source,
        seed=seed,
        holdout_fraction=holdout_fraction,
    )
