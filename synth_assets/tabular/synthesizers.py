"""SDV 2.x single-table synthesizers: fit on the train split only, sample, restore the schema."""

from __future__ import annotations

import datetime as dt
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_assets.errors import InputDataError

SYNTHESIZERS = ("gaussian_copula", "ctgan", "tvae", "copula_gan")
NEURAL_SYNTHESIZERS = ("ctgan", "tvae", "copula_gan")
NO_FORMAL_GUARANTEE = "no formal privacy guarantee"
# SDV sdtypes that are modelled statistically; anything else (id, pii, unknown) is generated
# by SDV's anonymizers and never copied from the real table.
MAX_CATEGORIES_FOR_PII_NAMES = 20
STATISTICAL_SDTYPES = {"numerical", "categorical", "boolean", "datetime", "ordinal"}


@dataclass(frozen=True)
class SyntheticTable:
    data: pd.DataFrame
    synthesizer: str
    seed: int
    epochs: int | None
    requested_rows: int
    privacy_guarantee: str
    fit_seconds: float
    sample_seconds: float
    created_at: str = ""
    sdv_version: str = ""

    def to_bundle(self) -> tuple[dict[str, pd.DataFrame], dict]:
        meta = asdict(self)
        meta.pop("data")
        return {"data": self.data}, meta

    @classmethod
    def from_bundle(cls, frames: dict[str, pd.DataFrame], meta: dict) -> SyntheticTable:
        return cls(data=frames["data"], **meta)


def _make_synthesizer(kind: str, metadata, epochs: int):
    from sdv.single_table import (
        CopulaGANSynthesizer,
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    if kind == "gaussian_copula":
        return GaussianCopulaSynthesizer(metadata)
    cls = {"ctgan": CTGANSynthesizer, "tvae": TVAESynthesizer, "copula_gan": CopulaGANSynthesizer}[kind]
    return cls(metadata, epochs=epochs)


def synthesize(
    train: pd.DataFrame,
    kind: str = "gaussian_copula",
    num_rows: int | None = None,
    epochs: int = 300,
    seed: int = 0,
    log: Callable[[str], None] = lambda message: None,
) -> SyntheticTable:
    """Fit an SDV synthesizer of ``kind`` on ``train`` and sample ``num_rows`` rows.

    ``num_rows`` defaults to the train size; ``epochs`` applies to the neural synthesizers.
    The result has the columns, order and dtypes of ``train``.
    """
    from sdv.metadata import Metadata

    if kind not in SYNTHESIZERS:
        raise InputDataError(f"synthesizer must be one of {SYNTHESIZERS}, got {kind!r}")
    if kind in NEURAL_SYNTHESIZERS and epochs < 1:
        raise InputDataError(f"epochs must be >= 1 for {kind}, got {epochs}")
    num_rows = len(train) if num_rows is None else num_rows
    if num_rows < 1:
        raise InputDataError(f"num_rows must be >= 1, got {num_rows}")

    _seed_everything(seed)
    table = "real"
    metadata = Metadata.detect_from_dataframes({table: train}, infer_keys=None)
    _treat_repeated_values_as_categories(metadata, table, train, log)
    synthesizer = _make_synthesizer(kind, metadata, epochs)
    log(
        f"fitting {kind} on {len(train)} rows x {train.shape[1]} columns"
        + (f" for {epochs} epochs" if kind in NEURAL_SYNTHESIZERS else "")
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        synthesizer.fit({table: train})
    fit_seconds = time.perf_counter() - started
    # SDV seeds sampling with a fixed constant unless told otherwise; make it follow our seed.
    synthesizer._set_random_state(seed)
    log(f"fitted in {fit_seconds:.1f}s; sampling {num_rows} rows")
    started = time.perf_counter()
    sampled = synthesizer.sample(num_rows)[table]
    sample_seconds = time.perf_counter() - started
    return SyntheticTable(
        data=conform_to_schema(sampled, train),
        synthesizer=kind,
        seed=seed,
        epochs=epochs if kind in NEURAL_SYNTHESIZERS else None,
        requested_rows=num_rows,
        privacy_guarantee=NO_FORMAL_GUARANTEE,
        fit_seconds=round(fit_seconds, 3),
        sample_seconds=round(sample_seconds, 3),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        sdv_version=_sdv_version(),
    )


def _sdv_version() -> str:
    from importlib.metadata import version

    return version("sdv")


def _treat_repeated_values_as_categories(metadata, table: str, train: pd.DataFrame, log) -> None:
    """SDV marks columns as PII by name (a column called ``city`` becomes sdtype ``city``) and
    then replaces their values with fake ones. A column whose values repeat a lot identifies
    nobody and carries signal, so it is modelled as categorical; high-cardinality PII-like
    columns keep SDV's anonymization."""
    generated = {}
    for name, spec in metadata.tables[table].columns.items():
        if spec["sdtype"] in STATISTICAL_SDTYPES:
            continue
        if train[name].nunique() <= max(MAX_CATEGORIES_FOR_PII_NAMES, 0.05 * len(train)):
            metadata.update_column(column_name=name, sdtype="categorical", table_name=table)
            log(
                f"column {name!r}: SDV guessed sdtype {spec['sdtype']!r} from its name; its "
                f"{train[name].nunique()} distinct values are modelled as categories instead"
            )
        else:
            generated[name] = spec["sdtype"]
    if generated:
        log(f"columns generated by SDV anonymizers, not learned from data: {generated}")


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def conform_to_schema(data: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Return ``data`` with exactly the columns, order and dtypes of ``like``."""
    missing = [c for c in like.columns if c not in data.columns]
    if missing:
        raise ValueError(f"synthetic data lacks columns {missing}")
    out = {}
    for column in like.columns:
        out[column] = _cast_like(data[column], like[column])
    return pd.DataFrame(out, columns=like.columns)


def _cast_like(values: pd.Series, like: pd.Series) -> pd.Series:
    dtype = like.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Series(
            pd.Categorical(values, categories=dtype.categories, ordered=dtype.ordered), index=values.index
        )
    if ptypes.is_bool_dtype(dtype):
        return values.astype(bool) if values.notna().all() else values.astype("boolean")
    if ptypes.is_datetime64_any_dtype(dtype):
        return pd.to_datetime(values).astype(dtype)
    if ptypes.is_integer_dtype(dtype):
        numeric = pd.to_numeric(values).round()
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) or numeric.isna().any():
            return numeric.astype(
                "Int64" if not isinstance(dtype, pd.api.extensions.ExtensionDtype) else dtype
            )
        return numeric.astype(dtype)
    if ptypes.is_float_dtype(dtype):
        return pd.to_numeric(values).astype(dtype)
    return values.astype(dtype)
