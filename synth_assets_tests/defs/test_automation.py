"""Schedules, the inbox sensor and the re-validation job."""

import datetime as dt

import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    validate_run_config,
)

from synth_assets.defs.instructions.jobs import instruction_lane_daily
from synth_assets.defs.locations import InboxLocation
from synth_assets.defs.publish.jobs import publish_daily, revalidate, revalidate_weekly
from synth_assets.defs.tabular.sensors import tabular_inbox
from synth_assets_tests.defs.helpers import (
    IMAGE_CHECK_NAMES,
    PROJECT,
    TABULAR_CHECK_NAMES,
    image_assets,
    image_checks,
    output_resources,
    run_assets,
    tabular_assets,
    tabular_checks,
)


def test_daily_schedules_run_yesterdays_partition():
    when = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.UTC)
    for schedule, job in ((instruction_lane_daily, "instruction_lane"), (publish_daily, "publish")):
        requests = list(
            schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=when)).run_requests
        )
        assert [r.partition_key for r in requests] == ["2026-11-21"] and schedule.job_name == job
    assert revalidate_weekly.cron_schedule == "0 3 * * 1"
    assert {s.name for s in PROJECT.schedules} == {
        "instruction_lane_daily",
        "publish_daily",
        "revalidate_weekly",
    }


def test_inbox_sensor_requests_a_valid_tabular_run_and_reports_bad_files(tmp_path, monkeypatch, mixed_table):
    mixed_table.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "people.yaml").write_text("target: label\nsynthesizer: tvae\nepochs: 5\n")
    mixed_table.to_csv(tmp_path / "stray.csv", index=False)
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, resources={"inbox": InboxLocation(path=str(tmp_path))}
        )
        results = list(tabular_inbox(context))
    [request] = [r for r in results if isinstance(r, RunRequest)]
    assert request.run_key.startswith("people-") and request.tags["synth_assets/inbox"] == "people"
    ops = request.run_config["ops"]
    assert ops["real_table"]["config"] == {"source": str(tmp_path / "people.csv"), "target": "label"}
    assert ops["tabular_synth"]["config"] == {"synthesizer": "tvae", "epochs": 5}
    assert validate_run_config(PROJECT.resolve_job_def("tabular_lane"), request.run_config)
    assert (tmp_path / "stray.csv").exists()


def test_inbox_passes_encoding_separator_ids_and_budget_through(tmp_path, mixed_table):
    table = mixed_table.assign(city=mixed_table.city.replace("Lyon", "Orléans"), ref=range(len(mixed_table)))
    table.to_csv(tmp_path / "people.csv", index=False, sep=";", encoding="latin-1")
    (tmp_path / "people.yaml").write_text(
        "target: label\nencoding: latin-1\nsep: ';'\nid_columns: [ref]\nsynthesizer: mst\nepsilon: 2.0\n"
    )
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, resources={"inbox": InboxLocation(path=str(tmp_path))}
        )
        [request] = [r for r in tabular_inbox(context) if isinstance(r, RunRequest)]
    ops = request.run_config["ops"]
    assert ops["real_table"]["config"] == {
        "source": str(tmp_path / "people.csv"),
        "target": "label",
        "encoding": "latin-1",
        "sep": ";",
        "id_columns": ["ref"],
    }
    assert ops["tabular_synth"]["config"] == {"synthesizer": "mst", "epsilon": 2.0}
    assert validate_run_config(PROJECT.resolve_job_def("tabular_lane"), request.run_config)


def test_inbox_sensor_skips_with_the_reasons(tmp_path, monkeypatch):
    (tmp_path / "half.yaml").write_text("target: y\n")
    with DagsterInstance.ephemeral() as instance:
        [result] = list(
            tabular_inbox(
                build_sensor_context(
                    instance=instance, resources={"inbox": InboxLocation(path=str(tmp_path))}
                )
            )
        )
    assert isinstance(result, SkipReason) and "half.yaml: no half.csv or half.parquet" in result.skip_message


@pytest.mark.slow
def test_revalidate_reruns_the_checks_without_regenerating(tmp_path):
    instance = DagsterInstance.ephemeral()
    small = {
        "image_model": {"config": {"steps": 20}},
        "synthetic_images": {"config": {"per_class": 15, "steps": 5}},
    }
    assert run_assets(tmp_path, [*tabular_assets, *image_assets], small, instance).success
    project = Definitions(
        assets=[*tabular_assets, *image_assets],
        asset_checks=[*tabular_checks, *image_checks],
        jobs=[revalidate],
        resources=output_resources(tmp_path),
    )
    result = project.resolve_job_def("revalidate").execute_in_process(instance=instance, raise_on_error=False)
    checks = {e.check_name for e in result.get_asset_check_evaluations()}
    assert checks == {*TABULAR_CHECK_NAMES, *IMAGE_CHECK_NAMES}
    assert result.get_asset_materialization_events() == []  # nothing regenerated
