"""Synthesizers side by side: every tabular synthesizer on the bundled tables, measured the way
the lane's checks and scorecard measure them.

For each table (70 / 30 stratified split, seed 0) and synthesizer: fidelity (SDMetrics
overall), TSTR / TRTR ratio (gradient boosting, real holdout), DCR share, distance
membership-inference AUC and fit seconds, one row each. The DP synthesizers (mst, aim) run at
epsilon 1 (``--epsilon``), delta 1e-5.

Last line: ``best_tstr_ratio=<x> dp_tstr_ratio_at_eps1=<y>``: the highest mean TSTR ratio over
the tables of any synthesizer, and of the DP synthesizers. Each ratio enters the mean clipped
at 0: a regression model trained on synthetic rows can score R² < 0 (worse than predicting the
mean), and one such table would otherwise outweigh the others.

    python bench/synthesizers.py [--tables breast_cancer,wine,diabetes] [--synthesizers ...]
                                 [--epochs 100] [--epsilon 1.0]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ALL = "gaussian_copula,ctgan,tvae,copula_gan,mst,aim"


def main() -> None:
    import pandas as pd

    from synth_assets.metrics.fidelity import fidelity_report
    from synth_assets.metrics.privacy import dcr_report, membership_inference_auc
    from synth_assets.metrics.utility import tstr_report
    from synth_assets.tabular.dp_synthesizers import DP_SYNTHESIZERS
    from synth_assets.tabular.sources import load_real_table
    from synth_assets.tabular.split import split_table
    from synth_assets.tabular.synthesizers import synthesize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="breast_cancer,wine,diabetes")
    parser.add_argument("--synthesizers", default=ALL)
    parser.add_argument("--epochs", type=int, default=100, help="epochs of ctgan, tvae, copula_gan")
    parser.add_argument("--epsilon", type=float, default=1.0, help="budget of mst and aim")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = []
    for name in args.tables.split(","):
        split = split_table(load_real_table(name), seed=0)
        train, holdout = split.train, split.holdout
        for kind in args.synthesizers.split(","):
            synthetic = synthesize(train, kind=kind, epochs=args.epochs, epsilon=args.epsilon, seed=0)
            data = synthetic.data
            started = time.perf_counter()
            tstr = tstr_report(data, train, holdout, split.target, split.task_type)
            row = {
                "table": name,
                "synthesizer": kind,
                "fidelity": fidelity_report(train, data).overall,
                "tstr_ratio": tstr.tstr_ratio,
                "dcr_share": dcr_report(data, train, holdout).dcr_share,
                "mia_auc": membership_inference_auc(data, train, holdout),
                "fit_s": synthetic.fit_seconds,
                "measure_s": time.perf_counter() - started,
                "dp": f"eps={args.epsilon:g}" if kind in DP_SYNTHESIZERS else "",
            }
            rows.append(row)
            print(
                "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                flush=True,
            )
    table = pd.DataFrame(rows)
    print()
    print(table.drop(columns="measure_s").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    mean = (
        table.assign(tstr_ratio=table["tstr_ratio"].clip(lower=0)).groupby("synthesizer")["tstr_ratio"].mean()
    )
    print("\nmean TSTR ratio over the tables (each clipped at 0):", {k: round(v, 4) for k, v in mean.items()})
    dp = mean[[k for k in mean.index if k in DP_SYNTHESIZERS]]
    best_dp = f"{dp.max():.4f}" if len(dp) else "nan"
    print(f"best_tstr_ratio={mean.max():.4f} dp_tstr_ratio_at_eps{args.epsilon:g}={best_dp}")


if __name__ == "__main__":
    main()
