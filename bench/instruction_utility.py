"""Does the utility measure see bad data? LoRA fine-tunes of the embedded SmolLM2-135M on known
good pairs and on known bad ones, with the recipe ``instruction_utility`` uses, compared by the
loss on held-out human pairs.

The shipped calibration set gives both: half of its human-written good pairs are the "kept"
set, the corruptions of those same pairs (swapped or truncated answers, echoes, refusals, wrong
numbers) the "rejected" set, and the "random" set is drawn from both, as a critic's input would
be. The held-out pairs are the other half of the good pairs and the human seed tasks, none of
them trained on. A measure that works gives kept a larger gain than rejected (ratio above 1).

Last line: ``kept_vs_rejected_loss_gain=<x> seconds=<y>``: the ratio of gains, and the wall time
of the whole measurement (model load, four evaluations, three fine-tunes).
"""

from __future__ import annotations

import time

from synth_assets.instructions.calibration import calibration_set
from synth_assets.instructions.datasets import load_seed_topics
from synth_assets.instructions.utility import UtilitySettings, instruction_utility, pairs_of


def main() -> None:
    calibration = calibration_set()
    good_ids = sorted(calibration.loc[calibration["label"] == 1, "source_id"].unique())
    train_ids = set(good_ids[::2])
    trained = calibration[calibration["source_id"].isin(train_ids)]
    kept = pairs_of(trained[trained["label"] == 1])
    rejected = pairs_of(trained[trained["label"] == 0])
    heldout = pairs_of(
        calibration[(calibration["label"] == 1) & ~calibration["source_id"].isin(train_ids)]
    ) + pairs_of(load_seed_topics().seed_tasks, response="output")
    settings = UtilitySettings()
    print(
        f"{len(kept)} good and {len(rejected)} corrupted training pairs, {len(heldout)} held-out "
        f"human pairs; settings {settings}",
        flush=True,
    )
    started = time.perf_counter()
    report = instruction_utility(kept, rejected, pairs_of(trained), heldout, settings, log=print)
    seconds = time.perf_counter() - started
    print(report.results.to_string(index=False))
    print(report.comparisons.to_string(index=False))
    print(", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
    ratio = report.comparison("kept_vs_rejected")["ratio"]
    print(f"kept_vs_rejected_loss_gain={ratio:.3f} seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
