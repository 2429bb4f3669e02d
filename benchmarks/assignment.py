"""Benchmark: planning 100,000 responses x 3 clinicians with the vectorised planner.

Responses come in cases of 24 (personas x models, like the study grid), two task types; 20 clinicians.
Scenarios: the plain balanced design; the full reliability design (30 anchor items, 5 % test-retest
repeats, triage restricted to emergency / critical-care clinicians with 2+ years); and the pairwise
guarantee (10 shared items for every pair). Each is timed (median of --repeats runs) and checked:
loads, k distinct raters per item, smallest pair overlap, same-case neighbours in the queues.

Baseline, in the same run: a straightforward pure-Python planner (for each item, the k least-loaded
clinicians by a heap; then a shuffle of each queue), i.e. what one writes without numpy. It does
less (no anchors, repeats, eligibility or case spacing), so the comparison flatters it.

    .venv/bin/python benchmarks/assignment.py            # full size, writes benchmarks/results/assignment.json
    .venv/bin/python benchmarks/assignment.py --quick    # 10,000 responses
"""
from __future__ import annotations

import argparse
import heapq
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annotation.assignment import Items, PlanConfig, Rater, StrategyName, plan_assignments  # noqa: E402

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "assignment.json"
PER_CASE = 24


def make_inputs(n_items: int, n_raters: int) -> tuple[Items, list[Rater]]:
    cases = np.arange(n_items) // PER_CASE
    task_types = np.where(cases % 3 == 0, "triage", "patient_safety").astype(object)
    specialties = ["emergency", "critical_care", "primary_care", "nursing"]
    raters = [Rater(1000 + i, specialties[i % 4], 1 + (i * 7) % 15) for i in range(n_raters)]
    return Items(np.arange(1, n_items + 1, dtype=np.int64), cases, task_types), raters


def naive_plan(items: Items, raters: list[Rater], k: int, seed: int) -> dict[int, list[int]]:
    rng = random.Random(seed)
    heap = [(0, rng.random(), r.id) for r in raters]
    heapq.heapify(heap)
    queues: dict[int, list[int]] = {r.id: [] for r in raters}
    for item in items.ids.tolist():
        chosen = [heapq.heappop(heap) for _ in range(k)]
        for load, _, rater in chosen:
            queues[rater].append(item)
            heapq.heappush(heap, (load + 1, rng.random(), rater))
    for queue in queues.values():
        rng.shuffle(queue)
    return queues


def check(plan, items: Items, k: int) -> dict:
    primary = ~plan.is_repeat
    loads = np.array(list(plan.loads().values()))
    item_rows = plan.item_ids[primary]
    rater_rows = plan.rater_ids[primary]
    pairs = np.unique(np.stack([item_rows, rater_rows]), axis=1).shape[1]
    _, overlap = plan.pair_overlap()
    off_diagonal = overlap[~np.eye(len(overlap), dtype=bool)]
    order = np.lexsort((plan.positions, plan.rater_ids))
    case_of = items.cases[np.searchsorted(items.ids, plan.item_ids[order])]
    same_rater = plan.rater_ids[order][1:] == plan.rater_ids[order][:-1]
    back_to_back = int(np.count_nonzero(same_rater & (case_of[1:] == case_of[:-1])))
    anchors = np.unique(plan.item_ids[plan.is_anchor])
    counts = np.bincount(np.searchsorted(items.ids, item_rows), minlength=len(items))
    non_anchor = ~np.isin(items.ids, anchors)
    return {
        "assignments": len(plan), "repeats": int(np.count_nonzero(plan.is_repeat)), "anchors": len(anchors),
        "min_load": int(loads.min()), "max_load": int(loads.max()),
        "no_rater_twice_on_an_item": pairs == len(item_rows),
        "every_item_has_k_raters": bool(np.all(counts[non_anchor] == k)),
        "min_pair_overlap": int(off_diagonal.min()), "max_pair_overlap": int(off_diagonal.max()),
        "same_case_back_to_back": back_to_back,
    }


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if args.quick:
        args.items, args.repeats = 10_000, 1
    items, raters = make_inputs(args.items, args.raters)
    scenarios = {
        "balanced": PlanConfig(raters_per_item=args.k, seed=1),
        "anchors_retest_eligibility": PlanConfig(
            raters_per_item=args.k, seed=1, anchor_items=30, retest_fraction=0.05,
            eligibility={"triage": {"specialties": ["emergency", "critical_care"], "min_years": 2}},
        ),
        "pairwise_10": PlanConfig(raters_per_item=args.k, seed=1, strategy=StrategyName.PAIRWISE, min_pair_overlap=10),
    }
    results = {}
    for name, config in scenarios.items():
        seconds, plan = timed(lambda config=config: plan_assignments(items, raters, config), args.repeats)
        results[name] = {"seconds": round(seconds, 3), **check(plan, items, args.k)}
        print(f"{name:28s} {seconds:7.2f} s  {results[name]}")
    naive_seconds, queues = timed(lambda: naive_plan(items, raters, args.k, 1), args.repeats)
    naive_loads = [len(q) for q in queues.values()]
    print(f"{'naive pure-Python baseline':28s} {naive_seconds:7.2f} s  loads {min(naive_loads)}-{max(naive_loads)}")
    out = {
        "benchmark": "assignment planner",
        "items": args.items, "raters": args.raters, "raters_per_item": args.k, "responses_per_case": PER_CASE,
        "repeats_timed": args.repeats,
        "scenarios": results,
        "baseline_naive_python": {"seconds": round(naive_seconds, 3), "min_load": min(naive_loads),
                                  "max_load": max(naive_loads),
                                  "note": "heap of least-loaded raters per item + queue shuffle; no anchors, "
                                          "repeats, eligibility or case spacing"},
        "speedup_balanced_vs_naive": round(naive_seconds / results["balanced"]["seconds"], 2),
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "processor": platform.machine()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
