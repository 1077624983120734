"""How each lane's costly step grows, from thousands of items to a million.

Steps and sizes (``--quick`` divides every size by 100, for a smoke run):

* ``dcr``: the DCR search (``dcr_report``, every synthetic row compared) of 10k / 100k / 1M
  synthetic rows against a fixed reference of 10,000 train and 10,000 holdout rows, on the
  30-column mixed table of ``bench/dcr.py``. Rows are searched in blocks, so memory should
  not grow with more than the rows themselves. The ``dcr`` check samples 10,000 synthetic rows
  by default (``max_rows``); this measures what lifting that cap costs.
* ``tstr``: ``tstr_report`` (gradient boosting fit on real train and on synthetic, scored on the
  holdout) on a real table of 10k / 100k / 1M rows (70 % train) and as many synthetic rows
  as train: noisy copies of train rows.
* ``batch``: 1,000 / 10,000 / 100,000 requests through ``LLMClient`` with the
  ``anthropic_batch`` backend against the loopback Messages API (its own process). Each prompt
  is about 2.8 KB (a few-shot generation prompt), so 100,000 of them exceed the API's 256 MB
  per batch and must go in two batches. ``batch_resume`` then repeats the largest size in a
  process killed right after its second batch is submitted, and a second process that must
  resume both batches without submitting them again.
* ``dedup``: near-duplicate rejection (``near_duplicates``) of 1k / 10k / 100k generated
  instructions (``bench/dedup.py``'s generator).
* ``fid``: features (the real-train CNN) and FID of 1k / 10k / 50k real vs 1k / 10k / 50k
  "synthetic" 8x8 digits (both drawn from the shipped digits with a one-pixel shift and
  noise; the synthetic side from the holdout split with stronger noise).

Each measurement runs in its own child process, so the peak resident memory it reports
(``ru_maxrss``, imports and data included; MiB, as every memory figure here) is its own. Per
step the script prints every size, then the growth exponents: the slope of log(time) and of
log(peak memory) against log(size) over all sizes (1.0 is linear), and between each pair of
neighbouring sizes. Dedup at 1k runs the exact path (below ``exact_below``), so its first
neighbouring exponent compares two algorithms.

Last line: ``dcr_1m_s=<x> dcr_exponent=<y> batch_100k_s=<z> peak_rss_mb=<m>`` (the largest peak
of any step, MiB). Goals: DCR exponent at most 1.1, no step above 8 GiB at its largest size.

    python bench/scale.py                  # about 20 minutes on 2 cores
    python bench/scale.py --steps dcr,fid  # some steps only
    python bench/scale.py --quick          # every size / 100
    python bench/scale.py --steps batch --sizes 100000,200000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_assets.llm.anthropic_backend import MAX_BATCH_BYTES  # noqa: E402

SIZES = {
    "dcr": (10_000, 100_000, 1_000_000),
    "tstr": (10_000, 100_000, 1_000_000),
    "batch": (1_000, 10_000, 100_000),
    "dedup": (1_000, 10_000, 100_000),
    "fid": (1_000, 10_000, 50_000),
}
DCR_REFERENCE_ROWS = 10_000
PROMPT_BYTES = 2_800
KILL_AFTER_SUBMITS = 2  # batch_resume: the first process dies once this many batches are submitted
GOAL_DCR_EXPONENT = 1.1
GOAL_PEAK_MB = 8 * 1024
FILLER = (
    "You write one new task for a language-model training set. Follow the style of the examples: "
    "a concrete request a user could make, answerable in a few paragraphs, no greetings, no "
    "numbering, no reference to the examples themselves. "
)


def timed(work):
    """``work()``'s result and its measurement: seconds, this process's peak RSS and how far
    that peak rose above the RSS before ``work`` (the data already loaded), in MiB."""
    from bench.memory import peak_rss_mib, rss_mib

    before = rss_mib()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    return result, {"seconds": seconds, "peak_rss_mb": peak, "over_data_mb": peak - before}


# -- the steps (each runs in a child process) ----------------------------------------------
def measure_dcr(size: int, seed: int = 0) -> dict:
    from bench.dcr import make_table, synthetic_rows
    from synth_assets.metrics.privacy import dcr_report

    rng = np.random.default_rng(seed)
    real = make_table(2 * DCR_REFERENCE_ROWS, rng)
    train, holdout = real.iloc[:DCR_REFERENCE_ROWS], real.iloc[DCR_REFERENCE_ROWS:]
    synthetic = synthetic_rows(train, size, rng, seed)
    result, stats = timed(lambda: dcr_report(synthetic, train, holdout, max_rows=None))
    return {
        **stats,
        "detail": f"dcr_share={result.dcr_share:.4f} reference_rows={result.n_reference_rows} "
        f"folds={result.n_train_folds}",
    }


def _tstr_table(n: int, rng: np.random.Generator):
    from bench.dcr import make_table

    table = make_table(n, rng)
    logit = (
        0.8 * (table["num_1"] - 1) / 2
        - 0.6 * (table["num_2"] - 2) / 3
        + 0.5 * table["flag_0"]
        + np.where(table["cat_1"].isin(["c1_0", "c1_1"]), 0.7, -0.3)
        + rng.normal(0, 1, n)
    )
    table["target"] = logit > 0
    return table


def measure_tstr(size: int, seed: int = 0) -> dict:
    from synth_assets.metrics.utility import tstr_report

    rng = np.random.default_rng(seed)
    real = _tstr_table(size, rng)
    n_train = int(size * 0.7)
    train, holdout = real.iloc[:n_train].reset_index(drop=True), real.iloc[n_train:].reset_index(drop=True)
    synthetic = train.sample(n_train, replace=True, random_state=seed).reset_index(drop=True)
    numeric = [c for c in synthetic.columns if c.startswith("num_")]
    synthetic[numeric] = synthetic[numeric] + rng.normal(0, 0.5, (n_train, len(numeric)))
    flip = rng.random(n_train) < 0.05
    synthetic.loc[flip, "target"] = ~synthetic.loc[flip, "target"]
    result, stats = timed(lambda: tstr_report(synthetic, train, holdout, "target", "binary"))
    return {
        **stats,
        "detail": f"tstr_ratio={result.tstr_ratio:.4f} trtr_auc={result.trtr_score:.4f}",
    }


def _prompts(n: int) -> list[str]:
    body = (FILLER * (PROMPT_BYTES // len(FILLER) + 1))[:PROMPT_BYTES]
    return [f"Request {i}. {body}" for i in range(n)]


def measure_batch(
    size: int, base_url: str, cache_path: str, max_batch_bytes: int, kill_after_submits: int = 0
) -> dict:
    """``size`` requests through the batch backend; with ``kill_after_submits`` the process
    ends abruptly (os._exit) once that many batches are submitted, as a crash would."""
    from synth_assets.llm.anthropic_backend import AnthropicBatchBackend
    from synth_assets.llm.cache import ResponseCache
    from synth_assets.llm.client import LLMClient
    from synth_assets.llm.types import LLMRequest

    os.environ["ANTHROPIC_API_KEY"] = "bench-key-not-secret"  # the loopback API checks presence only
    counts = {"submitted": 0, "resumed": 0}

    def log(message: str) -> None:
        if "submitted Message Batch" in message:
            counts["submitted"] += 1
            print(f"  {message}", file=sys.stderr, flush=True)
            if kill_after_submits and counts["submitted"] >= kill_after_submits:
                os._exit(9)
        elif "resuming Message Batch" in message:
            counts["resumed"] += 1
            print(f"  {message}", file=sys.stderr, flush=True)

    backend = AnthropicBatchBackend(
        model="claude-bench", base_url=base_url, poll_interval=0.2, max_batch_bytes=max_batch_bytes
    )
    client = LLMClient(backend, cache=ResponseCache(cache_path), log=log)
    requests = [LLMRequest.chat([{"role": "user", "content": p}], max_tokens=64) for p in _prompts(size)]
    prompt_mb = sum(len(r.messages[0][1]) for r in requests) / 2**20
    (responses, usage), stats = timed(lambda: client.generate(requests, stage="bench_batch"))
    answered = sum(1 for r in responses if r.text.startswith("echo: Request"))
    if answered != size:
        raise SystemExit(f"only {answered} of {size} requests answered")
    return {
        **stats,
        "detail": f"batches_submitted={counts['submitted']} batches_resumed={counts['resumed']} "
        f"cached={usage.cache_hits} prompts_mib={prompt_mb:.0f}",
        "submitted": counts["submitted"],
        "resumed": counts["resumed"],
    }


def measure_dedup(size: int) -> dict:
    from bench.dedup import dataset
    from synth_assets.instructions.dedup import near_duplicates

    texts = dataset(size)
    reasons, stats = timed(lambda: near_duplicates(texts, exact_below=1000))
    rejected = sum(reason is not None for reason in reasons)
    return {
        **stats,
        "detail": f"rejected={rejected}",
    }


def _jittered(images: np.ndarray, n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` images drawn from ``images``, each shifted by up to one pixel, plus noise."""
    picked = images[rng.integers(0, len(images), n)].copy()
    shifts = rng.integers(-1, 2, (n, 2))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            rows = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            picked[rows] = np.roll(picked[rows], (dy, dx), axis=(2, 3))
    return np.clip(picked + rng.normal(0, noise, picked.shape).astype(np.float32), 0, 1)


def measure_fid(size: int, seed: int = 0) -> dict:
    from synth_assets.images.features import train_extractor
    from synth_assets.images.sources import load_digits_images, split_images
    from synth_assets.metrics.image import fid

    split = split_images(*load_digits_images(), seed=seed)
    extractor = train_extractor(split.train, split.train_labels, len(split.class_names), seed=seed)
    rng = np.random.default_rng(seed)
    real = _jittered(split.train, size, 0.02, rng)
    fake = _jittered(split.holdout, size, 0.08, rng)
    value, stats = timed(lambda: fid(extractor.features(real), extractor.features(fake)))
    return {
        **stats,
        "detail": f"fid={value:.4f}",
    }


# -- orchestration ---------------------------------------------------------------------------
def _child(step: str, size: int, **options) -> dict:
    """Run one measurement in a fresh interpreter; its JSON line, or the exit code if killed."""
    command = [sys.executable, __file__, "--child", step, "--size", str(size)]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        return {"returncode": done.returncode}
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponent(sizes, values) -> float:
    """Least-squares slope of log(value) against log(size)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(values, float))
    return float(np.polyfit(x, y, 1)[0])


def _report_growth(step: str, sizes: list[int], results: list[dict]) -> float:
    seconds = [r["seconds"] for r in results]
    peaks = [r["peak_rss_mb"] for r in results]
    local = ", ".join(
        f"{_short(sizes[i])}->{_short(sizes[i + 1])} "
        f"{math.log(seconds[i + 1] / seconds[i]) / math.log(sizes[i + 1] / sizes[i]):.2f}"
        for i in range(len(sizes) - 1)
    )
    time_exponent = exponent(sizes, seconds)
    print(
        f"{step}: time exponent {time_exponent:.2f} ({local}); peak memory exponent "
        f"{exponent(sizes, peaks):.2f}",
        flush=True,
    )
    return time_exponent


def _short(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _print_row(step: str, size: int, r: dict) -> None:
    print(
        f"{step:6s} {size:>9,d} {r['seconds']:9.2f} s  peak {r['peak_rss_mb']:8.0f} MiB  "
        f"({r['over_data_mb']:+7.0f} MiB over the loaded data)  {r['detail']}",
        flush=True,
    )


def run_batch_sizes(sizes: list[int], workdir: Path, max_batch_bytes: int) -> list[dict]:
    """Each size against a fresh loopback API (its own process, enforcing the same byte limit),
    then the crash-and-resume pair at the largest size, when that size needs more than one
    batch. Returns the measurements, the resumed run last if there was one."""
    from bench.llm_throughput import ServerProcess

    server_options = {"record_bodies": False, "max_batch_bytes": max_batch_bytes}
    results = []
    for size in sizes:
        with ServerProcess(latency=0.0, options=server_options) as server:
            cache = workdir / f"batch_{size}.sqlite"
            results.append(
                _child(
                    "batch", size, base_url=server.base_url, cache_path=cache, max_batch_bytes=max_batch_bytes
                )
            )
        if "seconds" not in results[-1]:
            raise SystemExit(f"batch at {size} failed: exit code {results[-1]['returncode']}")
        _print_row("batch", size, results[-1])
    size, batches = sizes[-1], results[-1]["submitted"]
    if batches < KILL_AFTER_SUBMITS:
        print(f"batch_resume skipped: {size:,d} requests fit in {batches} batch", flush=True)
        return results
    cache = workdir / f"resume_{size}.sqlite"
    with ServerProcess(latency=0.0, options=server_options) as server:
        common = {"base_url": server.base_url, "cache_path": cache, "max_batch_bytes": max_batch_bytes}
        killed = _child("batch", size, kill_after_submits=KILL_AFTER_SUBMITS, **common)
        resumed = _child("batch", size, **common)
    # the killed run had submitted two batches (every part is submitted before any is polled):
    # both are resumed, not submitted again; only the parts it never reached are submitted
    expected = batches - KILL_AFTER_SUBMITS
    if (
        "seconds" not in resumed
        or resumed["submitted"] != expected
        or resumed["resumed"] != KILL_AFTER_SUBMITS
    ):
        raise SystemExit(
            f"the resumed run submitted {resumed.get('submitted')} batches (expected {expected}) "
            f"and resumed {resumed.get('resumed')} (expected {KILL_AFTER_SUBMITS})"
        )
    print(
        f"batch_resume {size:,d}: first process exit code {killed.get('returncode')} after its batch "
        f"{KILL_AFTER_SUBMITS} was submitted; the second process {resumed['detail']} in "
        f"{resumed['seconds']:.1f} s",
        flush=True,
    )
    return results + [resumed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="dcr,tstr,batch,dedup,fid")
    parser.add_argument("--quick", action="store_true", help="every size divided by 100")
    parser.add_argument("--sizes", help="comma-separated sizes for every chosen step, e.g. 100000,200000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--cache-path", help=argparse.SUPPRESS)
    parser.add_argument("--kill-after-submits", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--max-batch-bytes", type=int, default=MAX_BATCH_BYTES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "batch":
            result = measure_batch(
                args.size, args.base_url, args.cache_path, args.max_batch_bytes, args.kill_after_submits
            )
        else:
            result = {"dcr": measure_dcr, "tstr": measure_tstr, "dedup": measure_dedup, "fid": measure_fid}[
                args.child
            ](args.size)
        print(json.dumps(result))
        return

    steps = args.steps.split(",")
    unknown = set(steps) - set(SIZES)
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}; choose from {sorted(SIZES)}")
    divisor = 100 if args.quick else 1
    import torch

    print(f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs", flush=True)
    summary: dict[str, dict] = {}
    all_peaks = []
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        for step in steps:
            chosen = [int(n) for n in args.sizes.split(",")] if args.sizes else SIZES[step]
            sizes = [max(10, n // divisor) for n in chosen]
            if step == "batch":
                # --quick lowers the API's byte limit with the sizes, so the split still happens
                results = run_batch_sizes(sizes, Path(tmp), MAX_BATCH_BYTES // divisor)
                all_peaks += [r["peak_rss_mb"] for r in results[len(sizes) :]]
                results = results[: len(sizes)]
            else:
                results = []
                for size in sizes:
                    results.append(_child(step, size))
                    if "seconds" not in results[-1]:
                        raise SystemExit(f"{step} at {size} failed: exit code {results[-1]['returncode']}")
                    _print_row(step, size, results[-1])
            all_peaks += [r["peak_rss_mb"] for r in results]
            summary[step] = {
                "exponent": _report_growth(step, sizes, results),
                "largest_s": results[-1]["seconds"],
                "largest_peak_mb": results[-1]["peak_rss_mb"],
            }
    peak = max(all_peaks)
    over = [s for s, v in summary.items() if v["largest_peak_mb"] > GOAL_PEAK_MB]
    if "dcr" in summary:
        ok = summary["dcr"]["exponent"] <= GOAL_DCR_EXPONENT
        print(f"goal DCR exponent <= {GOAL_DCR_EXPONENT}: {'met' if ok else 'missed'}")
    verdict = f"missed by {over}" if over else "met"
    print(f"goal no step above {GOAL_PEAK_MB} MiB at its largest size: {verdict}")
    if args.quick or args.sizes:
        print("(sizes differ from the defaults: dcr_1m_s and batch_100k_s are at the largest size run)")

    def figure(step: str, key: str, fmt: str) -> str:
        return format(summary[step][key], fmt) if step in summary else "nan"

    print(
        f"dcr_1m_s={figure('dcr', 'largest_s', '.1f')} dcr_exponent={figure('dcr', 'exponent', '.3f')} "
        f"batch_100k_s={figure('batch', 'largest_s', '.1f')} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
