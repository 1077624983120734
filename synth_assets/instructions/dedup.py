"""Near-duplicate detection by ROUGE-L, exact for small pools and MinHash LSH above a size.

The definition (Self-Instruct): an instruction is a near-duplicate when its ROUGE-L F against
any seed or already kept instruction exceeds 0.7. Comparing each new instruction with the
whole pool costs O(n²) LCS computations, fine for a day's few hundred and hopeless for 50,000.
So the index is exact while the pool is smaller than ``exact_below``; from then on a MinHash LSH
index (datasketch) proposes candidates, which are verified by the same exact ROUGE-L, so every
rejection is a true one and only recall can suffer (``bench/dedup.py`` measures it).

A cheap bound skips most LCS computations: the LCS of two token lists is at most the size of
their multiset intersection, so ROUGE-L F <= 2 |a ∩ b| / (|a| + |b|). Each text keeps its tokens
numbered by occurrence ("the#0", "the#1", ...), so that bound is one set intersection in C.
"""

from __future__ import annotations

from collections.abc import Iterable

from synth_assets.instructions.text import rouge_l_of_tokens, rouge_tokens

ROUGE_L_MAX = 0.7
EXACT_BELOW = 1000  # pools smaller than this are compared exhaustively
NUM_PERM = 256  # more permutations: a sharper band curve, fewer false candidates
# Jaccard threshold of the LSH bands: low, because ROUGE-L above 0.7 can go with a shingle-set
# Jaccard near 0.5, and the candidates are verified exactly anyway (bench/dedup.py: recall 0.99
# against exhaustive ROUGE-L)
LSH_THRESHOLD = 0.35


def occurrences(tokens: list[str]) -> frozenset[tuple[str, int]]:
    """Each token with its occurrence number: the intersection of two of these has the size of
    the multiset intersection of the token lists."""
    seen: dict[str, int] = {}
    out = []
    for token in tokens:
        k = seen.get(token, 0)
        seen[token] = k + 1
        out.append((token, k))
    return frozenset(out)


def shingles(tokens: list[str]) -> set[bytes]:
    """What MinHash sees: the token set and its bigrams (order matters to ROUGE-L)."""
    grams = set(tokens) | {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}
    return {g.encode("utf-8") for g in grams}


class NearDuplicateIndex:
    """Rejects instructions whose ROUGE-L F against any seed or kept instruction exceeds
    ``threshold``; keeps the others."""

    def __init__(
        self,
        seeds: Iterable[str] = (),
        threshold: float = ROUGE_L_MAX,
        exact_below: int = EXACT_BELOW,
        num_perm: int = NUM_PERM,
        seed: int = 1,
    ):
        self.threshold = threshold
        self.exact_below = exact_below
        self.num_perm = num_perm
        self.seed = seed
        self.texts: list[str] = []
        self._tokens: list[list[str]] = []
        self._bags: list[frozenset] = []
        self._lsh = None
        self._permutations = None  # MinHash permutations, drawn once and shared by every sketch
        for text in seeds:
            self.add(text)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def uses_lsh(self) -> bool:
        return self._lsh is not None

    def _minhash(self, tokens: list[str]):
        from datasketch import MinHash

        if self._permutations is None:
            first = MinHash(num_perm=self.num_perm, seed=self.seed)
            self._permutations = (first.permutations, first.scheme)
        permutations, scheme = self._permutations
        sketch = MinHash(num_perm=self.num_perm, seed=self.seed, permutations=permutations, scheme=scheme)
        sketch.update_batch(list(shingles(tokens)) or [b""])
        return sketch

    def _start_lsh(self) -> None:
        from datasketch import MinHashLSH

        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=self.num_perm)
        with self._lsh.insertion_session() as session:
            for i, tokens in enumerate(self._tokens):
                session.insert(i, self._minhash(tokens))

    def add(self, text: str, tokens: list[str] | None = None) -> None:
        tokens = rouge_tokens(text) if tokens is None else tokens
        self.texts.append(text)
        self._tokens.append(tokens)
        self._bags.append(occurrences(tokens))
        if self._lsh is not None:
            self._lsh.insert(len(self.texts) - 1, self._minhash(tokens))
        elif len(self.texts) >= self.exact_below:
            self._start_lsh()

    def most_similar(
        self, text: str, tokens: list[str] | None = None, above: float = 0.0
    ) -> tuple[float, str | None]:
        """The highest ROUGE-L F of ``text`` against the pool (among the LSH candidates once the
        pool is large) and that text; pairs that cannot score above ``above`` are not scored
        (then (``above``, None) means none did)."""
        tokens = rouge_tokens(text) if tokens is None else tokens
        bag, n = occurrences(tokens), len(tokens)
        candidates = range(len(self.texts)) if self._lsh is None else self._lsh.query(self._minhash(tokens))
        best, match = above, None
        for i in candidates:
            other = self._tokens[i]
            total = n + len(other)
            if total == 0 or 2 * len(bag & self._bags[i]) <= best * total:
                continue  # even a perfect LCS could not beat the best so far
            score = rouge_l_of_tokens(other, tokens)
            if score > best:
                best, match = score, self.texts[i]
        return best, match

    def check_and_add(self, text: str) -> str | None:
        """Reason if ``text`` is a near-duplicate; otherwise keep it and return None."""
        tokens = rouge_tokens(text)
        score, match = self.most_similar(text, tokens, above=self.threshold)
        if match is not None:
            return f"near_duplicate (rouge_l {score:.2f} vs {match[:60]!r})"
        self.add(text, tokens)
        return None


def near_duplicates(texts: Iterable[str], **kwargs) -> list[str | None]:
    """Each text's near-duplicate reason against the texts kept before it (None: kept)."""
    index = NearDuplicateIndex(**kwargs)
    return [index.check_and_add(text) for text in texts]
