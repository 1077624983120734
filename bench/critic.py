"""Critic benchmark: the shipped calibration set scored by the local IFD critic and by the local
LLM judge (SmolLM2-135M through llama.cpp, no response cache, so every score is computed).

Prints the AUC of each critic overall and per corruption type, the time each took, and last:
``ifd_auc=<x> judge_auc=<y> pairs_per_s=<z>`` where pairs_per_s is the IFD critic's rate (two
scoring passes per pair). Goal: ifd_auc >= 0.85.

    python bench/critic.py [--limit N] [--judge-logprobs] [--judge-max-tokens N]

The judge's reply is constrained to {"score": N, "reason": "..."} with the score first, so its
greedy score is fixed before the reason is written: ``--judge-max-tokens`` (default 16 here,
64 in the lane) only cuts the reason short, and the score is read from the cut JSON. On this
CPU the grammar-constrained reason costs about 0.2 s a token.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from synth_assets.instructions.calibration import calibration_auc, calibration_set
    from synth_assets.instructions.judging import score_calibration
    from synth_assets.llm.client import LLMClient
    from synth_assets.llm.local_backend import LocalBackend

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pairs")
    parser.add_argument(
        "--judge-logprobs", action="store_true", help="judge on the probability-weighted score"
    )
    parser.add_argument("--judge-max-tokens", type=int, default=16, help="token budget of a verdict")
    args = parser.parse_args()
    pairs = calibration_set()
    if args.limit:
        pairs = pairs.head(args.limit)
    print(f"calibration set: {len(pairs)} pairs, {int(pairs['label'].sum())} good", flush=True)
    client = LLMClient(LocalBackend(), cache=None, log=lambda message: print(message, flush=True))
    results = {}
    for name in ("ifd", "llm_judge"):
        start = time.perf_counter()
        scored, _, unreadable = score_calibration(
            client, pairs, (name,), args.judge_logprobs, lambda message: None, args.judge_max_tokens
        )
        seconds = time.perf_counter() - start
        auc = calibration_auc(scored)
        results[name] = (auc, seconds)
        by_type = " ".join(f"{k}={v:.3f}" for k, v in auc["by_corruption"].items())
        print(
            f"{name}: AUC {auc['overall']:.3f} ({by_type}); {len(pairs)} pairs in {seconds:.1f} s "
            f"({len(pairs) / seconds:.2f} pairs/s); unreadable replies {unreadable}",
            flush=True,
        )
    ifd_auc, ifd_seconds = results["ifd"]
    judge_auc, judge_seconds = results["llm_judge"]
    print(f"ifd is {judge_seconds / ifd_seconds:.1f}x faster than the judge on the same pairs")
    print(
        f"ifd_auc={ifd_auc['overall']:.3f} judge_auc={judge_auc['overall']:.3f} "
        f"pairs_per_s={len(pairs) / ifd_seconds:.2f}"
    )


if __name__ == "__main__":
    main()
