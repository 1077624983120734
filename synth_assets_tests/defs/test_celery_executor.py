"""The Celery executor for real: a Redis broker and PostgreSQL instance storage on loopback, two
Celery workers in their own processes (one on the default "dagster" queue, one on the "llm"
queue), the synth_assets.distributed code location run through the CLI. Read back from
PostgreSQL: which worker ran which step; and a worker process killed in the middle of a step:
the broker hands the step out again and the run still succeeds."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from synth_assets_tests.defs.helpers import recent_day
from synth_assets_tests.fakes import instruction_responder
from synth_assets_tests.servers.anthropic_fake import FakeAnthropicServer
from synth_assets_tests.servers.celery import CeleryWorker, RedisServer
from synth_assets_tests.servers.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
LLM_STEPS = {"raw_instructions", "evolved_instructions", "critic_filtered_instructions"}
DAY = recent_day(2)


def _execute(env, job, *configs, tags=None, wait=True):
    command = [
        sys.executable, "-m", "dagster", "job", "execute", "-m", "synth_assets.distributed", "-a", "defs",
        "-j", job, "-c", str(ROOT / "deploy" / "celery.yaml"), *[a for c in configs for a in ("-c", str(c))],
    ]  # fmt: skip
    if tags:
        command += ["--tags", json.dumps(tags)]
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _workers_by_step(instance, run_id) -> dict[str, set[str]]:
    """step key -> the Celery node names (``<worker>@<host>``) that ran it, from the event log."""
    found: dict[str, set[str]] = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data
        worker = data.metadata.get("Celery worker") if data else None
        if worker is not None:
            for step in data.metadata["step_keys"].value.strip("[]").replace("'", "").split(", "):
                found.setdefault(step, set()).add(worker.value.split("@")[0])
    return found


@pytest.mark.slow
def test_lanes_run_on_two_celery_workers_and_survive_a_killed_worker_process(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    small = tmp_path / "small.yaml"
    small.write_text("ops:\n  raw_instructions:\n    config:\n      n_chunks: 12\n")
    with (
        PostgresServer() as pg,
        RedisServer() as redis,
        FakeAnthropicServer(responder=instruction_responder) as llm,
    ):
        env = {
            **os.environ,
            **pg.env,
            "DAGSTER_HOME": str(home),
            "SYNTH_ASSETS_OUTPUT_DIR": str(tmp_path / "out"),
            "CELERY_BROKER_URL": redis.url(0),
            "CELERY_BACKEND_URL": redis.url(1),
            "SYNTH_ASSETS_LLM_BACKEND": "anthropic",
            "SYNTH_ASSETS_LLM_BASE_URL": llm.base_url,
            "ANTHROPIC_API_KEY": "sk-test-celery",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # the venv's celery
            "PYTHONPATH": str(ROOT),
        }
        with (
            CeleryWorker("w_default", "dagster", env, concurrency=2) as default,
            CeleryWorker("w_llm", "llm", env, concurrency=1) as llm_worker,
        ):
            _execute(env, "tabular_lane")
            _execute(env, "instruction_lane", small, tags={"dagster/partition": DAY})
            for key, value in {**pg.env, "DAGSTER_HOME": str(home)}.items():
                monkeypatch.setenv(key, value)
            with DagsterInstance.get() as instance:
                records = {r.dagster_run.job_name: r.dagster_run for r in instance.get_run_records()}
                assert {name: run.status for name, run in records.items()} == {
                    "tabular_lane": DagsterRunStatus.SUCCESS,
                    "instruction_lane": DagsterRunStatus.SUCCESS,
                }
                tabular = _workers_by_step(instance, records["tabular_lane"].run_id)
                instructions = _workers_by_step(instance, records["instruction_lane"].run_id)
                # steps ran in both workers: the LLM-bound ones only on the llm queue's worker
                assert set(tabular) >= {"real_table", "tabular_synth"}
                assert all(workers == {"w_default"} for workers in tabular.values()), tabular
                assert {s: w for s, w in instructions.items() if s in LLM_STEPS} == dict.fromkeys(
                    LLM_STEPS, {"w_llm"}
                )
                assert {"w_default"} in [w for s, w in instructions.items() if s not in LLM_STEPS]

                # kill the process running tabular_synth; Celery (acks_late, reject_on_worker_lost)
                # hands the step out again and the run finishes
                before = {r.dagster_run.run_id for r in instance.get_run_records()}
                running = _execute(env, "tabular_lane", wait=False)
                pid, deadline = None, time.monotonic() + 300
                while pid is None and time.monotonic() < deadline:
                    new = [r for r in instance.get_run_records() if r.dagster_run.run_id not in before]
                    starts = [
                        e.dagster_event.pid
                        for r in new
                        for e in instance.all_logs(r.dagster_run.run_id, of_type=DagsterEventType.STEP_START)
                        if e.step_key == "tabular_synth"
                    ]
                    pid = starts[0] if starts else None
                    time.sleep(0.2)
                assert pid, "tabular_synth never started"
                os.kill(pid, signal.SIGKILL)
                output, _ = running.communicate(timeout=600)
                assert running.returncode == 0, output[-3000:].decode(errors="replace")
                [run] = [
                    r.dagster_run for r in instance.get_run_records() if r.dagster_run.run_id not in before
                ]
                assert run.status == DagsterRunStatus.SUCCESS
                starts = [
                    e.dagster_event.pid
                    for e in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
                    if e.step_key == "tabular_synth"
                ]
                assert len(starts) == 2 and starts[0] == pid != starts[1]
                assert "WorkerLostError" in default.output()  # the worker saw its process die
            assert " ready." in llm_worker.output()
