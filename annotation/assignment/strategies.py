"""Who rates which item: an interface, three strategies, their names and a factory.

A strategy fills one eligibility group (the items of one task type, the raters allowed to rate it)
and returns an (items x k) matrix of rater indices. Loads and pair coverage carry over from group to
group in `PlanState`, so later groups even out what earlier ones left uneven.
"""
from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .types import PlanError, StrategyName


@dataclass
class PlanState:
    loads: np.ndarray  # primary assignments per rater so far
    coverage: np.ndarray  # raters x raters: items shared so far
    rng: np.random.Generator

    @classmethod
    def empty(cls, n_raters: int, rng: np.random.Generator) -> PlanState:
        return cls(np.zeros(n_raters, np.int64), np.zeros((n_raters, n_raters), np.int64), rng)

    def record(self, matrix: np.ndarray) -> None:
        """Count a filled (items x k) matrix into loads and pair coverage."""
        np.add.at(self.loads, matrix.ravel(), 1)
        k = matrix.shape[1]
        for a in range(k):
            for b in range(a + 1, k):
                np.add.at(self.coverage, (matrix[:, a], matrix[:, b]), 1)
                np.add.at(self.coverage, (matrix[:, b], matrix[:, a]), 1)


@dataclass(frozen=True)
class Group:
    label: str
    n_items: int
    raters: np.ndarray  # indices of the eligible raters
    k: int
    min_pair_overlap: int = 0
    mixing_rounds: int = 12


class AssignmentStrategy(ABC):
    name: StrategyName

    @abstractmethod
    def assign(self, group: Group, state: PlanState) -> np.ndarray:
        """An (n_items x width) matrix of rater indices, no rater twice in a row; updates nothing."""


class BalancedStrategy(AssignmentStrategy):
    name = StrategyName.BALANCED

    def assign(self, group, state):
        _require_raters(group)
        return balanced_fill(group.n_items, group.raters, group.k, state.loads.copy(), state.rng, group.mixing_rounds)


class EveryoneStrategy(AssignmentStrategy):
    name = StrategyName.EVERYONE

    def assign(self, group, state):
        if len(group.raters) == 0 and group.n_items:
            raise PlanError(f"{group.label}: no eligible clinician")
        return np.tile(group.raters, (group.n_items, 1))


class PairwiseStrategy(AssignmentStrategy):
    """Rows that put each short pair together first (a greedy covering that favours the least busy),
    then a balanced fill of the rest; the guarantee holds by construction or the plan is refused."""

    name = StrategyName.PAIRWISE

    def assign(self, group, state):
        _require_raters(group)
        k, raters, rng = group.k, group.raters, state.rng
        if k < 2 or len(raters) < 2 or group.min_pair_overlap == 0:
            return balanced_fill(group.n_items, raters, k, state.loads.copy(), rng, group.mixing_rounds)
        deficit = np.clip(group.min_pair_overlap - state.coverage[np.ix_(raters, raters)], 0, None)
        rows = _pair_rows(raters, deficit, k, state.loads, rng)
        if len(rows) > group.n_items:
            raise PlanError(
                f"{group.label}: guaranteeing {group.min_pair_overlap} shared items for every pair of "
                f"{len(raters)} clinicians needs {len(rows)} items; there are {group.n_items}"
            )
        loads = state.loads.copy()
        head = np.full((len(rows), k), -1, np.int64)
        for i, row in enumerate(rows):
            head[i, : len(row)] = row
        np.add.at(loads, head[head >= 0], 1)
        _fill_open_slots(head, raters, loads, rng)
        tail = balanced_fill(group.n_items - len(rows), raters, k, loads, rng, group.mixing_rounds)
        return np.concatenate([head, tail])


STRATEGIES: dict[StrategyName, type[AssignmentStrategy]] = {
    cls.name: cls for cls in (BalancedStrategy, PairwiseStrategy, EveryoneStrategy)
}


def strategy_create(name: StrategyName | str) -> AssignmentStrategy:
    try:
        return STRATEGIES[StrategyName(name)]()
    except ValueError as exc:
        choices = [s.value for s in StrategyName]
        raise PlanError(f"unknown assignment strategy {name!r}; choose one of {choices}") from exc


def _require_raters(group: Group) -> None:
    if group.n_items and len(group.raters) < group.k:
        raise PlanError(
            f"{group.label}: {group.k} clinicians per item are needed but only {len(group.raters)} are eligible"
        )


def water_fill(loads: np.ndarray, slots: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """How many of `slots` new assignments each rater takes (at most `cap`), leaving final loads as even
    as possible: everyone below the level is raised to it, and the few leftover slots go to random raters."""
    if slots > cap * len(loads):
        raise PlanError("not enough raters for the slots to fill")
    lo, hi = int(loads.min()), int(loads.max()) + cap

    def filled(level):
        return int(np.clip(level - loads, 0, cap).sum())

    while lo < hi:  # the highest level that does not overfill
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if filled(mid) <= slots else (lo, mid - 1)
    take = np.clip(lo - loads, 0, cap)
    extra = slots - int(take.sum())
    if extra:
        candidates = np.flatnonzero((loads + take == lo) & (take < cap))
        take[rng.choice(candidates, size=extra, replace=False)] += 1
    return take


def balanced_fill(n: int, raters: np.ndarray, k: int, loads: np.ndarray, rng: np.random.Generator,
                  mixing_rounds: int) -> np.ndarray:
    """k distinct raters for each of n items, evening out `loads` (updated in place).

    Each rater's share is laid out as one contiguous run and the runs are read column-wise into the
    (n x k) matrix: a run is at most n long, so it never meets the same row twice. Random swaps
    between rows then mix who is paired with whom, keeping every rater's count."""
    if n == 0:
        return np.zeros((0, k), np.int64)
    take = water_fill(loads[raters], n * k, n, rng)
    order = rng.permutation(len(raters))
    matrix = np.repeat(raters[order], take[order]).reshape(k, n).T.copy()
    loads[raters] += take
    _mix(matrix, rng, mixing_rounds)
    return matrix


def _mix(matrix: np.ndarray, rng: np.random.Generator, rounds: int) -> None:
    """Swap cells between random disjoint row pairs wherever neither row would hold a rater twice."""
    n, k = matrix.shape
    half = n // 2
    if half == 0 or k == 0:
        return
    for _ in range(rounds):
        perm = rng.permutation(n)
        r1, r2 = perm[:half], perm[half : 2 * half]
        c1, c2 = rng.integers(k, size=half), rng.integers(k, size=half)
        x, y = matrix[r1, c1], matrix[r2, c2]
        ok = ~(matrix[r2] == x[:, None]).any(1) & ~(matrix[r1] == y[:, None]).any(1)
        matrix[r1[ok], c1[ok]] = y[ok]
        matrix[r2[ok], c2[ok]] = x[ok]


def _pair_rows(raters: np.ndarray, deficit: np.ndarray, k: int, loads: np.ndarray,
               rng: np.random.Generator) -> list[list[int]]:
    """Greedy covering: each row starts from the pair that is shortest of shared items (the least busy
    such pair on ties) and adds whoever closes the most remaining shortfalls with its members."""
    deficit = deficit.astype(np.int64).copy()
    np.fill_diagonal(deficit, 0)
    busy = loads[raters] + rng.random(len(raters)) * 0.5  # jitter breaks ties at random
    rows: list[list[int]] = []
    while deficit.max(initial=0) > 0:
        score = np.where(deficit > 0, deficit * 1e6 - busy[:, None] - busy[None, :], -np.inf)
        members = list(np.unravel_index(int(np.argmax(score)), score.shape))
        while len(members) < k:
            gain = (deficit[members] > 0).sum(0).astype(float)
            gain[members] = -1
            if gain.max() <= 0:
                break
            members.append(int(np.argmax(gain * 1e6 - busy)))
        for a, b in itertools.combinations(members, 2):
            deficit[a, b] -= 1
            deficit[b, a] -= 1
        busy[members] += 1
        rows.append([int(raters[m]) for m in members])
    return rows


def _fill_open_slots(matrix: np.ndarray, raters: np.ndarray, loads: np.ndarray, rng: np.random.Generator) -> None:
    """Fill the -1 cells with the least-loaded eligible rater not yet in the row (few cells: a loop)."""
    for i, j in zip(*np.nonzero(matrix < 0), strict=True):
        free = raters[~np.isin(raters, matrix[i])]
        least = free[loads[free] == loads[free].min()]
        choice = int(rng.choice(least))
        matrix[i, j] = choice
        loads[choice] += 1
