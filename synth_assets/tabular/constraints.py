"""Rules between columns: declared in config or detected in the real rows, enforced by SDV's
constraint classes while sampling, and counted afterwards (docs/metrics.md, "Constraint
violations").

One shape serves every rule, so run config stays flat::

    {"type": "inequality", "columns": ["start", "end"], "strict": false}   # start <= end
    {"type": "range", "columns": ["low", "mid", "high"]}                   # low <= mid <= high
    {"type": "fixed_combinations", "columns": ["country", "city"]}         # only real pairs
    {"type": "positive", "columns": ["amount"]}  /  {"type": "negative", ...}
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from synth_assets.errors import InputDataError
from synth_assets.tabular.identifiers import name_tokens

CONSTRAINT_TYPES = {"inequality": 2, "range": 3, "fixed_combinations": None, "positive": 1, "negative": 1}
MIN_ROWS_FOR_DETECTION = 20
# Tokens that qualify a measurement rather than name it: "mean radius" and "worst radius"
# share "radius", "start_date" and "end_date" share "date".
_QUALIFIERS = {
    "mean",
    "worst",
    "min",
    "max",
    "minimum",
    "maximum",
    "low",
    "high",
    "lower",
    "upper",
    "start",
    "end",
    "begin",
    "first",
    "last",
    "from",
    "to",
    "open",
    "close",
    "opened",
    "closed",
    "error",
    "at",
    "on",
    "of",
    "the",
    "time",
    "date",
    "ts",
    "dt",
}


@dataclass(frozen=True)
class Constraint:
    type: str
    columns: tuple[str, ...]
    strict: bool = False
    source: str = "config"  # config | detected

    def describe(self) -> str:
        op = " < " if self.strict else " <= "
        if self.type in ("inequality", "range"):
            return op.join(self.columns)
        if self.type == "positive":
            return f"{self.columns[0]} {'>' if self.strict else '>='} 0"
        if self.type == "negative":
            return f"{self.columns[0]} {'<' if self.strict else '<='} 0"
        return f"only real combinations of ({', '.join(self.columns)})"

    def as_dict(self) -> dict:
        return {**asdict(self), "columns": list(self.columns), "rule": self.describe()}


def parse_constraints(specs: list[dict], frame: pd.DataFrame) -> list[Constraint]:
    """Validate config entries against the table's columns; errors name the entry at fault."""
    out = []
    for i, spec in enumerate(specs):
        where = f"constraints[{i}]"
        kind = str(spec.get("type", "")).lower()
        if kind not in CONSTRAINT_TYPES:
            raise InputDataError(
                f"{where}: type must be one of {sorted(CONSTRAINT_TYPES)}, got {spec.get('type')!r}"
            )
        columns = tuple(spec.get("columns") or ())
        arity = CONSTRAINT_TYPES[kind]
        if (arity and len(columns) != arity) or (arity is None and len(columns) < 2):
            need = f"{arity}" if arity else "at least 2"
            raise InputDataError(f"{where}: {kind} takes {need} columns, got {list(columns)}")
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise InputDataError(f"{where}: unknown column(s) {unknown}; columns are {list(frame.columns)}")
        if kind != "fixed_combinations":
            kinds = {_kind(frame[c]) for c in columns}
            if None in kinds or len(kinds) > 1:
                raise InputDataError(
                    f"{where}: {kind} needs numeric or datetime columns of one kind; "
                    f"{list(columns)} are {[str(frame[c].dtype) for c in columns]}"
                )
        out.append(Constraint(kind, columns, bool(spec.get("strict", False))))
    return out


def _kind(values: pd.Series) -> str | None:
    if ptypes.is_bool_dtype(values):
        return None
    if ptypes.is_datetime64_any_dtype(values):
        return "datetime"
    if ptypes.is_numeric_dtype(values):
        return "numerical"
    return None


def detect_inequalities(frame: pd.DataFrame, exclude: set[str] = frozenset()) -> list[Constraint]:
    """Pairs ``a <= b`` that hold in every row where both are present and that constrain
    something: the two ranges overlap, so independent sampling would break the rule.
    Strict when no row has ``a == b``. Sorted with date pairs first, then by overlap."""
    columns = [c for c in frame.columns if c not in exclude and _kind(frame[c])]
    found = []
    for a, b in itertools.permutations(columns, 2):
        if _kind(frame[a]) != _kind(frame[b]):
            continue
        both = frame[[a, b]].dropna()
        if len(both) < MIN_ROWS_FOR_DETECTION:
            continue
        x, y = both[a], both[b]
        if not (x <= y).all() or (x == y).all() or x.max() <= y.min():
            continue
        found.append(
            (
                _kind(frame[a]) == "datetime",
                _overlap(x, y),
                Constraint("inequality", (a, b), bool((x < y).all()), "detected"),
            )
        )
    found.sort(key=lambda item: (not item[0], -item[1]))
    return [c for *_, c in found]


def _overlap(x: pd.Series, y: pd.Series) -> float:
    x, y = _numbers(x), _numbers(y)
    span = y.max() - x.min()
    return float((x.max() - y.min()) / span) if span > 0 else 0.0


def _numbers(values: pd.Series) -> pd.Series:
    return values.astype("int64") if ptypes.is_datetime64_any_dtype(values) else values.astype(float)


def related_by_name(rule: Constraint) -> bool:
    """Whether the columns of a detected rule name the same quantity (``start_date`` /
    ``end_date``, ``mean radius`` / ``worst radius``), which makes the rule structural rather
    than a coincidence of the sample."""
    stems = [set(name_tokens(c)) - _QUALIFIERS for c in rule.columns]
    return bool(stems[0] & stems[1]) or all(not s for s in stems)


def auto_rules(detected: list[Constraint], frame: pd.DataFrame, limit: int) -> list[Constraint]:
    """The detected rules applied by default: every date pair, and numeric pairs whose names
    name the same quantity; at most ``limit``."""
    chosen = [r for r in detected if _kind(frame[r.columns[0]]) == "datetime" or related_by_name(r)]
    return chosen[:limit]


def violations(frame: pd.DataFrame, rule: Constraint, reference: pd.DataFrame | None = None) -> pd.Series:
    """Boolean per row: does the row break ``rule``? Rows with a null in a rule's column do not
    (a missing date is not out of order). ``reference`` supplies the real combinations for
    ``fixed_combinations``."""
    cols = list(rule.columns)
    present = frame[cols].notna().all(axis=1)
    if rule.type in ("inequality", "range"):
        broken = pd.Series(False, index=frame.index)
        for low, high in itertools.pairwise(cols):
            ok = frame[low] < frame[high] if rule.strict else frame[low] <= frame[high]
            broken |= ~ok.fillna(False).astype(bool)
        return broken & present
    if rule.type in ("positive", "negative"):
        values = frame[cols[0]]
        sign = values if rule.type == "positive" else -values
        ok = sign > 0 if rule.strict else sign >= 0
        return ~ok.fillna(False).astype(bool) & present
    if reference is None:
        raise ValueError("fixed_combinations needs the real rows as reference")
    real = set(map(tuple, reference[cols].astype(str).itertuples(index=False)))
    combos = pd.Series(list(map(tuple, frame[cols].astype(str).itertuples(index=False))), index=frame.index)
    return ~combos.isin(real)


def violation_report(
    frame: pd.DataFrame, rules: list[Constraint], reference: pd.DataFrame
) -> tuple[dict[str, int], int]:
    """Rows breaking each rule (keyed by the rule's text), and rows breaking any, in one pass."""
    broken = {r.describe(): violations(frame, r, reference).to_numpy() for r in rules}
    any_rule = np.logical_or.reduce([*broken.values(), np.zeros(len(frame), dtype=bool)])
    return {rule: int(rows.sum()) for rule, rows in broken.items()}, int(any_rule.sum())


def count_violations(frame: pd.DataFrame, rules: list[Constraint], reference: pd.DataFrame) -> dict[str, int]:
    """Rows breaking each rule, keyed by the rule's text."""
    return violation_report(frame, rules, reference)[0]


def breaking_rows(frame: pd.DataFrame, rules: list[Constraint], reference: pd.DataFrame) -> np.ndarray:
    """Boolean per row: does the row break any of ``rules``?"""
    broken = np.zeros(len(frame), dtype=bool)
    for rule in rules:
        broken |= violations(frame, rule, reference).to_numpy()
    return broken


def rows_breaking_any(frame: pd.DataFrame, rules: list[Constraint], reference: pd.DataFrame) -> int:
    return int(breaking_rows(frame, rules, reference).sum())


def to_sdv(rule: Constraint, frame: pd.DataFrame):
    """The SDV 2.x constraint object enforcing ``rule`` on a table like ``frame`` while sampling.

    A date pair becomes SDV's ``Inequality``, which models the gap between the two dates (a
    length of stay keeps its distribution). A numeric pair, a sign and a value range are kept by
    rejection, so each column stays in the model as itself: on breast_cancer the ten enforced
    same-quantity rules cost GaussianCopula's TSTR ratio 0.93 -> 0.90 as ``Inequality``
    transforms and nothing by rejection (0.95; 16 % of free samples broke a rule). Fixed
    combinations become SDV's ``FixedCombinations``."""
    from sdv.cag import FixedCombinations, Inequality

    if rule.type == "inequality" and _kind(frame[rule.columns[0]]) == "datetime":
        return Inequality(
            low_column_name=rule.columns[0], high_column_name=rule.columns[1], strict_boundaries=rule.strict
        )
    if rule.type == "fixed_combinations":
        return FixedCombinations(column_names=list(rule.columns))
    return _rejecting(rule)


def _rejecting(rule: Constraint):
    """A programmable constraint that keeps the data as it is and rejects, while sampling, the
    rows that break ``rule`` (SDV 2.0 has no positive / negative class at all)."""
    from sdv.cag import SingleTableProgrammableConstraint

    class RejectRowsBreaking(SingleTableProgrammableConstraint):
        def __init__(self, rule_text):
            self.rule_text = rule_text

        def transform(self, data):
            return data

        def reverse_transform(self, transformed_data):
            return transformed_data

        def get_updated_metadata(self, metadata):
            return metadata

        def is_valid(self, synthetic_data):
            return ~violations(synthetic_data, rule).to_numpy()

    return RejectRowsBreaking(rule.describe())
