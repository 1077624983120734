"""A 30-day backfill of the instruction lane under the queued run coordinator, as the daemon
runs it: `dg dev` (webserver + daemon) on an instance with deploy/dagster.yaml's run queue,
run limits and pools (SQLite storage instead of PostgreSQL), the lane on the loopback Messages
API with a fast fake latency (its own process). By default the backfill is of the
instruction_lane job, as launched from its page in the UI: its runs carry the job's
``synth_assets/lane`` tag. ``--of assets`` backfills the lane's assets instead, whose runs do not.

Measured: the wall time from launching the backfill to its last run ending, runs per minute,
the most runs in progress at once (all of them, and of the instruction lane, whose runs the
tag limit keeps to one at a time), and whether any two LLM-bound steps overlapped (the "llm"
pool allows one at a time across runs).

Last line: ``backfill_30d_s=<x> runs_per_min=<y> max_concurrent_runs=<z> llm_overlaps=<n>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.llm_throughput import ServerProcess  # noqa: E402
from synth_assets_tests.fakes import instruction_responder  # noqa: E402
from synth_assets_tests.servers.dagster_dev import BACKFILL_RUNS, DagsterDev  # noqa: E402

LLM_STEPS = {"raw_instructions", "evolved_instructions", "critic_filtered_instructions"}


def lane_assets() -> list[list[str]]:
    """Key paths of the instruction lane's assets (the group the instruction_lane job selects)."""
    from synth_assets.definitions import defs

    graph = defs().resolve_asset_graph()
    return sorted(
        key.path for key in graph.get_all_asset_keys() if graph.get(key).group_name == "instructions"
    )


def instance_yaml() -> str:
    """deploy/dagster.yaml without its PostgreSQL storage (SQLite under DAGSTER_HOME instead)."""
    import yaml

    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    config.pop("storage")
    return yaml.safe_dump(config)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most intervals in progress at the same moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = best = 0
    for _, change in events:
        running += change
        best = max(best, running)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per fake API request")
    parser.add_argument(
        "--of",
        choices=["job", "assets"],
        default="job",
        help="backfill the instruction_lane job (its runs carry its tags, so the lane's run limit "
        "applies) or its assets (runs without the job's tags)",
    )
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).date()
    days = [(today - dt.timedelta(days=d)).isoformat() for d in range(args.days, 0, -1)]
    with tempfile.TemporaryDirectory() as folder, ServerProcess(args.latency, instruction_responder) as api:
        env = {
            "SYNTH_ASSETS_OUTPUT_DIR": str(Path(folder) / "out"),
            "SYNTH_ASSETS_LLM_BACKEND": "anthropic",
            "SYNTH_ASSETS_LLM_BASE_URL": api.base_url,
            "ANTHROPIC_API_KEY": "sk-bench-not-a-real-key",
        }
        with DagsterDev(Path(folder) / "home", env, instance=instance_yaml()) as dev:
            started = time.perf_counter()
            if args.of == "job":
                backfill_id = dev.backfill(days, job="instruction_lane")
            else:
                backfill_id = dev.backfill(days, lane_assets())
            print(f"backfill {backfill_id}: {len(days)} days, {days[0]} to {days[-1]}", flush=True)
            last = None

            def progress():
                nonlocal last
                outcome = dev.backfill_outcome(backfill_id)
                runs = dev.graphql(BACKFILL_RUNS, {"id": backfill_id})["runsOrError"]["results"]
                counts = {}
                for run in runs:
                    counts[run["status"]] = counts.get(run["status"], 0) + 1
                if counts != last:
                    print(f"{time.perf_counter() - started:7.1f} s  {counts}", flush=True)
                    last = counts
                return outcome

            outcome = dev.wait_for(progress, timeout=3 * 3600, every=5)
            seconds = time.perf_counter() - started
            if not outcome:
                raise SystemExit(f"the backfill did not finish in {seconds:.0f} s")
            state, runs = outcome
            failed = [r["runId"] for r in runs if r["status"] != "SUCCESS"]
            spans = [(r["startTime"], r["endTime"]) for r in runs if r["startTime"]]
            llm = dev.step_spans(runs, LLM_STEPS)
            overlaps = sum(end > next_start for (_, end), (next_start, _) in zip(llm, llm[1:], strict=False))
            run_seconds = sorted(end - start for start, end in spans)
            print(
                f"backfill {state}: {len(runs)} runs ({len(failed)} not successful) in {seconds:.0f} s; "
                f"run time median {run_seconds[len(run_seconds) // 2]:.1f} s, max {run_seconds[-1]:.1f} s; "
                f"{len(llm)} LLM-bound steps, {overlaps} overlapping"
            )
            print(
                f"backfill_30d_s={seconds:.1f} runs_per_min={len(runs) / (seconds / 60):.2f} "
                f"max_concurrent_runs={most_at_once(spans)} llm_overlaps={overlaps}"
            )


if __name__ == "__main__":
    main()
