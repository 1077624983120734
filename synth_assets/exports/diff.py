"""What changed between two exports: items added and removed, metric deltas and config deltas,
read from the export folders (their ``manifest.json`` and data files). Pure logic; the command
line (``make diff A=<version or folder> B=<version or folder>``) is at the bottom.

Items are compared by content: a row (tabular), a pair (instructions) or an image's manifest row
with its pixel hash (images) counts as the same item when every exported field but its position
(``origin_id``, the file name) is equal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

MANIFEST_JSON = "manifest.json"
# the file holding one row per exported item, per lane, and the columns that are not content:
# origin_id is a position for synthetic rows (the n-th generated row), and an image's file name
# counts its position in the export (and the watermark payload is a hash of the origin id)
ITEMS = {
    "tabular": ("data.parquet", ("origin_id",)),
    "instructions": ("alpaca.jsonl", ("origin_id",)),
    "images": ("manifest.csv", ("file", "origin_id", "watermark_payload")),
}


class ExportNotFoundError(ValueError):
    """An export folder or version that cannot be found, or names more than one export."""


@dataclass
class ExportDiff:
    a: dict  # manifest.json of A
    b: dict
    n_a: int
    n_b: int
    added: int
    removed: int
    unchanged: int
    examples_added: pd.DataFrame
    examples_removed: pd.DataFrame
    metrics: pd.DataFrame  # metric, a, b, delta, status_a, status_b (changed ones)
    config: pd.DataFrame  # key, a, b (changed ones)
    upstream: pd.DataFrame  # asset, a, b (changed data versions)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.a.get("version") == self.b.get("version")

    def to_markdown(self) -> str:
        lines = [
            f"# {self.a.get('lane', '?')} export {self.a.get('version')} -> {self.b.get('version')}",
            "",
            *(["Identical content.", ""] if self.identical else []),
            f"Items: {self.n_a} -> {self.n_b}: {self.added} added, {self.removed} removed, "
            f"{self.unchanged} unchanged.",
            "",
        ]
        for title, frame in (
            ("Metrics that changed", self.metrics),
            ("Config that changed", self.config),
            ("Upstream data versions that changed", self.upstream),
            ("Added items (first 5)", self.examples_added),
            ("Removed items (first 5)", self.examples_removed),
        ):
            lines += [f"## {title}", "", frame.to_markdown(index=False) if len(frame) else "none", ""]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST_JSON
    if not path.is_file():
        raise ExportNotFoundError(f"{folder} is not an export folder: no {MANIFEST_JSON}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExportNotFoundError(f"{path} is not valid JSON: {exc}") from exc


def read_items(folder: Path, lane: str) -> pd.DataFrame:
    if lane not in ITEMS:
        raise ExportNotFoundError(f"{folder}: unknown lane {lane!r} in {MANIFEST_JSON}")
    name, volatile = ITEMS[lane]
    path = Path(folder) / name
    if not path.is_file():
        raise ExportNotFoundError(f"{folder}: {name} is missing")
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif name.endswith(".jsonl"):
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.drop(columns=[c for c in volatile if c in frame.columns])


def _row_keys(frame: pd.DataFrame) -> list[str]:
    """One text key per row, over the columns in sorted order (so column order does not count)."""
    columns = sorted(frame.columns)
    return [json.dumps(row, default=str, sort_keys=True) for row in frame[columns].to_dict("records")]


def _flatten(data, prefix: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def _same(a, b) -> bool:
    """Equal, counting two NaNs (a metric that could not be measured in both) as equal."""
    both_nan = isinstance(a, float) and isinstance(b, float) and a != a and b != b
    return both_nan or a == b


def _changed(a: dict, b: dict, label: str) -> pd.DataFrame:
    rows = [
        {label: key, "a": a.get(key), "b": b.get(key)}
        for key in sorted(set(a) | set(b))
        if not _same(a.get(key), b.get(key))
    ]
    return pd.DataFrame(rows, columns=[label, "a", "b"])


def _metric_deltas(a: dict, b: dict) -> pd.DataFrame:
    rows = []
    for name in sorted(set(a) | set(b)):
        left, right = a.get(name) or {}, b.get(name) or {}
        va, vb = left.get("value"), right.get("value")
        if _same(va, vb) and left.get("status") == right.get("status"):
            continue
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
        rows.append(
            {
                "metric": name,
                "a": va,
                "b": vb,
                "delta": (vb - va) if numeric else None,
                "status_a": left.get("status"),
                "status_b": right.get("status"),
            }
        )
    return pd.DataFrame(rows, columns=["metric", "a", "b", "delta", "status_a", "status_b"])


def diff_exports(a: Path, b: Path) -> ExportDiff:
    """Compare export folder ``a`` (older) with ``b`` (newer)."""
    manifest_a, manifest_b = read_manifest(a), read_manifest(b)
    if manifest_a.get("lane") != manifest_b.get("lane"):
        raise ExportNotFoundError(
            f"cannot compare a {manifest_a.get('lane')} export with a {manifest_b.get('lane')} export"
        )
    lane = manifest_a["lane"]
    items_a, items_b = read_items(a, lane), read_items(b, lane)
    notes = []
    if sorted(items_a.columns) != sorted(items_b.columns):
        gone, new = sorted(set(items_a) - set(items_b)), sorted(set(items_b) - set(items_a))
        notes.append(f"columns differ (only in A: {gone}; only in B: {new}): every item counts as changed")
    keys_a, keys_b = Counter(_row_keys(items_a)), Counter(_row_keys(items_b))
    added, removed = keys_b - keys_a, keys_a - keys_b
    unchanged = sum((keys_a & keys_b).values())

    def examples(frame: pd.DataFrame, wanted: Counter) -> pd.DataFrame:
        keys = _row_keys(frame)
        picked = [i for i, key in enumerate(keys) if key in wanted][:5]
        return frame.iloc[picked].reset_index(drop=True)

    return ExportDiff(
        manifest_a,
        manifest_b,
        len(items_a),
        len(items_b),
        sum(added.values()),
        sum(removed.values()),
        unchanged,
        examples(items_b, added),
        examples(items_a, removed),
        _metric_deltas(manifest_a.get("metrics") or {}, manifest_b.get("metrics") or {}),
        _changed(_flatten(manifest_a.get("config") or {}), _flatten(manifest_b.get("config") or {}), "key"),
        _changed(manifest_a.get("upstream") or {}, manifest_b.get("upstream") or {}, "asset"),
        notes,
    )


def find_export(name: str, root: Path) -> Path:
    """``name`` is an export folder, or a version (or a prefix of at least 6 characters) of one
    found under ``root`` (latest exports and their history)."""
    path = Path(name).expanduser()
    if (path / MANIFEST_JSON).is_file():
        return path
    if len(name) < 6 or any(c not in "0123456789abcdef" for c in name.lower()):
        raise ExportNotFoundError(f"{name!r} is neither an export folder nor a version (6+ hex digits)")
    found = {}
    for manifest in sorted(Path(root).rglob(MANIFEST_JSON)) if Path(root).is_dir() else []:
        try:
            version = str(json.loads(manifest.read_text()).get("version", ""))
        except (OSError, json.JSONDecodeError):
            continue
        if version.startswith(name.lower()):
            found.setdefault(version, manifest.parent)
    if not found:
        raise ExportNotFoundError(f"no export with version {name!r} under {root}")
    if len(found) > 1:
        raise ExportNotFoundError(f"version {name!r} is ambiguous under {root}: {sorted(found)}")
    return next(iter(found.values()))


def default_root() -> Path:
    return Path(os.environ.get("SYNTH_ASSETS_OUTPUT_DIR", "outputs")) / "exports"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m synth_assets.exports.diff",
        description="What changed between two exports (items, metrics, config, upstream versions).",
    )
    parser.add_argument("a", help="older export: its folder, or its version")
    parser.add_argument("b", help="newer export: its folder, or its version")
    parser.add_argument("--root", type=Path, default=None, help="where to look for versions")
    args = parser.parse_args(argv)
    root = args.root or default_root()
    try:
        report = diff_exports(find_export(args.a, root), find_export(args.b, root))
    except ExportNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.to_markdown(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
