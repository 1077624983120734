"""Dagster entry point (``[tool.dg]`` in pyproject.toml points here): every definition under
``synth_assets/defs/`` (one folder per lane with its assets, checks, jobs and schedules;
publish; shared partitions and resources), found by ``load_from_defs_folder``."""

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder


@definitions
def defs() -> Definitions:
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
