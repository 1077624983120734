"""DCR benchmark: our DCR share vs SDMetrics' DCROverfittingProtection on the same data.

A seeded 20,000 x 30 mixed-type table (numeric with missing values, integers, datetimes,
categoricals, booleans) is generated here and split 50/50 into train and holdout (10,000 rows
each, equal size as the DCR share requires); the synthetic table has as many rows as train
(the pipeline's default): half noisy near-copies of train rows, half fresh draws. Both
implementations compute the share of synthetic rows closer to train than to holdout.
SDMetrics' ranges are per reference table and ours are over all real rows, so the two parts
carry the global min / max of every numeric column to make the ranges agree; the table is
continuous enough that no row ties.

Each implementation runs in its own child process (same seeded data) so that its peak
resident memory can be read cleanly. Prints both values, both times, both peaks and, last,
``dcr_speedup_vs_sdmetrics=<ratio>``.

    python bench/dcr.py            # full size; SDMetrics needs about 20 minutes on 2 cores
    python bench/dcr.py --rows 4000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory import peak_rss_mib, rss_mib  # noqa: E402


def make_table(n: int, rng: np.random.Generator) -> pd.DataFrame:
    columns = {}
    for i in range(14):
        values = rng.normal(i, 1 + i % 4, n)
        if i % 5 == 0:
            values[rng.random(n) < 0.05] = np.nan
        columns[f"num_{i}"] = values
    for i in range(3):
        columns[f"int_{i}"] = rng.integers(0, 1000 * (i + 1), n)
    columns["when"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650 * 86400, n), unit="s")
    for i, levels in enumerate([3, 5, 8, 12, 20, 30, 50, 4, 6, 10]):
        columns[f"cat_{i}"] = rng.choice([f"c{i}_{j}" for j in range(levels)], n)
    columns["flag_0"] = rng.random(n) < 0.3
    columns["flag_1"] = rng.random(n) < 0.7
    return pd.DataFrame(columns)


def pin_ranges(frame: pd.DataFrame, low: pd.Series, high: pd.Series) -> pd.DataFrame:
    frame = frame.copy()
    for column in low.index:
        frame.loc[0, column] = low[column]
        frame.loc[1, column] = high[column]
    return frame


def synthetic_rows(train: pd.DataFrame, n: int, rng: np.random.Generator, seed: int = 0) -> pd.DataFrame:
    """``n`` rows: half noisy near-copies of train rows, half fresh draws."""
    near = train.sample(n // 2, replace=True, random_state=seed).reset_index(drop=True)
    numeric = [c for c in near.columns if c.startswith("num_")]
    near[numeric] = near[numeric] + rng.normal(0, 0.3, (len(near), len(numeric)))
    return pd.concat([near, make_table(n - len(near), rng)], ignore_index=True)


def build(rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    real = make_table(rows, rng)
    train = real.iloc[: rows // 2].reset_index(drop=True)
    holdout = real.iloc[rows // 2 :].reset_index(drop=True)
    synthetic = synthetic_rows(train, len(train), rng, seed)
    pinned = [c for c in real.columns if c.startswith(("num_", "int_")) or c == "when"]
    low, high = real[pinned].min(), real[pinned].max()
    return synthetic, pin_ranges(train, low, high), pin_ranges(holdout, low, high)


def run_one(impl: str, rows: int) -> dict:
    """Compute the share with one implementation; runs in its own process for clean memory."""
    from synth_assets.metrics.privacy import dcr_report
    from synth_assets.metrics.row_distance import sdmetrics_metadata

    synthetic, train, holdout = build(rows)
    before = rss_mib()
    started = time.perf_counter()
    if impl == "ours":
        value = dcr_report(synthetic, train, holdout).dcr_share
    else:
        from sdmetrics.single_table import DCROverfittingProtection

        metadata = sdmetrics_metadata(train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = DCROverfittingProtection.compute_breakdown(
                real_training_data=train,
                synthetic_data=synthetic,
                real_validation_data=holdout,
                metadata=metadata,
                table_name="bench",
            )["synthetic_data_percentages"]["closer_to_training"]
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    return {"value": value, "seconds": seconds, "peak_rss_mib": peak, "peak_over_data_mib": peak - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the generated real table")
    parser.add_argument("--impl", choices=["ours", "sdmetrics"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.impl:
        print(json.dumps(run_one(args.impl, args.rows)))
        return

    synthetic, train, holdout = build(args.rows)
    print(
        f"real table {args.rows} x {train.shape[1]} -> train {len(train)}, holdout {len(holdout)}; "
        f"synthetic {len(synthetic)} rows; torch threads {torch.get_num_threads()}",
        flush=True,
    )
    results = {}
    for impl in ("ours", "sdmetrics"):
        child = subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--impl", impl],
            capture_output=True,
            text=True,
            check=True,
        )
        results[impl] = r = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"{impl:9s}: dcr_share={r['value']:.12f}  {r['seconds']:9.2f} s  "
            f"peak RSS {r['peak_rss_mib']:7.1f} MiB "
            f"({r['peak_over_data_mib']:+7.1f} MiB over the loaded data)",
            flush=True,
        )
    ours, theirs = results["ours"], results["sdmetrics"]
    diff = abs(ours["value"] - theirs["value"])
    print(f"identical_value={diff <= 1e-9} abs_diff={diff:.3e}")
    print(f"dcr_speedup_vs_sdmetrics={theirs['seconds'] / ours['seconds']:.1f}")


if __name__ == "__main__":
    main()
