"""The human-written text corpus for instruction back-translation (Li et al. 2023).

Each chunk becomes the *response* of a training pair; a small LLM later writes the instruction it
answers. So a chunk is a self-contained paragraph (or a few short adjacent ones) of prose, with
code, tables and markup left out, between ``min_chars`` and ``max_chars`` characters long.

Sources (``CorpusSpec.kind``):

* ``python_docs`` (default, offline everywhere): docstrings of a fixed list of import-safe
  standard-library modules (``STDLIB_MODULES``) and of their public classes, functions and methods.
* ``folder``: every ``.md`` / ``.txt`` file under ``path`` (recursive, sorted by path).
* ``jsonl``: the string ``field`` of each JSON object, one object a line.
* ``parquet``: the string column ``field``, read a row-group batch at a time.

Files are streamed (a line, a record or a batch at a time), so memory does not grow with the
file size; the pool itself holds at most ``max_chunks`` chunks.

Rules (bump ``CORPUS_VERSION`` when they change):

1. Text is split into paragraphs at blank lines. Fenced code blocks are skipped; markdown and
   reST headings are section boundaries and are not kept (a title alone answers nothing).
2. A paragraph is dropped if it is code or doctest (``>>>``, ``...``, mostly lines indented by
   4+ spaces), a definition or field list (``:param x:``, ``x -- meaning``), a table, a reST
   directive or HTML, or if it is not prose: under 70% letters among its non-space characters,
   fewer than 4 words, or no final ``.!?:``. A leading call signature line is removed. Wrapped
   lines are joined; list items keep their own line.
3. Adjacent paragraphs of the same section (docstring, markdown section, record) are merged while
   the chunk is shorter than ``min_chars`` and stays within ``max_chars``; a paragraph ending with
   ``:`` takes the next one too (its list), and if that was dropped, the sentence with the ``:``
   goes. A list without its introduction is dropped. A paragraph longer than ``max_chars`` is
   split into near-equal pieces at sentence boundaries (then at whitespace). Chunks shorter than
   ``min_chars`` are dropped.
4. ``chunk_id`` is the first 16 hex digits of the sha256 of the normalised text (whitespace
   collapsed, casefolded); duplicates keep their first occurrence. Beyond ``max_chunks`` the pool
   keeps the chunks with the smallest ids (a bottom-k sample: a reservoir seeded by the hash, so
   it does not depend on the reading order, and duplicates cannot take two places).
"""

from __future__ import annotations

import codecs
import hashlib
import heapq
import importlib
import inspect
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synth_assets.errors import InputDataError

CORPUS_VERSION = "corpus-v1"
KINDS = ("python_docs", "folder", "jsonl", "parquet")
COLUMNS = ["chunk_id", "doc", "text", "n_chars"]
PYTHON_DOCS_LICENSE = (
    "Python Software Foundation License (PSF-2.0): docstrings of the Python standard library"
)
FOLDER_SUFFIXES = (".md", ".txt")

# Pure-Python or plain C modules whose import has no side effect beyond defining names.
STDLIB_MODULES = (
    "abc", "argparse", "base64", "binascii", "bisect", "calendar", "cmd", "codecs", "collections",
    "colorsys", "concurrent.futures", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "doctest", "email.message", "email.utils", "enum", "filecmp",
    "fileinput", "fnmatch", "fractions", "functools", "getopt", "gettext", "glob", "graphlib", "gzip",
    "hashlib", "heapq", "hmac", "html", "html.parser", "http.cookies", "io", "ipaddress", "itertools",
    "json", "locale", "logging", "math", "mimetypes", "numbers", "operator", "optparse", "pathlib",
    "pickle", "pprint", "queue", "random", "re", "reprlib", "sched", "secrets", "shlex", "shutil",
    "sqlite3", "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap",
    "threading", "timeit", "traceback", "typing", "unicodedata", "unittest", "urllib.parse", "uuid",
    "warnings", "weakref", "zipfile", "zoneinfo",
)  # fmt: skip

_MAX_LINE_BYTES = 1 << 20  # longer lines are read in pieces (each piece counts as a line)
_MAX_PARAGRAPH_CHARS = 1 << 16  # a paragraph without blank lines is cut here (bounded memory)
_BINARY_PROBE_BYTES = 8192

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_UNDERLINE = re.compile(r"^\s*([=\-~^*#+\"'`])\1{2,}\s*$")  # setext / reST heading rule
_CODE_LINE = re.compile(r"^(\s*(>>>|\.\.\.(\s|$)|\$ )|( {4,}|\t))")
_MARKUP_LINE = re.compile(
    r"^\s*(:[\w ]+:|@\w+|[\w*.,\[\]]+(\(.*\))?\s+--\s|\||\+[-=+]|\.\.\s+[\w:-]+::|<[a-zA-Z!/])"
)  # field list, epydoc, "arg -- meaning", table, reST directive, HTML
_SIGNATURE = re.compile(r"^([\w.]*[(\[].*[)\]]\s*->|[\w.]+\(.*\)\s*$|[\w, ]+=\s*[\w.]+\(.*\)\s*$)")
_BULLET = re.compile(r"^\s*([-*+\u2022]|\d{1,2}[.)])\s+")
_ROLE = re.compile(r":[\w:-]+:`~?([^`<]*?)(\s*<[^>]*>)?`")  # :func:`~json.dumps` -> json.dumps
_SENTENCE_END = re.compile(r"[.!?:][\"')\]]*$")
_SPACE = re.compile(r"\s+")
_UNEVEN_SPACE = re.compile(r"^\s|\s$|\s\s|[^\S ]")  # anything but single spaces between words
_NOT_LETTER = re.compile(r"[^\w\s]|[\d_]")
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class CorpusSpec:
    kind: str = "python_docs"
    path: str | None = None
    field: str = "text"
    min_chars: int = 200
    max_chars: int = 1200
    max_chunks: int = 20000
    license: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputDataError(f"unknown corpus kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "python_docs" and self.path is not None:
            raise InputDataError("corpus kind 'python_docs' takes no path")
        if self.kind != "python_docs" and not self.path:
            raise InputDataError(f"corpus kind {self.kind!r} needs a path")
        if not 0 < self.min_chars < self.max_chars:
            raise InputDataError(
                f"corpus min_chars ({self.min_chars}) must be positive and below max_chars ({self.max_chars})"
            )
        if self.max_chunks < 1:
            raise InputDataError(f"corpus max_chunks must be at least 1, got {self.max_chunks}")
        if self.license is None and self.kind == "python_docs":
            object.__setattr__(self, "license", PYTHON_DOCS_LICENSE)


def load_corpus(spec: CorpusSpec, log: Callable[[str], None] = lambda message: None) -> pd.DataFrame:
    """The deduplicated chunk pool of ``spec``: columns chunk_id, doc, text, n_chars, by chunk_id."""
    if spec.kind == "python_docs":
        paragraphs = _python_docs(log)
        where = "the python_docs corpus"
    else:
        path = Path(spec.path)
        if not path.exists():
            raise InputDataError(f"corpus path {path} does not exist")
        source = {"folder": _folder, "jsonl": _jsonl, "parquet": _parquet}[spec.kind]
        paragraphs = source(path, spec.field, log)
        where = f"corpus {path}"
    pool = _Pool(spec.max_chunks)
    for doc, text in _pack(paragraphs, spec.min_chars, spec.max_chars):
        pool.add(doc, text)
    if not pool.rows:
        raise InputDataError(
            f"{where} yields no chunk of prose of at least {spec.min_chars} characters "
            "(code, tables, markup and short paragraphs are dropped)"
        )
    log(f"{where}: kept {len(pool.rows)} distinct chunks of {pool.seen} (max_chunks={spec.max_chunks})")
    frame = pd.DataFrame(
        [(chunk_id, doc, text, len(text)) for chunk_id, (doc, text) in sorted(pool.rows.items())],
        columns=COLUMNS,
    )
    return frame.astype({"n_chars": "int64"})


def sample_chunks(chunks: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``min(n, len(chunks))`` rows drawn without replacement, the same rows for the same seed."""
    if chunks.empty:
        raise ValueError("the corpus chunk pool is empty: nothing to sample")
    if n < 1:
        raise ValueError(f"the number of chunks to sample must be at least 1, got {n}")
    pool = chunks.sort_values("chunk_id", kind="stable")
    return pool.sample(n=min(n, len(pool)), random_state=seed).reset_index(drop=True)


# --- sources: each yields (section, doc, paragraph) with cleaned prose paragraphs -------------------


def _python_docs(log) -> Iterator[tuple[object, str, str]]:
    for i, module_name in enumerate(STDLIB_MODULES, 1):
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:  # a Python built without e.g. _sqlite3
            log(f"python_docs: skipping {module_name} ({error})")
            continue
        for qualname, docstring in _docstrings(module):
            if not isinstance(docstring, str):
                continue
            lines = enumerate(inspect.cleandoc(docstring).splitlines(), 1)
            for section, _, para in _paragraphs(lines):
                yield (qualname, section), qualname, para
        if i % 10 == 0 or i == len(STDLIB_MODULES):
            log(f"python_docs: {i} of {len(STDLIB_MODULES)} modules read")


def _docstrings(module) -> Iterator[tuple[str, str]]:
    """(qualified name, own docstring) of the module and of its public classes, functions, methods."""
    name = module.__name__
    yield name, module.__doc__
    public = getattr(module, "__all__", None)
    homes = {name, "_" + name.rsplit(".", 1)[-1]}  # e.g. heapq's functions live in _heapq
    for attr in sorted(public if public is not None else dir(module)):
        obj = getattr(module, attr, None)
        if attr.startswith("_") or not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if public is None and getattr(obj, "__module__", None) not in homes:
            continue  # imported from elsewhere
        yield f"{name}.{attr}", obj.__doc__
        if inspect.isclass(obj):
            for member_name, member in sorted(vars(obj).items()):
                if member_name.startswith("_"):
                    continue
                member = getattr(member, "__func__", member)  # classmethod / staticmethod
                if inspect.isroutine(member) or isinstance(member, property):
                    yield f"{name}.{attr}.{member_name}", member.__doc__


def _folder(root: Path, field: str, log) -> Iterator[tuple[object, str, str]]:
    if root.is_file():
        files, base = [root], root.parent
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES)
        base = root
    if not files:
        raise InputDataError(f"corpus folder {root} holds no {' or '.join(FOLDER_SUFFIXES)} file")
    every = max(1, len(files) // 20)
    for i, path in enumerate(files, 1):
        name = path.relative_to(base).as_posix()
        for section, lineno, para in _paragraphs(_read_lines(path)):
            yield (name, section), f"{name}:{lineno}", para
        if i % every == 0 or i == len(files):
            log(f"corpus folder {root}: {i} of {len(files)} files read")


def _jsonl(path: Path, field: str, log) -> Iterator[tuple[object, str, str]]:
    records = 0
    for lineno, line in _read_lines(path, max_line_bytes=None):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputDataError(f"{path}:{lineno}: not a JSON object ({error.msg})") from None
        if not isinstance(record, dict) or field not in record:
            raise InputDataError(f"{path}:{lineno}: the JSON object has no field {field!r}")
        if not isinstance(record[field], str):
            raise InputDataError(
                f"{path}:{lineno}: field {field!r} is {type(record[field]).__name__}, not a string"
            )
        records += 1
        yield from _record(record[field], lineno, f"{path}:{lineno}")
    log(f"corpus {path}: {records} JSONL records read")


def _parquet(path: Path, field: str, log) -> Iterator[tuple[object, str, str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InputDataError(f"{path} is not a readable Parquet file ({error})") from None
    names = parquet.schema_arrow.names
    if field not in names:
        raise InputDataError(f"{path} has no column {field!r}; its columns are: {', '.join(names)}")
    column_type = parquet.schema_arrow.field(field).type
    if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
        raise InputDataError(f"{path}: column {field!r} holds {column_type}, not strings")
    row = 0
    for batch_no, batch in enumerate(parquet.iter_batches(columns=[field], batch_size=1024), 1):
        for text in batch.column(0).to_pylist():
            if text is not None:
                yield from _record(text, row, f"{path}:{row}")
            row += 1
        if batch_no % 50 == 0:
            log(f"corpus {path}: {row} of {parquet.metadata.num_rows} rows read")
    log(f"corpus {path}: {row} rows read")


def _record(text: str, key: object, doc: str) -> Iterator[tuple[object, str, str]]:
    for section, _, para in _paragraphs(enumerate(text.splitlines(), 1)):
        yield (key, section), doc, para


def _read_lines(path: Path, max_line_bytes: int | None = _MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file, read a line at a time; binary or bad bytes raise."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    offset, lineno = 0, 1
    with open(path, "rb") as file:
        if b"\0" in file.read(_BINARY_PROBE_BYTES):
            raise InputDataError(f"{path} looks like a binary file (NUL bytes in its first 8 KiB), not text")
        file.seek(0)
        while raw := file.readline(max_line_bytes or -1):
            if b"\0" in raw:
                raise InputDataError(f"{path}:{lineno}: NUL byte at byte offset {offset + raw.index(0)}")
            try:
                line = decoder.decode(raw)
            except UnicodeDecodeError as error:  # error.object: bytes held back from the last line + raw
                position = offset - (len(error.object) - len(raw)) + error.start
                raise InputDataError(
                    f"{path}:{lineno}: not UTF-8 text (byte {error.object[error.start]:#04x} "
                    f"at byte offset {position}): {error.reason}"
                ) from None
            yield lineno, line
            offset += len(raw)
            lineno += raw.endswith(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise InputDataError(
                f"{path}:{lineno}: not UTF-8 text (cut inside a character at the end)"
            ) from None


# --- paragraphs, cleaning, packing -----------------------------------------------------------------


def _paragraphs(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, int, str | None]]:
    """(section number, first line number, cleaned prose or None if dropped) of each paragraph."""
    section, block, start, size, fence = 0, [], 0, 0, None
    for lineno, line in lines:
        line = line.rstrip("\r\n")
        if fence is not None:  # inside a fenced code block
            if line.lstrip().startswith(fence):
                fence = None
            continue
        boundary = not line or line.isspace()
        if not boundary and (match := _FENCE.match(line)):
            boundary, fence = True, match.group(1)
        elif not boundary and (_ATX_HEADING.match(line) or _UNDERLINE.match(line)):
            block = []  # a setext/reST heading: the block above the rule is its title
            boundary, section = True, section + 1
        if (boundary or size > _MAX_PARAGRAPH_CHARS) and block:
            yield section, start, _clean(block)
            block, size = [], 0
        if not boundary:
            if not block:
                start = lineno
            block.append(line)
            size += len(line)
    if block:
        yield section, start, _clean(block)


def _normalise_space(text: str) -> str:
    """Whitespace runs as one space, none at the ends (fast when there is nothing to do)."""
    return _SPACE.sub(" ", text).strip() if _UNEVEN_SPACE.search(text) else text


def _clean(lines: list[str]) -> str | None:
    """The paragraph as one prose string (list items on their own lines), or None if it is not prose."""
    if _SIGNATURE.match(lines[0]):  # e.g. "heappush(heap, item) -> None"
        lines = lines[1:]
    if not lines:
        return None
    if any(_CODE_LINE.match(line) for line in lines[:1]) or sum(
        bool(_CODE_LINE.match(line)) for line in lines
    ) * 3 > len(lines):
        return None
    indent = [len(line) - len(line.lstrip()) for line in lines]
    if not _BULLET.match(lines[0]) and any(
        depth > indent[0] and not _BULLET.match(line)
        for depth, line in zip(indent[1:], lines[1:], strict=True)
    ):
        return None  # a definition list: a term, then its indented description
    if any(_MARKUP_LINE.match(line) or line.strip().startswith((">>>", "...")) for line in lines):
        return None
    parts: list[str] = []
    for line in lines:
        line = _normalise_space(line)
        if parts and not _BULLET.match(line):
            parts[-1] += " " + line
        else:
            parts.append(line)
    text = _ROLE.sub(r"\1", "\n".join(parts)).replace("``", "`")
    text = text[:-1] if text.endswith("::") else text  # reST: "Example::" introduces a literal block
    if not _SENTENCE_END.search(text) or text.count(" ") < 3:
        return None
    non_space = len(text) - text.count(" ") - text.count("\n")
    if _NOT_LETTER.subn("", text)[1] > 0.3 * non_space:  # fewer than 70% letters
        return None
    return text


def _pack(paragraphs, min_chars: int, max_chars: int) -> Iterator[tuple[str, str]]:
    """(doc, chunk) from paragraphs: short neighbours of a section merged, long ones split."""
    section, doc, group, size = None, "", [], 0
    for para_section, para_doc, text in paragraphs:
        if text is None:  # a dropped paragraph: what a trailing ':' introduced is gone
            if group and group[-1].endswith(":"):
                yield from _finish(group, doc, min_chars)
                group, size = [], 0
            continue
        if (
            group
            and para_section == section
            and (size < min_chars or group[-1].endswith(":"))
            and size + 2 + len(text) <= max_chars
        ):
            group.append(text)
            size += 2 + len(text)
            continue
        yield from _finish(group, doc, min_chars)
        section, doc, group, size = para_section, para_doc, [text], len(text)
        if _BULLET.match(text):  # a list whose introduction is not in this chunk
            group, size = [], 0
        elif size > max_chars:
            for piece in _split(text, max_chars):
                if len(piece) >= min_chars:
                    yield doc, piece
            group, size = [], 0
    yield from _finish(group, doc, min_chars)


def _finish(group: list[str], doc: str, min_chars: int) -> Iterator[tuple[str, str]]:
    """The merged chunk, without a last sentence ending with ':' (what it introduces is not here)."""
    if group and group[-1].endswith(":"):
        breaks = list(_SENTENCE_BREAK.finditer(group[-1]))
        group = group[:-1] + [group[-1][: breaks[-1].start()]] if breaks else group[:-1]
    chunk = "\n\n".join(group)
    if len(chunk) >= min_chars:
        yield doc, chunk


def _split(text: str, max_chars: int) -> list[str]:
    """``text`` in near-equal pieces of at most ``max_chars``, cut at sentences, then whitespace."""
    units = []
    for sentence in _SENTENCE_BREAK.split(text):
        if len(sentence) <= max_chars:
            units.append(sentence)
            continue
        for word in sentence.split():  # an over-long sentence: its words, over-long ones cut
            units.extend(word[i : i + max_chars] for i in range(0, len(word), max_chars))
    pieces, current, remaining = [], "", len(text)
    target = remaining / math.ceil(remaining / max_chars)
    for unit in units:
        grown = len(current) + 1 + len(unit)
        if current and (grown > max_chars or grown - len(unit) / 2 > target):  # nearer the target
            pieces.append(current)
            remaining -= len(current) + 1
            target = remaining / math.ceil(remaining / max_chars)
            current = unit
        else:
            current = f"{current} {unit}" if current else unit
    return pieces + [current] if current else pieces


class _Pool:
    """Distinct chunks by chunk_id; beyond ``cap`` only the ``cap`` smallest ids are kept."""

    def __init__(self, cap: int):
        self.cap, self.rows, self.seen = cap, {}, 0
        self._heap: list[int] = []  # negated ids of the kept chunks: -heap[0] is the largest

    def add(self, doc: str, text: str) -> None:
        self.seen += 1
        chunk_id = hashlib.sha256(_normalise_space(text).casefold().encode()).hexdigest()[:16]
        key = int(chunk_id, 16)
        if chunk_id in self.rows or (len(self._heap) >= self.cap and key > -self._heap[0]):
            return  # a duplicate, or outside the sample (an evicted chunk stays outside it)
        if len(self._heap) >= self.cap:
            evicted = -heapq.heappushpop(self._heap, -key)
            del self.rows[f"{evicted:016x}"]
        else:
            heapq.heappush(self._heap, -key)
        self.rows[chunk_id] = (doc, text)
