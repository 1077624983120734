"""Atomic persistence of named parts plus JSON metadata ("bundles").

A bundle is a directory holding ``bundle.json`` with the metadata and one file or folder per
part: a data frame becomes ``<name>.parquet``, a NumPy array ``<name>.npy``, and a callable
``writer(folder)`` fills the folder ``<name>/`` (model weights, PNG files).

Bundles are written into a temporary sibling directory and swapped into place with
``os.replace``, so a reader sees either the previous complete bundle or the new complete one,
never a half-written directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_assets.errors import InputDataError

BUNDLE_FILE = "bundle.json"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _replace_dir(staging: Path, target: Path) -> None:
    """Move a complete ``staging`` directory to ``target``, replacing any previous one."""
    if target.exists():
        trash = target.with_name(f".{target.name}.old-{uuid.uuid4().hex}")
        os.replace(target, trash)
        os.replace(staging, target)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, target)


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory beside ``target``; on success it replaces ``target``
    whole, on error it is removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield staging
        _replace_dir(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


Part = pd.DataFrame | np.ndarray | Callable[[Path], None]


def save_bundle(path: Path, parts: dict[str, Part], meta: dict[str, Any]) -> None:
    """Atomically write ``parts`` and ``meta`` (as JSON) to directory ``path``."""
    kinds: dict[str, list[str]] = {"frames": [], "arrays": [], "dirs": []}
    with atomic_directory(path) as staging:
        for name, part in parts.items():
            if isinstance(part, pd.DataFrame):
                part.to_parquet(staging / f"{name}.parquet", index=False)
                kinds["frames"].append(name)
            elif isinstance(part, np.ndarray):
                np.save(staging / f"{name}.npy", part, allow_pickle=False)
                kinds["arrays"].append(name)
            elif callable(part):
                (staging / name).mkdir()
                part(staging / name)
                kinds["dirs"].append(name)
            else:
                raise TypeError(f"bundle part {name!r}: cannot store a {type(part).__name__}")
        manifest = {**{k: sorted(v) for k, v in kinds.items()}, "meta": meta}
        (staging / BUNDLE_FILE).write_text(json.dumps(manifest, indent=2, default=str))


def load_bundle(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a bundle written by :func:`save_bundle`: frames and arrays are loaded, folder parts
    are returned as their path inside the bundle."""
    path = Path(path)
    manifest_path = path / BUNDLE_FILE
    if not manifest_path.exists():
        raise FileNotFoundError(f"No bundle at {path} (missing {BUNDLE_FILE}); materialize it first.")
    manifest = json.loads(manifest_path.read_text())
    parts: dict[str, Any] = {name: pd.read_parquet(path / f"{name}.parquet") for name in manifest["frames"]}
    parts.update({name: np.load(path / f"{name}.npy") for name in manifest.get("arrays", [])})
    parts.update({name: path / name for name in manifest.get("dirs", [])})
    return parts, manifest["meta"]


def folder_digest(path: Path, skip: tuple[str, ...] = ()) -> str:
    """SHA-256 over every file under ``path`` (its relative path and its bytes, in sorted order):
    the same content gives the same digest wherever and whenever it was written."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in skip):
        content = hashlib.sha256()
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        digest.update(file.relative_to(path).as_posix().encode() + b"\0" + content.digest())
    return digest.hexdigest()


def json_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank line of a JSONL file; a line that is not a JSON
    object is an error naming the file and line."""
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputDataError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise InputDataError(f"{path}:{number}: not a JSON object")
        yield number, row
