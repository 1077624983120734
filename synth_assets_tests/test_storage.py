import json

import numpy as np
import pandas as pd
import pytest

from synth_assets.storage import BUNDLE_FILE, atomic_write_text, load_bundle, save_bundle


def test_bundle_round_trip_keeps_dtypes(tmp_path, mixed_table):
    frame = mixed_table.assign(
        city=mixed_table["city"].astype("category"),
        count=pd.array([1, None] * (len(mixed_table) // 2), dtype="Int64"),
    )
    save_bundle(tmp_path / "b", {"data": frame}, {"seed": 3})
    frames, meta = load_bundle(tmp_path / "b")
    assert meta == {"seed": 3}
    pd.testing.assert_frame_equal(frames["data"], frame)


def test_save_replaces_previous_bundle_whole(tmp_path):
    target = tmp_path / "b"
    save_bundle(target, {"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"y": [2]})}, {"v": 1})
    save_bundle(target, {"a": pd.DataFrame({"x": [5, 6]})}, {"v": 2})
    frames, meta = load_bundle(target)
    assert meta == {"v": 2} and list(frames) == ["a"] and frames["a"]["x"].tolist() == [5, 6]
    assert not (target / "b.parquet").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no staging or trash left


def test_failed_save_leaves_previous_bundle_and_no_debris(tmp_path):
    target = tmp_path / "b"
    save_bundle(target, {"a": pd.DataFrame({"x": [1]})}, {"v": 1})

    class Unserialisable:
        pass

    bad = pd.DataFrame({"x": [Unserialisable()]})
    with pytest.raises((TypeError, ValueError, ArithmeticError, RuntimeError)):  # pyarrow's errors
        save_bundle(target, {"a": bad}, {"v": 2})
    frames, meta = load_bundle(target)
    assert meta == {"v": 1} and frames["a"]["x"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_load_missing_bundle_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="materialize it first"):
        load_bundle(tmp_path / "nope")


def test_atomic_write_text(tmp_path):
    path = tmp_path / "d" / "f.json"
    atomic_write_text(path, json.dumps({"a": np.int64(1).item()}))
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["f.json"]
    assert BUNDLE_FILE == "bundle.json"


def test_bundle_holds_arrays_and_folders(tmp_path):
    pixels = np.random.default_rng(0).random((3, 1, 4, 4)).astype(np.float32)

    def write_weights(folder):
        (folder / "weights.bin").write_bytes(b"\x00\x01")

    save_bundle(tmp_path / "b", {"pixels": pixels, "weights": write_weights}, {"k": 1})
    parts, meta = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(parts["pixels"], pixels)
    assert parts["pixels"].dtype == np.float32
    assert (parts["weights"] / "weights.bin").read_bytes() == b"\x00\x01"


def test_failing_folder_writer_leaves_previous_bundle(tmp_path):
    save_bundle(tmp_path / "b", {"a": pd.DataFrame({"x": [1]})}, {"v": 1})

    def broken(folder):
        (folder / "half").write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_bundle(tmp_path / "b", {"w": broken}, {"v": 2})
    assert load_bundle(tmp_path / "b")[1] == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_unknown_part_type_is_named(tmp_path):
    with pytest.raises(TypeError, match="part 'x'.*dict"):
        save_bundle(tmp_path / "b", {"x": {"not": "storable"}}, {})


def test_outputs_get_ordinary_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.html", "<html></html>")
        save_bundle(tmp_path / "b", {"a": pd.DataFrame({"x": [1]})}, {})
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o755


def test_json_lines_skips_blank_lines_and_names_a_bad_one(tmp_path):
    from synth_assets.errors import InputDataError
    from synth_assets.storage import json_lines

    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert list(json_lines(path)) == [(1, {"a": 1}), (3, {"a": 2})]
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputDataError, match=r"rows.jsonl:2: not a JSON object"):
        list(json_lines(path))
