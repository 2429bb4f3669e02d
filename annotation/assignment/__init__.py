"""The assignment planner: pure functions over plain data (no ORM), so it is fast and testable alone.

`plan_assignments` builds a study's first plan; `rebalance_assignments` adjusts a running one.
`annotation.services.assignments` turns both into database rows.
"""
from .eligibility import eligibility_validate, eligible_mask
from .planner import plan_assignments
from .rebalance import Existing, Rebalance, TaskState, rebalance_assignments
from .strategies import STRATEGIES, AssignmentStrategy, strategy_create
from .types import Items, Plan, PlanConfig, PlanError, Rater, StrategyName, pair_overlap

__all__ = [
    "STRATEGIES", "AssignmentStrategy", "Existing", "Items", "Plan", "PlanConfig", "PlanError", "Rater",
    "Rebalance", "StrategyName", "TaskState", "eligibility_validate", "eligible_mask", "plan_assignments",
    "pair_overlap", "rebalance_assignments", "strategy_create",
]
