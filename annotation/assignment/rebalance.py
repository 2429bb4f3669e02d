"""Rebalancing a running study when clinicians join or leave, or items arrive or are withdrawn.

Only work nobody has seen moves. Submitted ratings stay where they are and still count towards an
item's k raters; a leaving clinician's started drafts are withdrawn (kept for the record) and their
items go to others; a joining clinician takes the anchor set and a fair share of unseen work.
"""
import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .eligibility import eligibility_validate, eligible_mask
from .ordering import add_repeats, separate_cases, spread_order
from .types import Items, PlanConfig, PlanError, Rater, StrategyName


class TaskState(enum.IntEnum):
    PENDING = 0  # never shown: free to move
    STARTED = 1  # shown or drafted, not submitted
    SUBMITTED = 2


@dataclass(frozen=True)
class Existing:
    """The study's current assignments (withdrawn ones left out), one row each."""

    item_ids: np.ndarray
    rater_ids: np.ndarray
    positions: np.ndarray
    is_anchor: np.ndarray
    repeat_of: np.ndarray  # row index of the original, or -1
    state: np.ndarray  # TaskState values

    def __len__(self):
        return len(self.item_ids)


@dataclass(frozen=True)
class Rebalance:
    drop: np.ndarray  # existing rows to delete (never shown)
    withdraw: np.ndarray  # existing rows started by clinicians who left
    moved_rows: np.ndarray  # existing rows that get a new position...
    moved_positions: np.ndarray  # ...this one
    new_item_ids: np.ndarray
    new_rater_ids: np.ndarray
    new_positions: np.ndarray
    new_is_anchor: np.ndarray
    new_repeat_of: np.ndarray  # -1, an existing row index, or len(existing) + a new row index

    @property
    def changed(self) -> bool:
        return bool(len(self.drop) or len(self.withdraw) or len(self.new_item_ids) or len(self.moved_rows))


def rebalance_assignments(items: Items, raters: Sequence[Rater], existing: Existing, config: PlanConfig) -> Rebalance:
    eligibility_validate(config.eligibility)
    rng = np.random.default_rng([config.seed, len(existing), len(raters), len(items)])
    rater_ids = np.array([r.id for r in raters], np.int64)
    n_existing = len(existing)

    ex_item = _lookup(items.ids, existing.item_ids)
    ex_rater = _lookup(rater_ids, existing.rater_ids)
    state, repeat = existing.state, existing.repeat_of >= 0
    active = ex_rater >= 0
    drop = (state == TaskState.PENDING) & (~active | (ex_item < 0))
    withdraw = (state == TaskState.STARTED) & ~active
    # (a dropped or withdrawn row's pending repeats belong to the same leaving rater or gone item: dropped too)

    types, item_type = np.unique(items.task_types.astype(str), return_inverse=True)
    types = types.tolist()
    eligible = np.stack([eligible_mask(raters, t, config.eligibility) for t in types]) if len(types) else None
    everyone = config.strategy == StrategyName.EVERYONE

    # Who is on each item now (a leaving clinician's submitted rating still counts).
    on_item: list[set[int]] = [set() for _ in range(len(items))]
    kept_primary = ~(drop | withdraw) & ~repeat & (ex_item >= 0)
    for i, r in zip(ex_item[kept_primary].tolist(), existing.rater_ids[kept_primary].tolist(), strict=True):
        on_item[i].add(r)
    loads = np.bincount(ex_rater[kept_primary & active], minlength=len(raters)).astype(np.int64)
    anchor_items = set(ex_item[existing.is_anchor & (ex_item >= 0)].tolist())

    new = _NewRows()
    for i in rng.permutation(len(items)).tolist():
        if not (i in anchor_items or everyone) and len(on_item[i]) >= config.raters_per_item:
            continue
        candidates = np.flatnonzero(eligible[item_type[i]])
        lacking = [c for c in candidates.tolist() if rater_ids[c] not in on_item[i]]
        if i in anchor_items or everyone:
            for c in lacking:
                new.add(i, c, anchor=i in anchor_items)
                on_item[i].add(int(rater_ids[c]))
                loads[c] += 1
            continue
        need = config.raters_per_item - len(on_item[i])
        if need > len(lacking):
            raise PlanError(f"task type {types[item_type[i]]!r}: not enough eligible clinicians left for an item")
        for _ in range(max(0, need)):
            pool = np.array([c for c in lacking if rater_ids[c] not in on_item[i]])
            least = pool[loads[pool] == loads[pool].min()]
            c = int(rng.choice(least))
            new.add(i, c, anchor=False)
            on_item[i].add(int(rater_ids[c]))
            loads[c] += 1

    if not everyone:
        movable = (state == TaskState.PENDING) & ~drop & ~repeat & ~existing.is_anchor & active
        _even_out(rng, loads, eligible, item_type, rater_ids, on_item, ex_item, ex_rater, movable, drop, new)

    return _reorder(existing, ex_item, ex_rater, items, rater_ids, drop, withdraw, new, config, rng, n_existing)


class _NewRows:
    def __init__(self):
        self.items: list[int] = []
        self.raters: list[int] = []
        self.anchor: list[bool] = []

    def add(self, item: int, rater: int, *, anchor: bool) -> int:
        self.items.append(item)
        self.raters.append(rater)
        self.anchor.append(anchor)
        return len(self.items) - 1


def _lookup(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each value in keys, -1 where absent."""
    if not len(keys):
        return np.full(len(values), -1, np.int64)
    order = np.argsort(keys)
    at = np.clip(np.searchsorted(keys[order], values), 0, len(keys) - 1)
    found = keys[order][at] == values
    return np.where(found, order[at], -1)


def _even_out(rng, loads, eligible, item_type, rater_ids, on_item, ex_item, ex_rater, movable, drop, new) -> None:
    """Move unseen work from the busiest to the least busy clinician until loads differ by at most one
    (or nothing more can move: eligibility and "no rater twice on an item" can stop it earlier)."""
    pools: dict[int, list[tuple[str, int]]] = {r: [] for r in range(len(loads))}
    for row in rng.permutation(np.flatnonzero(movable)).tolist():
        pools[int(ex_rater[row])].append(("existing", row))
    for row in rng.permutation(len(new.items)).tolist():
        if not new.anchor[row]:
            pools[new.raters[row]].append(("new", row))
    stuck: set[int] = set()
    while True:
        open_raters = [r for r in range(len(loads)) if r not in stuck]
        if len(open_raters) < 2:
            return
        lo = min(open_raters, key=lambda r: (loads[r], r))
        donors = sorted((r for r in range(len(loads)) if loads[r] - loads[lo] > 1), key=lambda r: -loads[r])
        if not donors:
            return
        moved = False
        for hi in donors:
            for n, (kind, row) in enumerate(pools[hi]):
                item = int(ex_item[row]) if kind == "existing" else new.items[row]
                if not eligible[item_type[item], lo] or int(rater_ids[lo]) in on_item[item]:
                    continue
                pools[hi].pop(n)
                on_item[item].discard(int(rater_ids[hi]))
                on_item[item].add(int(rater_ids[lo]))
                if kind == "existing":
                    drop[row] = True
                    row = new.add(item, lo, anchor=False)
                else:
                    new.raters[row] = lo
                pools[lo].append(("new", row))
                loads[hi] -= 1
                loads[lo] += 1
                moved = True
                break
            if moved:
                break
        if not moved:
            stuck.add(lo)


def _reorder(existing, ex_item, ex_rater, items, rater_ids, drop, withdraw, new, config, rng, n_existing) -> Rebalance:
    """New positions for the unseen part of every queue that changed; repeats drawn afresh there."""
    new_items = np.array(new.items, np.int64)
    new_raters = np.array(new.raters, np.int64)
    new_anchor = np.array(new.anchor, bool)
    repeat = existing.repeat_of >= 0
    pending = (existing.state == TaskState.PENDING) & ~drop & ~withdraw
    touched = np.zeros(len(rater_ids), bool)
    touched[new_raters] = True
    touched[ex_rater[(drop | withdraw) & (ex_rater >= 0)]] = True

    in_touched = (ex_rater >= 0) & touched[np.maximum(ex_rater, 0)]
    # Repeats of unseen originals are drawn again below; repeats of items already seen stay, at the end.
    repeat_original_state = existing.state[np.where(repeat, existing.repeat_of, 0)]
    redraw = repeat & pending & in_touched & (repeat_original_state == TaskState.PENDING)
    drop = drop | redraw
    pending &= ~redraw
    late_repeats = np.flatnonzero(repeat & pending & in_touched)

    rows_existing = np.flatnonzero(pending & ~repeat & in_touched)
    all_raters = np.concatenate([ex_rater[rows_existing], new_raters])
    all_items = np.concatenate([ex_item[rows_existing], new_items])
    handles = np.concatenate([rows_existing, n_existing + np.arange(len(new_items))])
    positions = spread_order(all_raters, items.cases[all_items], rng)
    originals, positions = add_repeats(all_raters, positions, config.retest_fraction, config.retest_gap, rng)
    all_raters = np.concatenate([all_raters, all_raters[originals]])
    all_items = np.concatenate([all_items, all_items[originals]])
    is_repeat_row = np.r_[np.zeros(len(handles), bool), np.ones(len(originals), bool)]
    pinned = is_repeat_row.copy()
    pinned[originals] = True
    separate_cases(all_raters, items.cases[all_items], positions, pinned, rng)

    # Offsets: after the last seen item of each queue; old repeats of seen items go after the rest.
    seen = ~pending & ~drop & ~withdraw & (ex_rater >= 0)
    offset = np.zeros(len(rater_ids), np.int64)
    np.maximum.at(offset, ex_rater[seen], existing.positions[seen])
    positions = positions + offset[all_raters]
    queue_end = offset.copy()
    np.maximum.at(queue_end, all_raters, positions)
    late_positions = np.empty(len(late_repeats), np.int64)
    for n, row in enumerate(late_repeats.tolist()):
        queue_end[ex_rater[row]] += 1
        late_positions[n] = queue_end[ex_rater[row]]

    n_primary = len(handles)
    moved = n_primary - len(new_items)  # existing rows come first in `handles`
    repeat_new_of = handles[originals]
    return Rebalance(
        drop=np.flatnonzero(drop),
        withdraw=np.flatnonzero(withdraw),
        moved_rows=np.concatenate([rows_existing, late_repeats]),
        moved_positions=np.concatenate([positions[:moved], late_positions]),
        new_item_ids=items.ids[np.concatenate([new_items, all_items[n_primary:]])],
        new_rater_ids=rater_ids[np.concatenate([new_raters, all_raters[n_primary:]])],
        new_positions=np.concatenate([positions[moved:n_primary], positions[n_primary:]]),
        new_is_anchor=np.concatenate([new_anchor, np.zeros(len(originals), bool)]),
        new_repeat_of=np.concatenate([np.full(len(new_items), -1, np.int64), repeat_new_of]),
    )
