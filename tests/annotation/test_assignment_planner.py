"""The pure assignment planner: no database, plain data in and out."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.assignment import (
    Existing,
    Items,
    PlanConfig,
    PlanError,
    Rater,
    StrategyName,
    TaskState,
    eligibility_validate,
    plan_assignments,
    rebalance_assignments,
    strategy_create,
)
from annotation.assignment.strategies import BalancedStrategy, EveryoneStrategy, PairwiseStrategy


def make_items(n, per_case=4, types=("triage",)):
    """n items; consecutive `per_case` items share a case (like one case under several personas)."""
    cases = np.arange(n) // per_case
    task_types = np.array([types[c % len(types)] for c in cases], dtype=object)
    return Items(np.arange(100, 100 + n), cases, task_types)


def make_raters(n, specialty="emergency", years=5):
    return [Rater(id=1000 + i, specialty=specialty, years_in_practice=years) for i in range(n)]


def primary(plan):
    keep = ~plan.is_repeat
    return plan.item_ids[keep], plan.rater_ids[keep]


def raters_by_item(plan):
    items, raters = primary(plan)
    out = {}
    for i, r in zip(items.tolist(), raters.tolist(), strict=True):
        out.setdefault(i, []).append(r)
    return out


def queues(plan):
    """rater -> list of (item id, row) in queue order."""
    out = {}
    for row in np.lexsort((plan.positions, plan.rater_ids)).tolist():
        out.setdefault(int(plan.rater_ids[row]), []).append((int(plan.item_ids[row]), row))
    return out


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), n_raters=st.integers(1, 12), k=st.integers(1, 5), seed=st.integers(0, 2**32))
def test_every_item_gets_exactly_k_distinct_raters_and_loads_differ_by_at_most_one(n, n_raters, k, seed):
    if k > n_raters:
        with pytest.raises(PlanError, match="needed"):
            plan_assignments(make_items(n), make_raters(n_raters), PlanConfig(raters_per_item=k, seed=seed))
        return
    plan = plan_assignments(make_items(n), make_raters(n_raters), PlanConfig(raters_per_item=k, seed=seed))
    by_item = raters_by_item(plan)
    assert len(by_item) == n
    assert all(len(r) == k and len(set(r)) == k for r in by_item.values())
    loads = plan.loads()
    counts = [loads.get(r.id, 0) for r in make_raters(n_raters)]
    assert max(counts) - min(counts) <= 1
    assert sum(counts) == n * k


def test_each_queue_is_numbered_1_to_n_without_gaps():
    plan = plan_assignments(make_items(90), make_raters(5), PlanConfig(raters_per_item=2, retest_fraction=0.1, seed=3))
    for queue in queues(plan).values():
        assert sorted(plan.positions[row] for _, row in queue) == list(range(1, len(queue) + 1))


def test_same_seed_gives_the_same_plan_and_another_seed_a_different_order():
    items, raters = make_items(200), make_raters(6)
    a = plan_assignments(items, raters, PlanConfig(raters_per_item=2, seed=11))
    b = plan_assignments(items, raters, PlanConfig(raters_per_item=2, seed=11))
    c = plan_assignments(items, raters, PlanConfig(raters_per_item=2, seed=12))
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("item_ids", "rater_ids", "positions"))
    assert queues(a) != queues(c)


def test_queue_order_is_unrelated_to_item_order():
    """Items arrive grouped by persona/model (their ids count up); queues must not follow that order."""
    plan = plan_assignments(make_items(600, per_case=1), make_raters(4), PlanConfig(raters_per_item=2, seed=5))
    for queue in queues(plan).values():
        item_order = [item for item, _ in queue]
        rho = np.corrcoef(np.arange(len(item_order)), item_order)[0, 1]
        assert abs(rho) < 0.2


def test_the_same_case_never_comes_back_to_back_in_a_queue():
    # 12 responses per case (personas x models) and everyone rates everything: the hardest case for this rule.
    items = make_items(240, per_case=12)
    plan = plan_assignments(items, make_raters(3), PlanConfig(raters_per_item=3, retest_fraction=0.1, seed=8))
    case_of = dict(zip(items.ids.tolist(), items.cases.tolist(), strict=True))
    for queue in queues(plan).values():
        cases = [case_of[item] for item, _ in queue]
        assert all(a != b for a, b in itertools.pairwise(cases))


def test_pairs_of_raters_overlap_even_without_the_pairwise_guarantee():
    plan = plan_assignments(make_items(2000), make_raters(10), PlanConfig(raters_per_item=2, seed=1))
    _, overlap = plan.pair_overlap()
    off_diagonal = overlap[~np.eye(len(overlap), dtype=bool)]
    assert off_diagonal.min() >= 10  # random mixing: about 44 each, never only neighbours


@pytest.mark.parametrize(("n", "n_raters", "k", "m"), [(60, 6, 2, 4), (45, 7, 3, 3), (200, 9, 2, 5), (40, 5, 4, 6)])
def test_pairwise_strategy_guarantees_the_overlap_for_every_pair(n, n_raters, k, m):
    config = PlanConfig(raters_per_item=k, strategy=StrategyName.PAIRWISE, min_pair_overlap=m, seed=2)
    plan = plan_assignments(make_items(n), make_raters(n_raters), config)
    _, overlap = plan.pair_overlap()
    assert overlap[~np.eye(n_raters, dtype=bool)].min() >= m
    loads = list(plan.loads().values())
    assert max(loads) - min(loads) <= 1
    assert all(len(set(r)) == k for r in raters_by_item(plan).values())


def test_pairwise_strategy_refuses_a_design_that_cannot_be_met():
    config = PlanConfig(raters_per_item=2, strategy=StrategyName.PAIRWISE, min_pair_overlap=5, seed=2)
    with pytest.raises(PlanError, match=r"needs 225 items; there are 100"):
        plan_assignments(make_items(100), make_raters(10), config)


def test_anchor_items_are_rated_by_every_rater_and_marked():
    plan = plan_assignments(make_items(100), make_raters(5), PlanConfig(raters_per_item=2, anchor_items=7, seed=4))
    anchors = set(plan.item_ids[plan.is_anchor].tolist())
    assert len(anchors) == 7
    by_item = raters_by_item(plan)
    assert all(len(by_item[a]) == 5 for a in anchors)
    assert all(len(r) == 2 for item, r in by_item.items() if item not in anchors)
    _, overlap = plan.pair_overlap()
    assert overlap[~np.eye(5, dtype=bool)].min() >= 7
    loads = list(plan.loads().values())
    assert max(loads) - min(loads) <= 1


def test_anchor_items_come_from_different_cases_when_possible():
    plan = plan_assignments(make_items(100, per_case=4), make_raters(3), PlanConfig(anchor_items=10, seed=4))
    anchor_cases = {(i - 100) // 4 for i in plan.item_ids[plan.is_anchor].tolist()}
    assert len(anchor_cases) == 10


def test_more_anchor_items_than_items_is_refused():
    with pytest.raises(PlanError, match="anchor"):
        plan_assignments(make_items(5), make_raters(3), PlanConfig(anchor_items=6))


def test_retest_repeats_come_back_to_the_same_rater_after_the_washout_gap():
    config = PlanConfig(raters_per_item=2, retest_fraction=0.1, retest_gap=15, seed=9)
    plan = plan_assignments(make_items(300), make_raters(4), config)
    repeats = np.flatnonzero(plan.is_repeat)
    loads = plan.loads()
    assert len(repeats) == sum(round(0.1 * n) for n in loads.values())
    for row in repeats.tolist():
        original = plan.repeat_of[row]
        assert plan.item_ids[row] == plan.item_ids[original]
        assert plan.rater_ids[row] == plan.rater_ids[original]
        assert plan.positions[row] - plan.positions[original] >= 15
        assert not plan.is_anchor[row]
    # a rater sees a repeated item twice, every other item once
    assert len(set(zip(plan.item_ids[repeats].tolist(), plan.rater_ids[repeats].tolist(), strict=True))) == len(repeats)


def test_short_queues_use_half_their_length_as_the_gap():
    plan = plan_assignments(make_items(10, per_case=1), make_raters(2),
                            PlanConfig(raters_per_item=1, retest_fraction=0.2, retest_gap=50, seed=1))
    for row in np.flatnonzero(plan.is_repeat).tolist():
        assert plan.positions[row] - plan.positions[plan.repeat_of[row]] >= 2  # queues of 5: gap 2


def test_eligibility_keeps_raters_off_task_types_they_may_not_rate():
    items = make_items(120, per_case=1, types=("triage", "patient_safety"))
    raters = [*make_raters(3, "emergency", 10), *[Rater(2000 + i, "primary_care", 1) for i in range(3)]]
    rules = {"triage": {"specialties": ["emergency", "critical_care"], "min_years": 2}}
    plan = plan_assignments(items, raters, PlanConfig(raters_per_item=2, eligibility=rules, seed=6))
    type_of = dict(zip(items.ids.tolist(), items.task_types.tolist(), strict=True))
    for item, rater in zip(*primary(plan), strict=True):
        if type_of[item] == "triage":
            assert rater < 2000
    loads = list(plan.loads().values())
    assert max(loads) - min(loads) <= 1  # primary care takes more safety items to even out


def test_min_years_alone_decides_eligibility():
    items = make_items(20, per_case=1)
    raters = [Rater(1, "emergency", 1), Rater(2, "emergency", 3), Rater(3, "nursing", 8)]
    plan = plan_assignments(items, raters, PlanConfig(raters_per_item=2, eligibility={"triage": {"min_years": 3}}))
    assert set(plan.rater_ids.tolist()) == {2, 3}


def test_too_few_eligible_raters_is_a_clear_error():
    items = make_items(10, per_case=1)
    rules = {"triage": {"specialties": ["emergency"]}}
    with pytest.raises(PlanError, match=r"task type 'triage': 2 clinicians per response are needed but 1 are eligible"):
        plan_assignments(items, [Rater(1, "emergency"), Rater(2, "nursing")], PlanConfig(eligibility=rules))


@pytest.mark.parametrize(
    "rules",
    [[], {"triage": []}, {"triage": {"specialty": ["x"]}}, {"triage": {"specialties": "emergency"}},
     {"triage": {"min_years": -1}}, {"triage": {"min_years": True}}],
)
def test_malformed_eligibility_rules_are_refused(rules):
    with pytest.raises(PlanError):
        eligibility_validate(rules)


def test_everyone_strategy_assigns_every_eligible_rater_to_every_item():
    plan = plan_assignments(make_items(30), make_raters(4), PlanConfig(raters_per_item=9, strategy="everyone"))
    assert all(len(r) == 4 for r in raters_by_item(plan).values())


def test_strategy_factory_knows_every_name_and_refuses_others():
    assert isinstance(strategy_create("balanced"), BalancedStrategy)
    assert isinstance(strategy_create(StrategyName.PAIRWISE), PairwiseStrategy)
    assert isinstance(strategy_create("everyone"), EveryoneStrategy)
    with pytest.raises(PlanError, match="unknown assignment strategy"):
        strategy_create("round_robin")


def test_config_refuses_impossible_settings():
    for bad in ({"raters_per_item": 0}, {"retest_fraction": 0.9}, {"anchor_items": -1}, {"retest_gap": 0}):
        with pytest.raises(PlanError):
            PlanConfig(**bad)


def test_no_items_gives_an_empty_plan_and_no_raters_an_error():
    assert len(plan_assignments(make_items(0), make_raters(3), PlanConfig())) == 0
    with pytest.raises(PlanError, match="no clinicians"):
        plan_assignments(make_items(3), [], PlanConfig())


def test_a_large_study_plans_completely():
    items = make_items(30_000, per_case=24, types=("triage", "patient_safety"))
    raters = make_raters(12)
    plan = plan_assignments(items, raters, PlanConfig(raters_per_item=3, anchor_items=20, retest_fraction=0.05))
    loads = list(plan.loads().values())
    assert max(loads) - min(loads) <= 1
    assert len(raters_by_item(plan)) == 30_000


# --------------------------------------------------------------------------------------------- rebalancing


def existing_from(plan, *, submitted=(), started=()):
    state = np.full(len(plan), TaskState.PENDING, np.int8)
    state[list(submitted)] = TaskState.SUBMITTED
    state[list(started)] = TaskState.STARTED
    return Existing(plan.item_ids, plan.rater_ids, plan.positions, plan.is_anchor, plan.repeat_of, state)


def apply(existing, result):
    """The assignment rows after a rebalance: (item, rater, is_anchor, is_repeat, state) per kept row."""
    gone = set(result.drop.tolist()) | set(result.withdraw.tolist())
    rows = [(int(existing.item_ids[i]), int(existing.rater_ids[i]), bool(existing.is_anchor[i]),
             existing.repeat_of[i] >= 0, int(existing.state[i])) for i in range(len(existing)) if i not in gone]
    for i in range(len(result.new_item_ids)):
        rows.append((int(result.new_item_ids[i]), int(result.new_rater_ids[i]), bool(result.new_is_anchor[i]),
                     result.new_repeat_of[i] >= 0, TaskState.PENDING))
    return rows


def primary_rows(rows):
    return [r for r in rows if not r[3]]


def check_design(rows, k, anchors=frozenset()):
    by_item = {}
    for item, rater, *_ in primary_rows(rows):
        by_item.setdefault(item, []).append(rater)
    for item, raters in by_item.items():
        assert len(raters) == len(set(raters)), "a rater twice on an item"
        if item not in anchors:
            assert len(raters) == k
    return by_item


def test_adding_a_rater_moves_only_unseen_work_and_evens_out_loads():
    items, raters = make_items(120), make_raters(4)
    config = PlanConfig(raters_per_item=2, anchor_items=5, seed=3)
    plan = plan_assignments(items, raters, config)
    submitted = np.flatnonzero(plan.positions <= 10)
    started = np.flatnonzero(plan.positions == 11)
    existing = existing_from(plan, submitted=submitted, started=started)
    newcomer = Rater(5000, "emergency", 5)
    result = rebalance_assignments(items, [*raters, newcomer], existing, config)

    assert not set(result.drop.tolist()) & set(np.r_[submitted, started].tolist())
    assert not len(result.withdraw)
    rows = apply(existing, result)
    anchors = set(plan.item_ids[plan.is_anchor].tolist())
    by_item = check_design(rows, 2, anchors)
    assert all(5000 in by_item[a] for a in anchors)
    loads = {}
    for _, rater, *_ in primary_rows(rows):
        loads[rater] = loads.get(rater, 0) + 1
    assert max(loads.values()) - min(loads.values()) <= 1
    # the newcomer's queue starts at 1 and the others' unseen items come after their seen ones
    new_positions = sorted(result.new_positions[result.new_rater_ids == 5000].tolist())
    assert new_positions == list(range(1, len(new_positions) + 1))
    moved = dict(zip(result.moved_rows.tolist(), result.moved_positions.tolist(), strict=True))
    for row, position in moved.items():
        seen_max = plan.positions[np.r_[submitted, started]][plan.rater_ids[np.r_[submitted, started]]
                                                             == plan.rater_ids[row]].max()
        assert position > seen_max


def test_removing_a_rater_withdraws_their_drafts_keeps_their_submissions_and_refills_the_rest():
    items, raters = make_items(100), make_raters(5)
    config = PlanConfig(raters_per_item=2, retest_fraction=0.1, seed=4)
    plan = plan_assignments(items, raters, config)
    leaving = raters[0].id
    mine = np.flatnonzero((plan.rater_ids == leaving) & ~plan.is_repeat)
    mine_sorted = mine[np.argsort(plan.positions[mine])]
    submitted, started = mine_sorted[:4], mine_sorted[4:5]
    existing = existing_from(plan, submitted=submitted, started=started)
    result = rebalance_assignments(items, raters[1:], existing, config)

    assert set(result.withdraw.tolist()) == set(started.tolist())
    assert not set(result.drop.tolist()) & set(submitted.tolist())
    rows = apply(existing, result)
    by_item = check_design(rows, 2)
    assert sum(leaving in r for r in by_item.values()) == 4  # the four submitted ratings still count
    assert all(r[1] != leaving or r[4] == TaskState.SUBMITTED for r in rows)
    loads = {}
    for _, rater, *_ in primary_rows(rows):
        if rater != leaving:
            loads[rater] = loads.get(rater, 0) + 1
    assert max(loads.values()) - min(loads.values()) <= 1


def test_rebalance_assigns_items_that_arrived_after_planning():
    config = PlanConfig(raters_per_item=3, seed=5)
    raters = make_raters(4)
    plan = plan_assignments(make_items(40), raters, config)
    result = rebalance_assignments(make_items(60), raters, existing_from(plan), config)
    check_design(apply(existing_from(plan), result), 3)


def test_rebalance_without_changes_changes_nothing():
    items, raters = make_items(50), make_raters(4)
    config = PlanConfig(raters_per_item=2, anchor_items=3, retest_fraction=0.1, seed=1)
    plan = plan_assignments(items, raters, config)
    assert not rebalance_assignments(items, raters, existing_from(plan), config).changed


def test_withdrawn_items_leave_unseen_queues_only():
    items, raters = make_items(40), make_raters(3)
    config = PlanConfig(raters_per_item=2, seed=2)
    plan = plan_assignments(items, raters, config)
    started = np.flatnonzero(plan.item_ids == 100)[:1]
    existing = existing_from(plan, started=started)
    fewer = Items(items.ids[1:], items.cases[1:], items.task_types[1:])
    result = rebalance_assignments(fewer, raters, existing, config)
    dropped_items = set(existing.item_ids[result.drop].tolist())
    assert dropped_items == {100}
    assert started[0] not in result.drop
