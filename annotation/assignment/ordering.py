"""The order of each rater's queue: shuffled, the same case never twice in a row, repeats after a gap.

Order carries no information about persona or model: it is drawn from the study's stored seed only.
"""
import numpy as np


def spread_order(raters: np.ndarray, cases: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1-based positions within each rater's queue for all rows at once.

    A rater's items of one case split the queue into equal strata and each lands at a random place in
    its own stratum, so two responses to the same case (under different personas) rarely meet; the
    few that still do are moved apart by `separate_cases`."""
    n = len(raters)
    if n == 0:
        return np.zeros(0, np.int64)
    _, case_idx = np.unique(cases, return_inverse=True)
    _, group, counts = np.unique(raters * (case_idx.max() + 1) + case_idx, return_inverse=True, return_counts=True)
    by_group = np.lexsort((rng.random(n), group))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, np.int64)
    rank[by_group] = np.arange(n) - starts[group[by_group]]
    key = (rank + rng.random(n)) / counts[group]
    return _positions(raters, key)


def _positions(raters: np.ndarray, key: np.ndarray) -> np.ndarray:
    order = np.lexsort((key, raters))
    sorted_raters = raters[order]
    run_start = np.flatnonzero(np.r_[True, sorted_raters[1:] != sorted_raters[:-1]])
    run_length = np.diff(np.r_[run_start, len(order)])
    positions = np.empty(len(order), np.int64)
    positions[order] = np.arange(len(order)) - np.repeat(run_start, run_length) + 1
    return positions


def add_repeats(raters: np.ndarray, positions: np.ndarray, fraction: float, gap: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pick about `fraction` of each rater's rows to show again at least `gap` places later (half
    the queue for short queues). Returns (original row of each repeat, new positions of all rows,
    repeats appended after the originals)."""
    if fraction <= 0 or len(raters) == 0:
        return np.zeros(0, np.int64), positions
    originals, keys = [], []
    order = np.lexsort((positions, raters))
    bounds = np.flatnonzero(np.r_[True, raters[order][1:] != raters[order][:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[start:stop]  # one rater's rows by position
        length = len(rows)
        want = int(round(fraction * length))
        rater_gap = min(gap, max(1, length // 2))
        eligible = rows[: max(0, length - rater_gap)]
        picked = rng.choice(eligible, size=min(want, len(eligible)), replace=False)
        start_key = positions[picked] + rater_gap
        originals.append(picked)
        keys.append(start_key + rng.random(len(picked)) * (length - start_key + 0.5))
    originals = np.concatenate(originals).astype(np.int64)
    all_raters = np.concatenate([raters, raters[originals]])
    all_keys = np.concatenate([positions.astype(float), np.concatenate(keys) - 0.25])
    return originals, _positions(all_raters, all_keys)


def separate_cases(raters: np.ndarray, cases: np.ndarray, positions: np.ndarray, pinned: np.ndarray,
                   rng: np.random.Generator, tries: int = 64) -> int:
    """Swap rows so that no rater meets the same case twice in a row, where the queue allows it.

    `pinned` rows (repeats and their originals) keep their places so wash-out gaps hold.
    Positions are changed in place; returns how many clashes could not be resolved."""
    unresolved = 0
    order = np.lexsort((positions, raters))
    bounds = np.flatnonzero(np.r_[True, raters[order][1:] != raters[order][:-1], True])
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        queue = order[start:stop].copy()  # rows in queue order
        seq = cases[queue]
        clashes = np.flatnonzero(seq[1:] == seq[:-1]) + 1
        if not len(clashes):
            continue
        free = np.flatnonzero(~pinned[queue])
        for p in clashes:
            if seq[p] != seq[p - 1]:
                continue  # an earlier swap fixed it
            mover = p if not pinned[queue[p]] else (p - 1 if not pinned[queue[p - 1]] else -1)
            fixed = False
            if mover >= 0:
                for q in rng.choice(free, size=min(tries, len(free)), replace=False):
                    if q == mover:
                        continue
                    seq[[mover, q]] = seq[[q, mover]]
                    if not _clash_near(seq, (mover, q)):
                        queue[[mover, q]] = queue[[q, mover]]
                        fixed = True
                        break
                    seq[[mover, q]] = seq[[q, mover]]
            unresolved += not fixed
        positions[queue] = np.arange(1, len(queue) + 1)
    return unresolved


def _clash_near(seq: np.ndarray, places) -> bool:
    for p in places:
        for a in (p - 1, p):
            if 0 <= a and a + 1 < len(seq) and seq[a] == seq[a + 1]:
                return True
    return False
