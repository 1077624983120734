"""User-given data paths: optionally confined to one directory (the ``input_location`` resource,
env ``SYNTH_ASSETS_DATA_DIR``)."""

from __future__ import annotations

from pathlib import Path

from synth_assets.errors import InputDataError


def require_inside(path: Path, allowed_dir: str | None) -> None:
    """Refuse ``path`` when it resolves (symlinks followed) outside ``allowed_dir``."""
    if allowed_dir is None:
        return
    root = Path(allowed_dir).expanduser().resolve()
    if not Path(path).expanduser().resolve().is_relative_to(root):
        raise InputDataError(f"{path} is outside the allowed data directory {root}")
