"""Value objects of the instruction lane (what the assets hold) and the seed-topic loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from synth_assets.errors import InputDataError
from synth_assets.storage import json_lines

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_TOPICS = DATA_DIR / "topics.yaml"
DEFAULT_SEED_TASKS = DATA_DIR / "seed_tasks.jsonl"
SEED_TASK_FIELDS = ("id", "topic", "instruction", "input", "output")


@dataclass(frozen=True)
class SeedTopics:
    topics: list[str]
    personas: list[str]
    version: int
    source: str
    seed_tasks: pd.DataFrame

    def to_bundle(self):
        frames = {
            "topics": pd.DataFrame({"topic": self.topics}),
            "personas": pd.DataFrame({"persona": self.personas}, dtype=object),
            "seed_tasks": self.seed_tasks,
        }
        return frames, {"version": self.version, "source": self.source}

    @classmethod
    def from_bundle(cls, frames, meta) -> SeedTopics:
        return cls(
            topics=frames["topics"]["topic"].tolist(),
            personas=frames["personas"]["persona"].tolist(),
            seed_tasks=frames["seed_tasks"],
            **meta,
        )


@dataclass(frozen=True)
class InstructionSet:
    """Kept rows, rejected rows with their reasons, and run facts (usage, settings); for the
    critic stage also the critics' scores of the calibration set."""

    kept: pd.DataFrame
    rejects: pd.DataFrame
    meta: dict = field(default_factory=dict)
    calibration: pd.DataFrame | None = None

    def to_bundle(self):
        frames = {"kept": self.kept, "rejects": self.rejects}
        if self.calibration is not None:
            frames["calibration"] = self.calibration
        return frames, {"meta": self.meta}

    @classmethod
    def from_bundle(cls, frames, meta) -> InstructionSet:
        return cls(
            kept=frames["kept"],
            rejects=frames["rejects"],
            meta=meta["meta"],
            calibration=frames.get("calibration"),
        )


@dataclass(frozen=True)
class Corpus:
    """Human-written text chunks (the responses of back-translated pairs) and where they came
    from: kind, source, licence, chunking version."""

    chunks: pd.DataFrame
    facts: dict

    def to_bundle(self):
        return {"chunks": self.chunks}, {"facts": self.facts}

    @classmethod
    def from_bundle(cls, frames, meta) -> Corpus:
        return cls(chunks=frames["chunks"], facts=meta["facts"])


def load_seed_topics(
    topics_path: str | Path | None = None, seed_tasks_path: str | Path | None = None
) -> SeedTopics:
    """Topics (+ personas) from a versioned YAML file and the human-written seed task pool."""
    topics_path = Path(topics_path or DEFAULT_TOPICS)
    seed_tasks_path = Path(seed_tasks_path or DEFAULT_SEED_TASKS)
    if not topics_path.is_file():
        raise InputDataError(f"topics file not found: {topics_path}")
    try:
        data = yaml.safe_load(topics_path.read_text())
    except yaml.YAMLError as exc:
        raise InputDataError(f"topics file {topics_path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "version" not in data or not data.get("topics"):
        raise InputDataError(f"topics file {topics_path} needs a 'version' and a non-empty 'topics' list")
    topics = data["topics"]
    personas = data.get("personas") or []
    for name, values in (("topics", topics), ("personas", personas)):
        if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
            raise InputDataError(f"{topics_path}: '{name}' must be a list of non-empty strings")
    if len(set(topics)) != len(topics):
        raise InputDataError(f"{topics_path}: duplicate topics")
    if not seed_tasks_path.is_file():
        raise InputDataError(f"seed task file not found: {seed_tasks_path}")
    rows = []
    for number, row in json_lines(seed_tasks_path):
        missing = [f for f in SEED_TASK_FIELDS if f not in row]
        if missing:
            raise InputDataError(f"{seed_tasks_path}:{number}: missing fields {missing}")
        rows.append({f: row[f] for f in SEED_TASK_FIELDS})
    if not rows:
        raise InputDataError(f"seed task file {seed_tasks_path} has no tasks")
    return SeedTopics(
        topics=topics,
        personas=personas,
        version=int(data["version"]),
        source=str(topics_path),
        seed_tasks=pd.DataFrame(rows, columns=list(SEED_TASK_FIELDS)),
    )
