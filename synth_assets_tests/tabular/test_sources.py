import pandas as pd
import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.sources import detect_task_type, load_real_table


@pytest.mark.parametrize(
    "name,task,rows",
    [
        ("breast_cancer", "binary", 569),
        ("wine", "multiclass", 178),
        ("diabetes", "regression", 442),
    ],
)
def test_builtin_tables_load_offline(name, task, rows):
    real = load_real_table(name)
    assert real.task_type == task and len(real.frame) == rows and real.target == "target"


def test_csv_with_mixed_types(tmp_path, mixed_table):
    path = tmp_path / "people.csv"
    mixed_table.to_csv(path, index=False)
    real = load_real_table(str(path), target="label")
    frame = real.frame
    assert real.task_type == "binary"
    assert pd.api.types.is_datetime64_any_dtype(frame["joined"])
    assert frame["member"].dtype == bool
    assert frame["city"].dtype == object
    assert frame["income"].isna().sum() == mixed_table["income"].isna().sum()


def test_parquet_source(tmp_path, mixed_table):
    path = tmp_path / "people.parquet"
    mixed_table.to_parquet(path)
    real = load_real_table(str(path), target="label")
    pd.testing.assert_frame_equal(real.frame, mixed_table)


def test_task_type_detection():
    assert detect_task_type(pd.Series(["a", "b", "a"])) == "binary"
    assert detect_task_type(pd.Series([True, False])) == "binary"
    assert detect_task_type(pd.Series([0, 1, 2, 1])) == "multiclass"
    assert detect_task_type(pd.Series([0.0, 1.0, 2.0])) == "multiclass"
    assert detect_task_type(pd.Series(range(100))) == "regression"
    assert detect_task_type(pd.Series([0.5, 1.25, 3.0])) == "regression"


def test_explicit_task_type_overrides_detection(tmp_path):
    frame = pd.DataFrame({"x": range(60), "y": [i % 5 for i in range(60)]})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert load_real_table(str(path), target="y").task_type == "multiclass"
    assert load_real_table(str(path), target="y", task_type="regression").task_type == "regression"


# ---- bad input: a clear error naming the problem -------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match="not found: .*missing.csv"):
        load_real_table(str(tmp_path / "missing.csv"), target="y")


def test_empty_csv(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputDataError, match="empty"):
        load_real_table(str(path), target="y")


def test_header_only_csv(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("x,y\n")
    with pytest.raises(InputDataError, match="no rows"):
        load_real_table(str(path), target="y")


def test_unreadable_csv(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x82" * 50)
    with pytest.raises(InputDataError, match="cannot read"):
        load_real_table(str(path), target="y")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InputDataError, match="cannot read"):
        load_real_table(str(path), target="y")


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(InputDataError, match="not a regular file"):
        load_real_table(str(tmp_path / "d.csv"), target="y")


def test_target_absent(tmp_path, mixed_table):
    path = tmp_path / "t.csv"
    mixed_table.to_csv(path, index=False)
    with pytest.raises(InputDataError, match="target column 'outcome' not found; columns are"):
        load_real_table(str(path), target="outcome")


def test_target_required_for_files(tmp_path, mixed_table):
    path = tmp_path / "t.csv"
    mixed_table.to_csv(path, index=False)
    with pytest.raises(InputDataError, match="target column must be given"):
        load_real_table(str(path))


def test_single_class_target(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(50), "y": ["a"] * 50}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match="single value"):
        load_real_table(str(path), target="y")


def test_column_entirely_null(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(50), "blank": [None] * 50, "y": [0, 1] * 25}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match=r"entirely null.*\['blank'\]"):
        load_real_table(str(path), target="y")


def test_missing_target_values(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"x": range(4), "y": [0, 1, None, 1]}).to_csv(path, index=False)
    with pytest.raises(InputDataError, match="1 missing values"):
        load_real_table(str(path), target="y")


def test_unknown_source_kind():
    with pytest.raises(InputDataError, match="neither a built-in table"):
        load_real_table("iris_from_the_internet")


def test_bad_task_type():
    with pytest.raises(InputDataError, match="task_type must be one of"):
        load_real_table("breast_cancer", task_type="ranking")


def test_binary_task_type_with_three_classes():
    with pytest.raises(InputDataError, match="needs 2 classes; 'target' has 3"):
        load_real_table("wine", task_type="binary")


def test_path_outside_allowed_directory(tmp_path, mixed_table):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    outside = tmp_path / "outside.csv"
    mixed_table.to_csv(outside, index=False)
    with pytest.raises(InputDataError, match="outside the allowed data directory"):
        load_real_table(str(outside), target="label", allowed_dir=str(allowed))
    # a symlink inside the allowed directory pointing outside is refused as well
    (allowed / "link.csv").symlink_to(outside)
    with pytest.raises(InputDataError, match="outside the allowed data directory"):
        load_real_table(str(allowed / "link.csv"), target="label", allowed_dir=str(allowed))
    inside = allowed / "ok.csv"
    mixed_table.to_csv(inside, index=False)
    assert len(load_real_table(str(inside), target="label", allowed_dir=str(allowed)).frame) == 240
