"""Human review that outranks the critic: which pairs people are asked to review, what they
decided, how far the critic agrees with them, and the kept set with their decisions applied.

Pure logic, no server: ``label_studio.py`` moves reviews through Label Studio and
:class:`ReviewInbox` through JSONL files in a folder (for users without Label Studio). Both
speak the same rows: a review request has ``id, partition, instruction, response,
critic_verdict, critic_score, reason, topic``; a finished review adds ``decision`` (keep or
reject), ``reviewer`` and ``note``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synth_assets.errors import InputDataError
from synth_assets.storage import atomic_write_text, json_lines

KEEP, REJECT = "keep", "reject"
DECISIONS = (KEEP, REJECT)
REQUEST_FIELDS = [
    "id",
    "partition",
    "instruction",
    "response",
    "critic_verdict",
    "critic_score",
    "reason",
    "topic",
]
REVIEW_FIELDS = ["id", "partition", "critic_verdict", "decision", "reviewer", "note"]


def _score(row: dict):
    for column in ("critic_score", "judge_score", "ifd"):
        value = row.get(column)
        if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
            return float(value)
    return None


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def review_sample(
    kept: pd.DataFrame, rejects: pd.DataFrame, n: int, partition: str, seed: int
) -> pd.DataFrame:
    """Up to ``n`` pairs for people to review, stratified: half critic-kept and half
    critic-rejected (one side's shortfall goes to the other), and within each side spread over
    topics round-robin, so that every topic and both verdicts are seen. Pairs without a response
    cannot be reviewed and are left out."""
    if n < 0:
        raise InputDataError(f"review sample size must be at least 0, got {n}")
    rng = random.Random(f"{seed}:{partition}")
    sides = {}
    for verdict, frame in ((KEEP, kept), (REJECT, rejects)):
        rows = [
            r
            for r in (frame.to_dict("records") if frame is not None and not frame.empty else [])
            if _text(r.get("instruction")).strip() and _text(r.get("response")).strip() and _text(r.get("id"))
        ]
        by_topic: dict[str, list[dict]] = {}
        for row in rows:
            by_topic.setdefault(_text(row.get("topic")), []).append(row)
        groups = [by_topic[t] for t in sorted(by_topic)]
        for group in groups:
            rng.shuffle(group)
        rng.shuffle(groups)
        order = []  # round-robin over topics
        while any(groups):
            for group in groups:
                if group:
                    order.append(group.pop())
        sides[verdict] = order
    half = n // 2
    quota = {KEEP: min(len(sides[KEEP]), n - half), REJECT: min(len(sides[REJECT]), half)}
    spare = n - sum(quota.values())
    for verdict in (KEEP, REJECT):
        extra = min(spare, len(sides[verdict]) - quota[verdict])
        quota[verdict] += extra
        spare -= extra
    records = [
        {
            "id": _text(row.get("id")),
            "partition": partition,
            "instruction": _text(row.get("instruction")),
            "response": _text(row.get("response")),
            "critic_verdict": verdict,
            "critic_score": _score(row),
            "reason": _text(row.get("reason")),
            "topic": _text(row.get("topic")),
        }
        for verdict in (KEEP, REJECT)
        for row in sides[verdict][: quota[verdict]]
    ]
    return pd.DataFrame(records, columns=REQUEST_FIELDS)


def normalise_decision(value, where: str) -> str:
    """keep / reject from what a reviewer wrote (any case; accept/yes and discard/no too)."""
    text = _text(value).strip().lower()
    aliases = {"keep": KEEP, "accept": KEEP, "yes": KEEP, "reject": REJECT, "discard": REJECT, "no": REJECT}
    if text not in aliases:
        raise InputDataError(f"{where}: decision must be 'keep' or 'reject', got {value!r}")
    return aliases[text]


@dataclass(frozen=True)
class Agreement:
    """How far the critic's verdicts agree with people's on the reviewed pairs: Cohen's kappa
    (chance-corrected; None where it is undefined: fewer than 2 pairs, or only one decision on
    both sides), accuracy (the critic's verdict at its threshold equals the human decision) and
    the confusion counts."""

    n: int
    kappa: float | None
    accuracy: float | None
    critic_keep_human_reject: int
    critic_reject_human_keep: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def agreement(reviews: pd.DataFrame) -> Agreement:
    from sklearn.metrics import cohen_kappa_score

    rows = reviews.dropna(subset=["critic_verdict", "decision"]) if not reviews.empty else reviews
    n = len(rows)
    if n == 0:
        return Agreement(0, None, None, 0, 0)
    critic, human = rows["critic_verdict"].tolist(), rows["decision"].tolist()
    accuracy = sum(a == b for a, b in zip(critic, human, strict=True)) / n
    kappa = None
    if n >= 2 and len(set(critic) | set(human)) > 1:
        value = float(cohen_kappa_score(critic, human, labels=list(DECISIONS)))
        kappa = None if math.isnan(value) else value
    return Agreement(
        n,
        kappa,
        accuracy,
        sum(a == KEEP and b == REJECT for a, b in zip(critic, human, strict=True)),
        sum(a == REJECT and b == KEEP for a, b in zip(critic, human, strict=True)),
    )


def latest_decisions(reviews: pd.DataFrame) -> pd.DataFrame:
    """One decision per pair id: the last one given (rows are in the order they were made)."""
    if reviews.empty:
        return pd.DataFrame(columns=REVIEW_FIELDS)
    return reviews.drop_duplicates("id", keep="last").reset_index(drop=True)


def apply_decisions(
    kept: pd.DataFrame, rejects: pd.DataFrame, reviews: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The critic's kept and rejected pairs with people's decisions applied: a pair a person
    rejected leaves the kept set, a critic-rejected pair a person kept joins it. Returns the new
    kept and rejected sets (both with a ``human_decision`` column, empty where nobody reviewed
    the pair) and the overrides made (id, critic_verdict, decision, reviewer, note)."""
    decisions = latest_decisions(reviews)
    by_id = {r["id"]: r for r in decisions.to_dict("records")}

    def decided(frame: pd.DataFrame) -> pd.Series:
        ids = frame["id"].astype(str) if "id" in frame else pd.Series([""] * len(frame), index=frame.index)
        return ids.map(lambda i: by_id.get(i, {}).get("decision", ""))

    kept = kept.assign(human_decision=decided(kept)) if not kept.empty else kept.assign(human_decision=[])
    rejects = (
        rejects.assign(human_decision=decided(rejects))
        if not rejects.empty
        else rejects.assign(human_decision=[])
    )
    demoted = kept[kept["human_decision"] == REJECT]
    promoted = rejects[
        (rejects["human_decision"] == KEEP) & rejects.get("response", pd.Series(dtype=str)).notna()
    ]
    new_kept = pd.concat([kept[kept["human_decision"] != REJECT], promoted], ignore_index=True)
    demoted = demoted.assign(reason="human review: reject")
    new_rejects = pd.concat([rejects.drop(index=promoted.index), demoted], ignore_index=True)
    overrides = pd.DataFrame(
        [
            {k: by_id[str(i)].get(k, "") for k in ("id", "critic_verdict", "decision", "reviewer", "note")}
            for i in [*demoted.get("id", []), *promoted.get("id", [])]
        ],
        columns=["id", "critic_verdict", "decision", "reviewer", "note"],
    )
    return new_kept, new_rejects, overrides


class ReviewInbox:
    """The round trip without Label Studio: ``<folder>/<partition>.jsonl`` holds one review
    request per line with an empty ``decision``; a reviewer fills in ``decision`` (keep or
    reject) and optionally ``reviewer`` and ``note``, in any editor. Pushing again adds new
    requests and never touches a line already there, decided or not."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, partition: str) -> Path:
        return self.folder / f"{partition}.jsonl"

    def _lines(self, partition: str) -> list[dict]:
        path = self.path(partition)
        if not path.is_file():
            return []
        rows = []
        for number, row in json_lines(path):
            if not _text(row.get("id")):
                raise InputDataError(f"{path}:{number}: a review line needs an 'id'")
            rows.append(row)
        return rows

    def push(self, requests: pd.DataFrame) -> int:
        """Adds the requests not yet in the file (by id); returns how many were added."""
        added = 0
        for partition, group in requests.groupby("partition", sort=True):
            lines = self._lines(partition)
            seen = {_text(r["id"]) for r in lines}
            new = [
                {
                    **{k: (None if pd.isna(v) else v) for k, v in r.items()},
                    "decision": None,
                    "reviewer": "",
                    "note": "",
                }
                for r in group.to_dict("records")
                if r["id"] not in seen
            ]
            if new:
                text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*lines, *new])
                atomic_write_text(self.path(partition), text)
                added += len(new)
        return added

    def finished(self, partition: str) -> pd.DataFrame:
        """The lines with a decision, validated (a bad decision is an error naming its line)."""
        rows = []
        for row in self._lines(partition):
            if row.get("decision") in (None, ""):
                continue
            where = f"{self.path(partition)}: review of {row['id']}"
            rows.append(
                {
                    "id": _text(row["id"]),
                    "partition": partition,
                    "critic_verdict": _text(row.get("critic_verdict")) or None,
                    "decision": normalise_decision(row["decision"], where),
                    "reviewer": _text(row.get("reviewer")),
                    "note": _text(row.get("note")),
                }
            )
        return pd.DataFrame(rows, columns=REVIEW_FIELDS)

    def pending(self, partition: str) -> int:
        return sum(1 for r in self._lines(partition) if r.get("decision") in (None, ""))


@dataclass
class ReviewTable:
    """Stored review rows (requests pushed, or decisions collected) and facts about them."""

    rows: pd.DataFrame
    meta: dict

    def to_bundle(self):
        return {"rows": self.rows}, dict(self.meta)

    @classmethod
    def from_bundle(cls, frames, meta) -> ReviewTable:
        return cls(frames["rows"], meta)
