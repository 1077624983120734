"""An inbox folder of tabular datasets: ``<name>.csv`` or ``<name>.parquet`` beside
``<name>.yaml`` naming its target (and optionally task_type, holdout_fraction, encoding, sep,
id_columns; synthesizer, epochs, epsilon, delta).

:func:`scan_inbox` validates each pair without moving or changing anything: good pairs come
back with a fingerprint of both files (so a changed file is a new request), bad ones with the
reason. Files are never deleted or moved: a bad file stays where it is until someone fixes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from synth_assets.errors import InputDataError
from synth_assets.tabular.sources import load_real_table

DATA_SUFFIXES = (".csv", ".parquet")
REAL_TABLE_KEYS = ("task_type", "holdout_fraction", "encoding", "sep", "id_columns")
SYNTH_KEYS = ("synthesizer", "epochs", "epsilon", "delta")
SPEC_KEYS = {"target", *REAL_TABLE_KEYS, *SYNTH_KEYS}


@dataclass(frozen=True)
class InboxDataset:
    name: str
    data_path: Path
    spec: dict
    fingerprint: str  # sha256 of data and spec: same files, same run key


def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_spec(path: Path) -> dict:
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputDataError(f"{path.name}: not readable YAML: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("target"), str):
        raise InputDataError(f"{path.name}: needs a mapping with 'target: <column name>'")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise InputDataError(f"{path.name}: unknown key(s) {unknown}; allowed: {sorted(SPEC_KEYS)}")
    return spec


def scan_inbox(folder: str | Path) -> tuple[list[InboxDataset], list[tuple[str, str]]]:
    """Datasets ready to synthesize, and (file name, reason) for every file that is not."""
    folder = Path(folder)
    if not folder.is_dir():
        return [], [(str(folder), "inbox folder does not exist")]
    ready, problems = [], []
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    specs = {p.stem: p for p in files if p.suffix in (".yaml", ".yml")}
    data = {p.stem: p for p in files if p.suffix.lower() in DATA_SUFFIXES}
    for stem in sorted(set(data) - set(specs)):
        problems.append((data[stem].name, f"no {stem}.yaml naming its target column"))
    for stem, spec_path in sorted(specs.items()):
        if stem not in data:
            problems.append((spec_path.name, f"no {stem}.csv or {stem}.parquet beside it"))
            continue
        try:
            spec = read_spec(spec_path)
            load_real_table(
                str(data[stem]),
                target=spec["target"],
                task_type=spec.get("task_type"),
                encoding=spec.get("encoding", "utf-8"),
                sep=spec.get("sep", ","),
            )
        except InputDataError as exc:
            problems.append((data[stem].name, str(exc)))
            continue
        ready.append(InboxDataset(stem, data[stem], spec, _fingerprint(data[stem], spec_path)))
    for path in files:
        if path.suffix.lower() not in (*DATA_SUFFIXES, ".yaml", ".yml"):
            problems.append((path.name, "not a .csv, .parquet or .yaml file"))
    return ready, problems
