"""Utility: TSTR (train on synthetic, test on real) against TRTR (train on real, test on real).

(docs/metrics.md, "TSTR ratio"): score(model fit on synthetic, tested on the real holdout) divided by
score(the same model fit on the real train split, tested on the same holdout). Score: ROC AUC
for binary targets, macro F1 for multiclass, R^2 for regression.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from synth_assets.metrics.row_distance import column_kinds

MODELS = ("gradient_boosting", "random_forest", "linear")
METRIC_BY_TASK = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}
MAX_ORDINAL_LEVELS = 250  # HistGradientBoosting bins categoricals into at most 255 bins


class UndefinedMetricError(ValueError):
    """The metric has no meaningful value on this data (e.g. a baseline without skill)."""


@dataclass(frozen=True)
class TSTRResult:
    tstr_score: float
    trtr_score: float
    tstr_ratio: float
    metric: str
    model: str
    n_train_real: int
    n_train_synthetic: int
    n_test: int

    def as_dict(self) -> dict:
        return asdict(self)


def _features(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Model-ready features: datetimes as epoch seconds, booleans as 0/1, text as strings."""
    out = {}
    for column, kind in column_kinds(frame.drop(columns=[target])).items():
        values = frame[column]
        if kind == "datetime":
            seconds = values.astype("datetime64[ns]").astype("int64").astype(float) / 1e9
            out[column] = seconds.where(values.notna())
        elif kind == "numerical":
            out[column] = pd.to_numeric(values).astype(float)
        elif ptypes.is_bool_dtype(values.dtype):
            out[column] = values.astype(float)
        else:
            out[column] = values.astype(object).where(values.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def _make_model(model: str, task_type: str, categorical: list[str], numeric: list[str], seed: int):
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    classify = task_type != "regression"
    if model == "linear":
        pre = ColumnTransformer(
            [
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="__missing__"),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    categorical,
                ),
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ]
        )
        estimator = LogisticRegression(max_iter=2000) if classify else Ridge()
        return make_pipeline(pre, estimator)
    ordinal = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        max_categories=MAX_ORDINAL_LEVELS,
    )
    pre = ColumnTransformer([("cat", ordinal, categorical), ("num", "passthrough", numeric)])
    if model == "gradient_boosting":
        mask = [True] * len(categorical) + [False] * len(numeric)
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        estimator = cls(random_state=seed, categorical_features=mask)
        return make_pipeline(pre, estimator)
    cls = RandomForestClassifier if classify else RandomForestRegressor
    estimator = cls(n_estimators=200, random_state=seed, n_jobs=-1)
    return make_pipeline(pre, SimpleImputer(strategy="median", keep_empty_features=True), estimator)


def _fit_score(fit_frame, test_frame, target, task_type, model, seed) -> float:
    x_fit, x_test = _features(fit_frame, target), _features(test_frame, target)
    y_fit, y_test = fit_frame[target], test_frame[target]
    kinds = column_kinds(fit_frame.drop(columns=[target]))
    categorical = [c for c in x_fit.columns if kinds[c] == "categorical" and x_fit[c].dtype == object]
    numeric = [c for c in x_fit.columns if c not in categorical]
    if task_type != "regression" and y_fit.nunique() < 2:
        # A single-class training set can only predict that class.
        estimator = DummyClassifier(strategy="most_frequent")
    else:
        estimator = _make_model(model, task_type, categorical, numeric, seed)
    estimator.fit(x_fit, y_fit)
    if task_type == "regression":
        return float(r2_score(y_test, estimator.predict(x_test)))
    if task_type == "binary":
        positive = sorted(pd.unique(pd.concat([y_fit, y_test])).tolist())[-1]
        classes = list(estimator.classes_)
        proba = (
            estimator.predict_proba(x_test)[:, classes.index(positive)]
            if positive in classes
            else np.zeros(len(x_test))
        )
        return float(roc_auc_score(y_test == positive, proba))
    labels = sorted(pd.unique(y_test).tolist())
    return float(f1_score(y_test, estimator.predict(x_test), labels=labels, average="macro", zero_division=0))


def tstr_report(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    task_type: str,
    model: str = "gradient_boosting",
    seed: int = 0,
) -> TSTRResult:
    """TSTR and TRTR scores of ``model`` on ``holdout`` and their ratio (TSTR / TRTR)."""
    if task_type not in METRIC_BY_TASK:
        raise ValueError(f"task_type must be one of {tuple(METRIC_BY_TASK)}, got {task_type!r}")
    if task_type != "regression" and holdout[target].nunique() < 2:
        raise UndefinedMetricError(f"holdout target {target!r} has a single class; score undefined")
    trtr = _fit_score(train, holdout, target, task_type, model, seed)
    tstr = _fit_score(synthetic[train.columns], holdout, target, task_type, model, seed)
    if trtr <= 0:
        raise UndefinedMetricError(
            f"TRTR {METRIC_BY_TASK[task_type]} is {trtr:.4f}: the {model} model has no skill on "
            "the real data, so the TSTR ratio is undefined"
        )
    return TSTRResult(
        tstr_score=tstr,
        trtr_score=trtr,
        tstr_ratio=tstr / trtr,
        metric=METRIC_BY_TASK[task_type],
        model=model,
        n_train_real=len(train),
        n_train_synthetic=len(synthetic),
        n_test=len(holdout),
    )
