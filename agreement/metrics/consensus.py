"""The clinicians' consensus category of an item, with a stated tie rule and rules valid for the scale.

Consensus rules (``method``) and the scales they are valid for (``scale``):

* ``"majority"``: the modal category. Valid on every scale (the mode needs no order).
* ``"median"``: the median category index. Needs an order: ordinal or interval scales.
* ``"mean"``: the mean category index rounded to the nearest category. Treats the categories as
  equally spaced, which is an interval assumption; it is allowed on ordinal scales too because that
  is how Likert consensus is usually formed, and the result records the scale it was computed on.

A median or mean of nominal categories is meaningless, so ``consensus_validity`` refuses it and
callers return status ``invalid_for_scale`` instead of a number. ``scale=None`` (undeclared) skips
the check, for callers that predate it.

Ties, with the rule that settles them (``tie``):

* majority: two or more categories share the top count (e.g. 2 vs 2 of four clinicians);
* median: an even number of ratings whose two middle values differ (the median falls between two
  categories);
* mean: the mean lies exactly halfway between two categories.

``"exclude"`` leaves the item without a consensus (it drops out of the comparison); ``"lower"`` /
``"higher"`` take the lower / higher of the tied categories (ordered scales only: on a nominal scale
"lower" has no meaning and is refused like a median); ``"random"`` draws one of the tied categories
with ``numpy.random.default_rng(seed)``, in item order, so a seed always gives the same consensus.
Whatever the rule, the number of tied items is returned and reported, so ties are never dropped
silently. The default (``tie=None``) is the rule of earlier versions: ``"exclude"`` for majority and
``"higher"`` (round half up) for median and mean.

An item with a single rating takes that rating; an item with none has no consensus.
"""

from __future__ import annotations

import numpy as np

from ._core import as_matrix, category_counts

CONSENSUS = ("majority", "median", "mean")
SCALES = ("nominal", "ordinal", "interval")
TIE_RULES = ("exclude", "lower", "higher", "random")
DEFAULT_TIE = {"majority": "exclude", "median": "higher", "mean": "higher"}
_ORDERED = ("ordinal", "interval")

REASON_CONSENSUS_NEEDS_ORDER = "consensus_needs_ordered_scale"
REASON_TIE_RULE_NEEDS_ORDER = "tie_rule_needs_ordered_scale"


def check_options(method: str, tie: str | None, scale: str | None) -> str:
    """Validate the option names (ValueError on a typo) and return the tie rule in force."""
    if method not in CONSENSUS:
        raise ValueError(f"consensus must be one of {CONSENSUS}, not {method!r}")
    if tie is not None and tie not in TIE_RULES:
        raise ValueError(f"tie must be one of {TIE_RULES}, not {tie!r}")
    if scale is not None and scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    return DEFAULT_TIE[method] if tie is None else tie


def consensus_validity(method: str, scale: str | None, tie: str | None = None) -> str | None:
    """Why ``method`` with ``tie`` is not valid on ``scale`` (a reason string), or None when it is."""
    rule = check_options(method, tie, scale)
    if scale is None or scale in _ORDERED:
        return None
    if method != "majority":
        return REASON_CONSENSUS_NEEDS_ORDER
    if rule in ("lower", "higher"):
        return REASON_TIE_RULE_NEEDS_ORDER
    return None


def _settle(low: np.ndarray, high: np.ndarray, rule: str, rng: np.random.Generator) -> np.ndarray:
    """One category per tied item between candidates ``low`` and ``high`` (NaN for ``exclude``)."""
    if rule == "lower":
        return low
    if rule == "higher":
        return high
    if rule == "random":
        return np.where(rng.random(low.size) < 0.5, low, high)
    return np.full(low.size, np.nan)


def _majority(ratings: np.ndarray, k: int, has: np.ndarray, rule: str, rng) -> tuple[np.ndarray, np.ndarray]:
    counts = category_counts(ratings, k)
    is_top = (counts == counts.max(axis=1, keepdims=True)) & has[:, None]
    tied = has & (is_top.sum(axis=1) > 1)
    out = np.where(has, counts.argmax(axis=1), np.nan).astype(float)
    if tied.any():
        top = is_top[tied]
        if rule == "random":  # any of the tied categories, not only the extremes
            pick = rng.random(top.shape) * top
            out[tied] = pick.argmax(axis=1)
        else:
            low = top.argmax(axis=1).astype(float)
            high = (k - 1 - top[:, ::-1].argmax(axis=1)).astype(float)
            out[tied] = _settle(low, high, rule, rng)
    return out, tied


def _centre(ratings: np.ndarray, has: np.ndarray, method: str, rule: str, rng) -> tuple[np.ndarray, np.ndarray]:
    out = np.full(ratings.shape[0], np.nan)
    tied = np.zeros(ratings.shape[0], dtype=bool)
    if not has.any():
        return out, tied
    x = ratings[has]
    if method == "median":
        value = np.nanmedian(x, axis=1)
        half = value != np.floor(value)  # the two middle values differ
    else:
        total = np.nansum(x, axis=1)
        count = np.count_nonzero(~np.isnan(x), axis=1)
        value = total / count
        half = 2 * total == (2 * np.floor(value) + 1) * count  # exact: sums of small integers
    centre = np.floor(value + 0.5)
    if half.any():
        centre[half] = _settle(np.floor(value[half]), np.ceil(value[half]), rule, rng)
    out[has] = centre
    tied[has] = half
    return out, tied


def consensus_ratings(ratings: np.ndarray, k: int, method: str, *, tie: str | None = None,
                      seed: int | None = 0) -> tuple[np.ndarray, int]:
    """Per-item consensus category (NaN where none) and the number of tied items.

    ``method``: ``"majority"``, ``"median"`` or ``"mean"``; ``tie``: ``"exclude"``, ``"lower"``,
    ``"higher"``, ``"random"`` or None (majority: exclude; median/mean: higher, i.e. round half up).
    The tied count covers every item whose consensus needed the tie rule, kept or excluded. This
    function does not know the scale: check ``consensus_validity`` first.
    """
    out, tied = consensus_with_ties(as_matrix(ratings, k), k, method, tie=tie, seed=seed)
    return out, int(tied.sum())


def consensus_with_ties(ratings: np.ndarray, k: int, method: str, *, tie: str | None = None,
                        seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """As ``consensus_ratings``, with the per-item tie mask instead of its count, on ratings already validated
    (``as_matrix``)."""
    rule = check_options(method, tie, None)
    rng = np.random.default_rng(seed)
    has = (~np.isnan(ratings)).any(axis=1) if ratings.size else np.zeros(ratings.shape[0], dtype=bool)
    if method == "majority":
        return _majority(ratings, k, has, rule, rng)
    return _centre(ratings, has, method, rule, rng)
