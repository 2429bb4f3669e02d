"""Plain data in and out of the planner: no Django, so it is tested and benchmarked without a database."""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse


class PlanError(ValueError):
    """The study's design cannot be met with these items and raters (the message says why)."""


class StrategyName(enum.StrEnum):
    BALANCED = "balanced"  # k raters per item, loads even, pairs mixed at random
    PAIRWISE = "pairwise"  # as balanced, plus at least `min_pair_overlap` shared items for every rater pair
    EVERYONE = "everyone"  # every eligible rater rates every item


@dataclass(frozen=True)
class Rater:
    id: int
    specialty: str = ""
    years_in_practice: int = 0


@dataclass(frozen=True)
class Items:
    """The items to assign, column-wise so that 100,000 of them cost nothing to pass around."""

    ids: np.ndarray  # int64: the caller's keys (response or comparison ids)
    cases: np.ndarray  # int64: items of one case are kept apart in each queue
    task_types: np.ndarray  # str: eligibility is decided per task type

    def __post_init__(self):
        if not (len(self.ids) == len(self.cases) == len(self.task_types)):
            raise PlanError("ids, cases and task_types must have the same length")
        if len(np.unique(self.ids)) != len(self.ids):
            raise PlanError("item ids must be unique")

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, str]]) -> Items:
        rows = list(rows)
        if not rows:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, dtype=object))
        ids, cases, types = zip(*rows, strict=True)
        return cls(np.asarray(ids, np.int64), np.asarray(cases, np.int64), np.asarray(types, dtype=object))

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class PlanConfig:
    raters_per_item: int = 2
    strategy: StrategyName = StrategyName.BALANCED
    anchor_items: int = 0
    min_pair_overlap: int = 0
    retest_fraction: float = 0.0
    retest_gap: int = 20  # queue places between an item and its repeat (shorter queues: half their length)
    eligibility: Mapping = field(default_factory=dict)
    seed: int = 0
    mixing_rounds: int = 12

    def __post_init__(self):
        if self.raters_per_item < 1:
            raise PlanError("raters per item must be at least 1")
        if self.anchor_items < 0 or self.min_pair_overlap < 0 or self.retest_gap < 1:
            raise PlanError("anchor items and pair overlap must be >= 0, the retest gap >= 1")
        if not 0.0 <= self.retest_fraction <= 0.5:
            raise PlanError("the retest fraction must be between 0 and 0.5")


@dataclass(frozen=True)
class Plan:
    """One row per assignment. `repeat_of` is the row index of the original, or -1."""

    item_ids: np.ndarray
    rater_ids: np.ndarray
    positions: np.ndarray  # 1-based place in the rater's queue
    is_anchor: np.ndarray
    repeat_of: np.ndarray

    def __len__(self) -> int:
        return len(self.item_ids)

    @property
    def is_repeat(self) -> np.ndarray:
        return self.repeat_of >= 0

    def loads(self, *, primary_only: bool = True) -> dict[int, int]:
        """Assignments per rater; repeats left out unless asked for."""
        rater_ids = self.rater_ids[~self.is_repeat] if primary_only else self.rater_ids
        ids, counts = np.unique(rater_ids, return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))

    def pair_overlap(self) -> tuple[np.ndarray, np.ndarray]:
        """(rater ids, matrix): how many items each pair of raters both rate (repeats left out)."""
        primary = ~self.is_repeat
        return pair_overlap(self.item_ids[primary], self.rater_ids[primary])


def pair_overlap(item_ids: np.ndarray, rater_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rater ids, raters x raters matrix of shared items) from one row per (item, rater)."""
    raters, rater_idx = np.unique(rater_ids, return_inverse=True)
    _, item_idx = np.unique(item_ids, return_inverse=True)
    n_items = int(item_idx.max()) + 1 if len(item_idx) else 0
    # Sparse: a dense items x raters integer product takes half a minute at 100,000 items x 100 raters.
    incidence = sparse.csr_matrix((np.ones(len(item_idx), np.int64), (item_idx, rater_idx)),
                                  shape=(n_items, len(raters)))
    incidence.data[:] = 1  # a repeated (item, rater) row counts once
    return raters, (incidence.T @ incidence).toarray()
