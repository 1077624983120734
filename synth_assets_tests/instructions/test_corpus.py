import hashlib
import json
import random
import re
import tracemalloc

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synth_assets.errors import InputDataError
from synth_assets.instructions.corpus import (
    COLUMNS,
    PYTHON_DOCS_LICENSE,
    STDLIB_MODULES,
    CorpusSpec,
    load_corpus,
    sample_chunks,
)

# Two short paragraphs (< 200 characters each) and prose paragraphs of 200-400 characters.
SHORT_1 = (
    "Bread dough rises because the yeast eats sugar in the flour and releases gas. Gluten traps the gas."
)
SHORT_2 = (
    "A warm kitchen speeds the rise up, while a cold one slows it down. Both give good bread in the end."
)
PROSE_1 = (
    "A compost heap turns kitchen scraps and garden waste into dark, crumbly soil. Microbes break "
    "the material down, and they work fastest when the heap is moist, airy and holds a mix of green "
    "and brown matter. Turning the heap every week or two keeps it from smelling."
)
PROSE_2 = (
    "Tides are caused mainly by the pull of the Moon on the oceans. Because the Earth turns under "
    "this bulge of water, most coasts see two high tides and two low tides each day. The Sun adds "
    "a smaller pull, which makes spring tides stronger and neap tides weaker."
)
PROSE_3 = (
    "Bees communicate the location of flowers through a waggle dance on the comb. The angle of "
    "the dance relative to vertical shows the direction of the food compared with the sun, and the "
    "length of the waggle run tells the other bees roughly how far away it is."
)


def wrap(text: str, width: int = 70) -> str:
    """Hard-wrap ``text`` like a hand-written file."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def line_of(path, text: str) -> int:
    """The line of ``path`` on which ``text`` (as written by ``wrap``) starts."""
    return path.read_text(encoding="utf-8").splitlines().index(wrap(text).splitlines()[0]) + 1


def normalised_id(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def python_docs():
    return load_corpus(CorpusSpec())


def test_python_docs_pool(python_docs):
    chunks = python_docs
    assert list(chunks.columns) == COLUMNS
    assert len(chunks) >= 300
    assert chunks["n_chars"].between(200, 1200).all()
    assert (chunks["n_chars"] == chunks["text"].str.len()).all()
    assert chunks["chunk_id"].is_unique and chunks["chunk_id"].is_monotonic_increasing
    assert chunks["chunk_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert (chunks["chunk_id"] == chunks["text"].map(normalised_id)).all()
    assert chunks["text"].map(lambda t: " ".join(t.split()).casefold()).is_unique
    lines = [line.strip() for text in chunks["text"] for line in text.splitlines()]
    assert not [line for line in lines if line.startswith((">>>", "..."))]
    assert not [line for line in lines if re.match(r"^:\w+.*:", line)]  # reST field lists
    modules = {name.split(".")[0] for name in STDLIB_MODULES}
    assert chunks["doc"].map(lambda doc: doc.split(".")[0] in modules).all()
    assert chunks["doc"].nunique() > 200  # from many docstrings, not a few big ones
    assert CorpusSpec().license == PYTHON_DOCS_LICENSE
    assert CorpusSpec(kind="folder", path="docs").license is None


def test_python_docs_is_deterministic(python_docs):
    pd.testing.assert_frame_equal(load_corpus(CorpusSpec()), python_docs)


def test_folder_corpus(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "a.md").write_text(
        f"# Compost\n\n{wrap(PROSE_1)}\n\n```python\nheap = []\nheap.append('peel')\n```\n\n"
        "Short and alone.\n\n## Tides\n\n"
        f"{wrap(PROSE_2)}\n\n    indented = code()\n    more = code()\n",
        encoding="utf-8",
    )
    (tmp_path / "notes" / "b.txt").write_text(f"{wrap(SHORT_1)}\n\n{wrap(SHORT_2)}\n", encoding="utf-8")
    (tmp_path / "c.md").write_text(
        f"| name | value |\n|------|-------|\n| a | 1 |\n\n>>> 1 + 1\n2\n\nBees\n====\n\n{wrap(PROSE_3)}\n",
        encoding="utf-8",
    )
    (tmp_path / "ignored.rst").write_text(PROSE_1.replace("compost", "leaf"), encoding="utf-8")
    logs = []

    chunks = load_corpus(CorpusSpec(kind="folder", path=str(tmp_path)), log=logs.append)

    assert len(SHORT_1) < 200 and len(SHORT_2) < 200 <= len(SHORT_1) + len(SHORT_2) + 2
    expected = {
        PROSE_1: "a.md:3",
        PROSE_2: f"a.md:{line_of(tmp_path / 'a.md', PROSE_2)}",
        f"{SHORT_1}\n\n{SHORT_2}": "notes/b.txt:1",  # short neighbours merged
        PROSE_3: f"c.md:{line_of(tmp_path / 'c.md', PROSE_3)}",
    }
    assert dict(zip(chunks["text"], chunks["doc"], strict=True)) == expected
    assert any("3 of 3 files" in message for message in logs)


def test_folder_keeps_list_items_with_their_introduction(tmp_path):
    intro = "Good bread needs only a few things, and each of them matters for the final loaf:"
    items = ["- strong flour with plenty of gluten,", "- water at about body temperature,", "- time."]
    (tmp_path / "list.md").write_text(intro + "\n\n" + "\n".join(items) + "\n", encoding="utf-8")
    chunks = load_corpus(CorpusSpec(kind="folder", path=str(tmp_path), min_chars=100))
    assert chunks["text"].tolist() == [intro + "\n\n" + "\n".join(items)]


def test_long_paragraph_split_at_sentences(tmp_path):
    rng = random.Random(0)
    words = "river stone cloud field market lamp garden window harbour bridge".split()
    sentences = [
        " ".join(rng.choice(words) for _ in range(rng.randint(8, 16))).capitalize() + "." for _ in range(50)
    ]
    paragraph = " ".join(sentences)
    assert len(paragraph) > 3 * 1000
    (tmp_path / "long.txt").write_text(wrap(paragraph), encoding="utf-8")

    chunks = load_corpus(CorpusSpec(kind="folder", path=str(tmp_path), max_chars=1000))

    assert len(chunks) >= 3
    assert chunks["n_chars"].between(200, 1000).all()
    assert set(chunks["doc"]) == {"long.txt:1"}
    for text in chunks["text"]:  # every piece is whole sentences of the paragraph
        assert text in paragraph and text[0].isupper() and text.endswith(".")
        assert paragraph[paragraph.index(text) + len(text) :][:1] in ("", " ")


def test_sentence_longer_than_max_chars_split_at_whitespace(tmp_path):
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = [f"w{letters[i // 26]}{letters[i % 26]}" for i in range(26 * 26)]  # a run-on sentence
    (tmp_path / "run_on.txt").write_text(" ".join(words) + ".", encoding="utf-8")
    chunks = load_corpus(CorpusSpec(kind="folder", path=str(tmp_path), max_chars=1000))
    assert chunks["n_chars"].max() <= 1000
    assert sorted(w for text in chunks["text"] for w in text.rstrip(".").split()) == sorted(words)


def test_jsonl_and_parquet_corpora(tmp_path):
    jsonl = tmp_path / "docs.jsonl"
    records = [{"body": PROSE_1, "id": 1}, {"body": f"{SHORT_1}\n\n{SHORT_2}"}, {"body": PROSE_1}]
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    chunks = load_corpus(CorpusSpec(kind="jsonl", path=str(jsonl), field="body"))
    assert dict(zip(chunks["text"], chunks["doc"], strict=True)) == {
        PROSE_1: f"{jsonl}:1",  # the duplicate on line 3 is dropped
        f"{SHORT_1}\n\n{SHORT_2}": f"{jsonl}:2",
    }

    parquet = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"body": [PROSE_2, None, PROSE_3], "n": [1, 2, 3]}), parquet, row_group_size=2)
    chunks = load_corpus(CorpusSpec(kind="parquet", path=str(parquet), field="body"))
    assert dict(zip(chunks["text"], chunks["doc"], strict=True)) == {
        PROSE_2: f"{parquet}:0",
        PROSE_3: f"{parquet}:2",
    }


def _write_bad_input(tmp_path, case):
    """(spec, path the error must name, pattern the error must match)."""
    if case == "missing":
        return CorpusSpec(kind="folder", path=str(tmp_path / "nope")), tmp_path / "nope", "does not exist"
    if case == "empty_folder":
        (tmp_path / "code.py").write_text("print('not prose')\n")
        return CorpusSpec(kind="folder", path=str(tmp_path)), tmp_path, r"no \.md or \.txt file"
    if case == "binary":
        (tmp_path / "ok.md").write_text(PROSE_1, encoding="utf-8")
        path = tmp_path / "photo.txt"
        path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
        return CorpusSpec(kind="folder", path=str(tmp_path)), path, "binary"
    if case == "latin1":
        path = tmp_path / "notes.txt"
        path.write_bytes(f"{PROSE_1}\nCaf\u00e9 cr\u00e8me and more.\n".encode("latin-1"))
        offset = len(PROSE_1) + 1 + 3  # the 0xe9 of "Café" on line 2
        return CorpusSpec(kind="folder", path=str(path)), path, rf":2: not UTF-8.*byte offset {offset}"
    if case == "broken_jsonl":
        path = tmp_path / "docs.jsonl"
        path.write_text(json.dumps({"text": PROSE_1}) + "\n\n" + '{"text": "unterminated\n', encoding="utf-8")
        return CorpusSpec(kind="jsonl", path=str(path)), path, ":3: not a JSON object"
    if case == "jsonl_missing_field":
        path = tmp_path / "docs.jsonl"
        path.write_text(json.dumps({"body": PROSE_1}) + "\n", encoding="utf-8")
        return CorpusSpec(kind="jsonl", path=str(path)), path, ":1: .*no field 'text'"
    if case == "jsonl_not_string":
        path = tmp_path / "docs.jsonl"
        path.write_text(json.dumps({"text": ["a", "list"]}) + "\n", encoding="utf-8")
        return CorpusSpec(kind="jsonl", path=str(path)), path, ":1: field 'text' is list, not a string"
    if case == "parquet_no_column":
        path = tmp_path / "docs.parquet"
        pq.write_table(pa.table({"body": [PROSE_1], "id": [1]}), path)
        return CorpusSpec(kind="parquet", path=str(path)), path, "no column 'text'; its columns are: body, id"
    if case == "not_parquet":
        path = tmp_path / "docs.parquet"
        path.write_text(PROSE_1, encoding="utf-8")
        return CorpusSpec(kind="parquet", path=str(path)), path, "not a readable Parquet file"
    if case == "no_prose":
        path = tmp_path / "code.md"
        path.write_text("```\nx = 1\n```\n\nToo short.\n\n| a | b |\n", encoding="utf-8")
        return CorpusSpec(kind="folder", path=str(path)), path, "no chunk of prose of at least 200"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "empty_folder",
        "binary",
        "latin1",
        "broken_jsonl",
        "jsonl_missing_field",
        "jsonl_not_string",
        "parquet_no_column",
        "not_parquet",
        "no_prose",
    ],
)
def test_bad_input_names_the_file(tmp_path, case):
    spec, path, pattern = _write_bad_input(tmp_path, case)
    with pytest.raises(InputDataError, match=pattern) as error:
        load_corpus(spec)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"kind": "pdf"}, "unknown corpus kind 'pdf'; expected one of python_docs, folder, jsonl, parquet"),
        ({"min_chars": 500, "max_chars": 500}, r"min_chars \(500\) must be .* below max_chars \(500\)"),
        ({"kind": "folder"}, "needs a path"),
        ({"path": "docs/"}, "takes no path"),
        ({"max_chunks": 0}, "max_chunks must be at least 1"),
    ],
)
def test_bad_spec(kwargs, pattern):
    with pytest.raises(InputDataError, match=pattern):
        CorpusSpec(**kwargs)


def _paragraphs(seed: int, count: int):
    rng = random.Random(seed)
    words = [
        f"{a}{b}" for a in ("sun", "rain", "leaf", "stone", "wind", "salt") for b in ("ber", "ton", "mar")
    ]
    for i in range(count):
        sentences = [" ".join(rng.choices(words, k=12)).capitalize() + "." for _ in range(7)]
        yield f"Paragraph {i} says that " + " ".join(sentences)


def test_cap_keeps_the_same_sample_whatever_the_order(tmp_path):
    paragraphs = list(_paragraphs(1, 60))
    for name, order in (("forward", paragraphs), ("backward", paragraphs[::-1] + paragraphs[:5])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "text.txt").write_text("\n\n".join(map(wrap, order)), encoding="utf-8")
    forward, backward = (
        load_corpus(CorpusSpec(kind="folder", path=str(tmp_path / name), max_chunks=20))
        for name in ("forward", "backward")
    )
    assert len(forward) == 20
    assert forward["chunk_id"].tolist() == backward["chunk_id"].tolist()
    everything = load_corpus(CorpusSpec(kind="folder", path=str(tmp_path / "forward")))
    assert forward["chunk_id"].tolist() == everything["chunk_id"].head(20).tolist()  # the 20 smallest ids


@pytest.mark.slow
def test_large_file_is_streamed(tmp_path):
    path = tmp_path / "big.txt"
    with open(path, "w", encoding="utf-8") as file:
        for paragraph in _paragraphs(2, 1_000_000):
            file.write(wrap(paragraph, width=400) + "\n\n")
            if file.tell() > 50_000_000:
                break
    size = path.stat().st_size
    logs = []
    tracemalloc.start()
    try:
        chunks = load_corpus(CorpusSpec(kind="folder", path=str(path), max_chunks=2000), log=logs.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 50_000_000
    assert peak < 25_000_000, f"peak {peak / 1e6:.1f} MB while reading a {size / 1e6:.0f} MB file"
    assert len(chunks) == 2000
    kept = re.search(r"kept (\d+) distinct chunks of (\d+)", logs[-1])
    assert kept and int(kept.group(2)) > 40_000


def test_sample_chunks():
    pool = pd.DataFrame(
        {
            "chunk_id": [f"{i:016x}" for i in range(50)],
            "doc": "d",
            "text": [f"text {i}" for i in range(50)],
            "n_chars": 6,
        }
    )
    first = sample_chunks(pool, 10, seed=3)
    assert len(first) == 10 and first["chunk_id"].is_unique and list(first.columns) == list(pool.columns)
    pd.testing.assert_frame_equal(sample_chunks(pool, 10, seed=3), first)
    pd.testing.assert_frame_equal(sample_chunks(pool.iloc[::-1], 10, seed=3), first)  # order-free
    assert set(sample_chunks(pool, 10, seed=4)["chunk_id"]) != set(first["chunk_id"])
    everything = sample_chunks(pool, 500, seed=3)
    assert sorted(everything["chunk_id"]) == sorted(pool["chunk_id"])
    with pytest.raises(ValueError, match="empty"):
        sample_chunks(pool.iloc[:0], 10, seed=3)
