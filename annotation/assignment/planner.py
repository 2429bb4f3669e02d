"""A study's whole assignment plan: anchors, then k raters per item by strategy, then each queue's order
and test-retest repeats. Vectorised with numpy: 100,000 items x 3 raters plan in about a second."""
from collections.abc import Sequence

import numpy as np

from .eligibility import eligibility_validate, eligible_mask
from .ordering import add_repeats, separate_cases, spread_order
from .strategies import Group, PlanState, strategy_create
from .types import Items, Plan, PlanConfig, PlanError, Rater, StrategyName


def plan_assignments(items: Items, raters: Sequence[Rater], config: PlanConfig) -> Plan:
    rater_ids = np.array([r.id for r in raters], np.int64)
    if len(np.unique(rater_ids)) != len(rater_ids):
        raise PlanError("rater ids must be unique")
    if len(items) and not len(raters):
        raise PlanError("no clinicians to assign the items to")
    eligibility_validate(config.eligibility)
    rng = np.random.default_rng(config.seed)
    state = PlanState.empty(len(raters), rng)
    strategy = strategy_create(config.strategy)

    groups = _groups(items, raters, config)
    anchor = _pick_anchors(items, config, rng)
    item_rows, rater_rows, anchor_rows = [], [], []
    for label, item_index, eligible in groups:
        anchors_here = item_index[anchor[item_index]]
        if len(anchors_here):
            if not len(eligible):
                raise PlanError(f"{label}: no eligible clinician")
            block = np.tile(eligible, (len(anchors_here), 1))
            state.record(block)
            item_rows.append(np.repeat(anchors_here, len(eligible)))
            rater_rows.append(block.ravel())
            anchor_rows.append(np.ones(block.size, bool))
        rest = rng.permutation(item_index[~anchor[item_index]])
        group = Group(label, len(rest), eligible, config.raters_per_item, config.min_pair_overlap,
                      config.mixing_rounds)
        matrix = strategy.assign(group, state)
        state.record(matrix)
        item_rows.append(np.repeat(rest, matrix.shape[1]))
        rater_rows.append(matrix.ravel())
        anchor_rows.append(np.zeros(matrix.size, bool))

    item_idx = np.concatenate(item_rows) if item_rows else np.zeros(0, np.int64)
    rater_idx = np.concatenate(rater_rows) if rater_rows else np.zeros(0, np.int64)
    is_anchor = np.concatenate(anchor_rows) if anchor_rows else np.zeros(0, bool)
    return order_plan(items, rater_ids, item_idx, rater_idx, is_anchor, config, rng)


def order_plan(items: Items, rater_ids: np.ndarray, item_idx: np.ndarray, rater_idx: np.ndarray,
               is_anchor: np.ndarray, config: PlanConfig, rng: np.random.Generator) -> Plan:
    """Shuffle each rater's queue, add repeats, keep same-case items apart, and build the Plan."""
    cases = items.cases[item_idx]
    positions = spread_order(rater_idx, cases, rng)
    originals, positions = add_repeats(rater_idx, positions, config.retest_fraction, config.retest_gap, rng)
    item_idx = np.concatenate([item_idx, item_idx[originals]])
    rater_idx = np.concatenate([rater_idx, rater_idx[originals]])
    is_anchor = np.concatenate([is_anchor, np.zeros(len(originals), bool)])
    repeat_of = np.concatenate([np.full(len(positions) - len(originals), -1), originals]).astype(np.int64)
    pinned = repeat_of >= 0
    pinned[originals] = True
    separate_cases(rater_idx, items.cases[item_idx], positions, pinned, rng)
    return Plan(items.ids[item_idx], rater_ids[rater_idx], positions, is_anchor, repeat_of)


def _groups(items: Items, raters: Sequence[Rater], config: PlanConfig) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(task type, item indices, eligible rater indices) per task type, most constrained first."""
    types, inverse = np.unique(items.task_types.astype(str), return_inverse=True)
    groups = []
    for t, task_type in enumerate(types.tolist()):
        eligible = np.flatnonzero(eligible_mask(raters, task_type, config.eligibility))
        if config.strategy != StrategyName.EVERYONE and len(eligible) < config.raters_per_item:
            raise PlanError(
                f"task type {task_type!r}: {config.raters_per_item} clinicians per response are needed "
                f"but {len(eligible)} are eligible"
            )
        groups.append((f"task type {task_type!r}", np.flatnonzero(inverse == t), eligible))
    return sorted(groups, key=lambda g: (len(g[2]), g[0]))


def _pick_anchors(items: Items, config: PlanConfig, rng: np.random.Generator) -> np.ndarray:
    """A random set of items every eligible rater rates, one case each where there are enough cases."""
    anchor = np.zeros(len(items), bool)
    if config.anchor_items == 0:
        return anchor
    if config.anchor_items > len(items):
        raise PlanError(f"{config.anchor_items} anchor items were asked for but there are {len(items)} items")
    shuffled = rng.permutation(len(items))
    _, first_of_case = np.unique(items.cases[shuffled], return_index=True)
    distinct_cases = shuffled[np.sort(first_of_case)]
    others = np.setdiff1d(shuffled, distinct_cases, assume_unique=True)
    anchor[np.concatenate([distinct_cases, rng.permutation(others)])[: config.anchor_items]] = True
    return anchor
