"""A scorecard: metrics with value, threshold, pass/fail and what each one means, plus plots."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from synth_assets.verdicts import fmt

PASS, FAIL, INFO = "pass", "FAIL", "info"


@dataclass(frozen=True)
class Metric:
    section: str  # fidelity, utility, privacy, diversity, counts, ...
    name: str
    value: float | int | str
    meaning: str
    threshold: str = ""  # e.g. ">= 0.90"; empty for a figure shown for information
    passed: bool | None = None  # None: informational

    @property
    def status(self) -> str:
        return INFO if self.passed is None else PASS if self.passed else FAIL


def png_markdown(png: bytes, alt: str) -> str:
    """A PNG as a markdown image with an inline data URI (what the Dagster UI renders)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def format_value(value) -> str:
    """4 significant digits, as the checks and the UI show numbers."""
    return fmt(value)


@dataclass
class Scorecard:
    lane: str
    title: str
    metrics: list[Metric]
    plots: dict[str, bytes] = field(default_factory=dict)  # caption -> PNG
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # caption -> small frame
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(m.passed is not False for m in self.metrics)

    @property
    def n_failed(self) -> int:
        return sum(m.passed is False for m in self.metrics)

    def value(self, name: str):
        return next(m.value for m in self.metrics if m.name == name)

    def metrics_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame([asdict(m) for m in self.metrics])
        frame["value"] = frame["value"].map(format_value)
        frame["status"] = [m.status for m in self.metrics]
        return frame

    def to_markdown(self, with_plots: bool = True) -> str:
        lines = [
            f"### {self.title}",
            "",
            f"**{'PASS' if self.passed else 'FAIL'}**: {self.n_failed} of "
            f"{sum(m.passed is not None for m in self.metrics)} thresholded metrics failed.",
            "",
        ]
        for section in dict.fromkeys(m.section for m in self.metrics):
            lines += [
                f"**{section}**",
                "",
                "| metric | value | threshold | status | what this means |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {m.name} | {format_value(m.value)} | {m.threshold} | {m.status} | {m.meaning} |"
                for m in self.metrics
                if m.section == section
            ]
            lines.append("")
        for caption, frame in self.tables.items():
            lines += [f"**{caption}**", "", frame.to_markdown(index=False), ""]
        lines += [f"- {note}" for note in self.notes]
        if with_plots:
            for caption, png in self.plots.items():
                lines += [
                    "",
                    f"**{caption}**",
                    "",
                    png_markdown(png, caption),
                ]
        return "\n".join(lines)

    def summary(self) -> dict:
        """Name -> value for thresholded metrics and the verdict, for dataset cards and JSON."""
        return {"lane": self.lane, "passed": self.passed, **{m.name: m.value for m in self.metrics}}

    # bundle storage: metrics as a frame, plots as PNG files in a folder, tables as frames
    def to_bundle(self):
        metrics = pd.DataFrame([{**asdict(m), "value": json.dumps(m.value)} for m in self.metrics])
        parts: dict = {"metrics": metrics}
        parts.update({f"table_{i}": frame for i, frame in enumerate(self.tables.values())})
        captions = list(self.plots)

        def write_plots(folder: Path) -> None:
            for i, caption in enumerate(captions):
                (folder / f"plot_{i}.png").write_bytes(self.plots[caption])

        parts["plots"] = write_plots
        meta = {
            "lane": self.lane,
            "title": self.title,
            "notes": self.notes,
            "plot_captions": captions,
            "table_captions": list(self.tables),
        }
        return parts, meta

    @classmethod
    def from_bundle(cls, parts, meta) -> Scorecard:
        metrics = [
            Metric(
                **{
                    **row,
                    "value": json.loads(row["value"]),
                    "passed": None if pd.isna(row["passed"]) else bool(row["passed"]),
                }
            )
            for row in parts["metrics"].to_dict("records")
        ]
        plots = {
            c: (parts["plots"] / f"plot_{i}.png").read_bytes() for i, c in enumerate(meta["plot_captions"])
        }
        tables = {c: parts[f"table_{i}"] for i, c in enumerate(meta["table_captions"])}
        return cls(meta["lane"], meta["title"], metrics, plots, tables, list(meta["notes"]))
