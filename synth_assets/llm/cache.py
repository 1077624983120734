"""Persistent response cache (SQLite): a per-call response is committed the moment it arrives
(:meth:`ResponseCache.put`), so a run killed midway keeps every completed response and a re-run
pays for none of them twice. Message Batch results are stored in groups (:meth:`put_many`, one
transaction each): the API keeps a batch's results for 29 days and the batch stays open in this
cache until every result is stored, so a group lost to a crash is read again, not paid again.

Stores prompts and responses only; never credentials. Also records Message Batches that were
submitted (batch id before polling), so a restarted stage resumes its batch.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from synth_assets.llm.types import LLMResponse

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    stage_key TEXT NOT NULL,
    custom_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_stage ON batches(stage_key, status);
"""


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._db.commit()

    def get(self, key: str) -> LLMResponse | None:
        with self._lock:
            row = self._db.execute(
                "SELECT response, created_at FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return LLMResponse.from_json(row[0], row[1]) if row else None

    def get_many(self, keys: list[str]) -> dict[str, LLMResponse]:
        found = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob, created_at in self._db.execute(
                    f"SELECT key, response, created_at FROM responses WHERE key IN ({marks})", chunk
                ):
                    found[key] = LLMResponse.from_json(blob, created_at)
        return found

    def put(self, key: str, backend: str, model: str, response: LLMResponse) -> None:
        if response.received_at is None:
            response.received_at = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, backend, model, response.to_json(), response.received_at),
            )
            self._db.commit()

    def put_many(self, items: Iterable[tuple[str, str, str, LLMResponse]]) -> None:
        """Store ``(key, backend, model, response)`` items in one transaction: one commit (one
        fsync) per group instead of one per response, which is what 100,000 batch results need."""
        rows = []
        for key, backend, model, response in items:
            if response.received_at is None:
                response.received_at = time.time()
            rows.append((key, backend, model, response.to_json(), response.received_at))
        if not rows:
            return
        with self._lock:
            with self._db:  # commits on success, rolls the whole group back on an error
                self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    # -- Message Batches ------------------------------------------------------------------
    def record_batch(self, batch_id: str, stage_key: str, custom_ids: list[str]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, 'submitted', ?)",
                (batch_id, stage_key, json.dumps(custom_ids), time.time()),
            )
            self._db.commit()

    def open_batches(self, stage_key: str) -> list[tuple[str, list[str]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id, custom_ids FROM batches WHERE stage_key = ? AND status = 'submitted' "
                "ORDER BY created_at",
                (stage_key,),
            ).fetchall()
        return [(batch_id, json.loads(ids)) for batch_id, ids in rows]

    def close_batch(self, batch_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET status = 'collected' WHERE batch_id = ?", (batch_id,))
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
