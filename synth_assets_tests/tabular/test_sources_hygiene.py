"""Input hygiene for user tables: duplicate headers, encodings, separators, plain values in errors."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synth_assets.errors import InputDataError
from synth_assets.tabular.sources import (
    RealTable,
    _first_undecodable_byte,
    load_real_table,
    plain,
    read_table_file,
)
from synth_assets.tabular.split import split_table


def _rows(n: int = 40) -> list[str]:
    return [f"{i},{i * 2},{i % 3},{i % 2}" for i in range(n)]


# ---- duplicate column names are refused before pandas renames them -------------------------


def test_duplicate_csv_header(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("\n".join(["a,b,a,label", *_rows()]) + "\n")
    with pytest.raises(InputDataError, match=r"duplicate column names \['a'\] in the header; rename"):
        load_real_table(str(path), target="label")


def test_duplicate_csv_header_with_other_separator(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("\n".join(["a;b;b;label", *(r.replace(",", ";") for r in _rows())]) + "\n")
    with pytest.raises(InputDataError, match=r"dupes.csv: duplicate column names \['b'\]"):
        read_table_file(path, sep=";")


def test_duplicate_parquet_columns(tmp_path):
    path = tmp_path / "dupes.parquet"
    table = pa.table(
        [pa.array(range(40)), pa.array(range(40)), pa.array([0, 1] * 20)], names=["a", "a", "label"]
    )
    pq.write_table(table, path)
    with pytest.raises(InputDataError, match=r"dupes.parquet: duplicate column names \['a'\]"):
        load_real_table(str(path), target="label")


def test_unique_header_still_loads(tmp_path):
    # a byte order mark and blank header cells are not duplicates
    path = tmp_path / "ok.csv"
    path.write_bytes(("\ufeffa,,,label\n" + "\n".join(_rows()) + "\n").encode("utf-8"))
    frame = read_table_file(path)
    assert list(frame.columns) == ["a", "Unnamed: 1", "Unnamed: 2", "label"]


# ---- encoding and separator ------------------------------------------------------------------


def test_latin1_csv(tmp_path):
    path = tmp_path / "cities.csv"
    lines = ["x,city,label", *(f"{i},{'Orléans' if i % 2 else 'Lyon'},{i % 2}" for i in range(40))]
    data = ("\n".join(lines) + "\n").encode("latin-1")
    path.write_bytes(data)
    position = data.index(b"\xe9")
    with pytest.raises(
        InputDataError, match=rf"cities.csv: not valid utf-8 \(byte 0xe9 at position {position}\)"
    ) as err:
        load_real_table(str(path), target="label")
    assert "encoding: latin-1" in str(err.value)
    real = load_real_table(str(path), target="label", encoding="latin-1")
    assert real.frame["city"].iloc[1] == "Orléans"
    assert len(real.frame) == 40


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 1 << 20])
def test_undecodable_byte_offset_is_in_the_file(tmp_path, chunk_size):
    # multi-byte characters may straddle read chunks; the offset is still counted from the file start
    path = tmp_path / "t.csv"
    data = "a,b\nçé,€\n".encode() + b"x,\xe9\n"
    path.write_bytes(data)
    assert _first_undecodable_byte(path, "utf-8", chunk_size) == (b"\xe9", data.index(b"\xe9"))
    path.write_bytes(data[:-3] + "€".encode()[:2])  # truncated at the end of the file
    assert _first_undecodable_byte(path, "utf-8", chunk_size) == (b"\xe2", len(data) - 3)


def test_unknown_encoding(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("\n".join(["a,b,c,label", *_rows()]) + "\n")
    with pytest.raises(InputDataError, match="unknown encoding 'utf-9'"):
        load_real_table(str(path), target="label", encoding="utf-9")


def test_semicolon_separated_csv(tmp_path):
    path = tmp_path / "t.csv"
    lines = ["x;when;label", *(f"{i};2024-01-{i % 28 + 1:02d};{i % 2}" for i in range(40))]
    path.write_text("\n".join(lines) + "\n")
    real = load_real_table(str(path), target="label", sep=";")
    assert list(real.frame.columns) == ["x", "when", "label"]
    assert real.task_type == "binary"
    assert pd.api.types.is_datetime64_any_dtype(real.frame["when"])  # ISO dates still parsed


@pytest.mark.parametrize("sep", ["", ";;", "\\s+", "\n"])
def test_bad_separator(tmp_path, sep):
    path = tmp_path / "t.csv"
    path.write_text("\n".join(["a,b,c,label", *_rows()]) + "\n")
    with pytest.raises(InputDataError, match="sep must be a single character"):
        load_real_table(str(path), target="label", sep=sep)


# ---- error messages show plain values, not numpy reprs ---------------------------------------


def test_plain():
    assert plain(np.True_) is True
    assert plain(np.int64(1)) == 1 and type(plain(np.int64(1))) is int
    assert plain([np.int64(1), "a"]) == [1, "a"]
    assert plain("a") == "a"


def test_single_class_boolean_target_message(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"x": range(50), "y": [True] * 50}).to_parquet(path)
    with pytest.raises(InputDataError, match="single value") as err:
        load_real_table(str(path), target="y")
    assert "(True)" in str(err.value) and "np.True_" not in str(err.value)


def test_rare_class_split_message():
    frame = pd.DataFrame({"x": range(60), "y": pd.array([0] * 59 + [1], dtype="Int64")})
    with pytest.raises(InputDataError, match="single row") as err:
        split_table(RealTable(frame, "y", "binary", "t"))
    assert "class(es) [1]" in str(err.value) and "np.int64" not in str(err.value)
