"""Coverage of categories (topics, personas, image classes) in a generated or filtered set
against the shares it was meant to have (docs/metrics.md, "Topic balance", "Class balance").

A filter or a generator can keep a set's size and quality while quietly dropping a category: a
critic that prefers Python questions, a diffusion model whose "3"s look like "8"s. The report
compares each category's observed share with its expected share, and judges only categories
with enough expected items for a shortfall to mean something. Pure logic: no Dagster imports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

MIN_RATIO = 0.5  # a category below half its fair share is under-represented
MIN_EXPECTED = 3.0  # judge a category only when at least this many items were expected in it


@dataclass(frozen=True)
class BalanceReport:
    """``groups``: one row per expected category (group, expected_share, expected_n, n, share,
    ratio = share / expected_share, judged, under)."""

    groups: pd.DataFrame
    n: int  # observed items in the expected categories
    n_other: int  # observed items in categories that were not expected
    entropy: float  # normalised Shannon entropy of the observed shares (1: even, 0: one category)
    expected_entropy: float  # the same of the expected shares
    min_max_ratio: float  # smallest observed share / largest (0 when a category is missing)

    @property
    def under(self) -> list[str]:
        return self.groups.loc[self.groups["under"], "group"].tolist()

    @property
    def n_judged(self) -> int:
        return int(self.groups["judged"].sum())

    @property
    def min_ratio(self) -> float:
        """The worst observed / expected share over the judged categories (all of them when none
        is judged), the headline number."""
        judged = self.groups.loc[self.groups["judged"], "ratio"]
        return float((judged if len(judged) else self.groups["ratio"]).min())

    def records(self) -> list[dict]:
        return self.groups.astype(object).where(self.groups.notna(), None).to_dict(orient="records")


def normalised_entropy(shares: Iterable[float]) -> float:
    """Shannon entropy of ``shares`` divided by log(number of categories); 1 for one category."""
    values = [float(s) for s in shares]
    if len(values) <= 1:
        return 1.0
    total = sum(values)
    if total <= 0:
        return 0.0
    h = -sum(p / total * math.log(p / total) for p in values if p > 0)
    return h / math.log(len(values))


def uniform_shares(groups: Iterable) -> dict[str, float]:
    names = list(dict.fromkeys(str(g) for g in groups))
    return {name: 1.0 / len(names) for name in names}


def observed_shares(values: Iterable) -> dict[str, float]:
    counts = pd.Series([str(v) for v in values], dtype=object).value_counts()
    return {str(k): float(v) / float(counts.sum()) for k, v in counts.items()} if len(counts) else {}


def balance_report(
    observed: Iterable,
    expected_shares: Mapping[str, float],
    min_ratio: float = MIN_RATIO,
    min_expected: float = MIN_EXPECTED,
) -> BalanceReport:
    """Compare the categories of ``observed`` (one value per item; None and NaN are skipped)
    with ``expected_shares`` (category -> share; normalised here). A category is judged when
    ``expected_share x n >= min_expected`` and is under-represented when its observed share is
    below ``min_ratio`` x its expected share."""
    if not expected_shares:
        raise ValueError("balance needs at least one expected category")
    if any(not (s >= 0) for s in expected_shares.values()) or sum(expected_shares.values()) <= 0:
        raise ValueError(f"expected shares must be non-negative and not all 0, got {dict(expected_shares)}")
    total = float(sum(expected_shares.values()))
    expected = {str(k): float(v) / total for k, v in expected_shares.items()}
    values = [str(v) for v in observed if v is not None and not (isinstance(v, float) and math.isnan(v))]
    counts = pd.Series(values, dtype=object).value_counts()
    n = int(sum(int(counts.get(g, 0)) for g in expected))
    rows = []
    for group, share in expected.items():
        count = int(counts.get(group, 0))
        observed_share = count / n if n else 0.0
        expected_n = share * n
        judged = bool(share > 0 and expected_n >= min_expected)
        rows.append(
            {
                "group": group,
                "expected_share": share,
                "expected_n": expected_n,
                "n": count,
                "share": observed_share,
                "ratio": observed_share / share if share > 0 else float("nan"),
                "judged": judged,
                "under": judged and observed_share < min_ratio * share,
            }
        )
    groups = pd.DataFrame(rows)
    shares = groups["share"].tolist()
    return BalanceReport(
        groups=groups,
        n=n,
        n_other=int(len(values) - n),
        entropy=normalised_entropy(shares),
        expected_entropy=normalised_entropy(expected.values()),
        min_max_ratio=(min(shares) / max(shares)) if max(shares) > 0 else 0.0,
    )
