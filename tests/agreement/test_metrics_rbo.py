"""Rank-biased overlap: the paper's properties, the extrapolation and the bounds written out as sums
over depths (brute force), the ``rbo`` package's RBO_ext, and the top-weightness of eq. 21."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreement.metrics import STATUS_INSUFFICIENT, rank_biased_overlap, rbo_top_weight

from ._metrics_strategies import FAST

TOL = 1e-9
DEPTH = 1200  # p**DEPTH is negligible (< 1e-10) for p <= 0.98


def agreement_sum(x_of_depth, p, depth=DEPTH):
    """(1 - p) sum_{d=1}^{depth} p^(d-1) X_d / d."""
    return sum((1 - p) * p ** (d - 1) * x_of_depth(d) / d for d in range(1, depth + 1))


def overlap(a, b, d):
    return len(set(a[:d]) & set(b[:d]))


def overlaps(a, b):
    """X_d for every depth d of two equally long lists, by walking down both."""
    seen_a, seen_b, x, out = set(), set(), 0, [0]
    for item_a, item_b in zip(a, b, strict=True):
        x += (item_a in seen_b) + (item_b in seen_a) + (item_a == item_b)
        seen_a.add(item_a)
        seen_b.add(item_b)
        out.append(x)
    return out


def brute_force(a, b, p):
    """RBO_min, RBO_max and RBO_ext from their definitions, over explicit continuations of the lists."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    s, l = len(short), len(long)  # noqa: E741
    fresh = [("new", i) for i in range(2 * DEPTH)]
    # worst case: both lists continue with items never seen anywhere
    x_worst = overlaps((short + fresh[:DEPTH])[:DEPTH], (long + fresh[DEPTH:])[:DEPTH])
    worst = agreement_sum(lambda d: x_worst[d], p)
    # best case: the short list continues with the long list's unmatched items, then both with the same new ones
    unmatched = [item for item in long if item not in short]
    best_short = short + unmatched
    rest = [item for item in best_short if item not in long]
    best_long = long + rest
    n = max(len(best_short), len(best_long))
    best_short, best_long = best_short + fresh[: n - len(best_short)], best_long + fresh[: n - len(best_long)]
    tail = fresh[n : n + DEPTH]
    x_best = overlaps((best_short + tail)[:DEPTH], (best_long + tail)[:DEPTH])
    best = agreement_sum(lambda d: x_best[d], p)
    # extrapolation: the short list's unseen items agree at rate X_s / s, then agreement stays at its depth-l level
    x_s = overlap(short, long, s)

    def x_ext(d):
        if d <= s:
            return overlap(short, long, d)
        if d <= l:
            return len(set(short) & set(long[:d])) + (d - s) * x_s / s
        return x_ext(l) * d / l

    return worst, best, agreement_sum(x_ext, p)


ITEMS = st.lists(st.integers(0, 14), unique=True, min_size=1, max_size=10)


@given(ITEMS, ITEMS, st.sampled_from([0.5, 0.8, 0.9, 0.95]))
@FAST
def test_bounds_and_extrapolation_match_their_definitions(a, b, p):
    res = rank_biased_overlap(a, b, p=p)
    worst, best, ext = brute_force(a, b, p)
    assert res.rbo_min == pytest.approx(worst, abs=1e-9)
    assert res.rbo_max == pytest.approx(best, abs=1e-9)
    assert res.value == pytest.approx(ext, abs=1e-9)
    assert res.rbo_min - TOL <= res.value <= res.rbo_max + TOL
    assert res.rbo_res == pytest.approx(res.rbo_max - res.rbo_min, abs=TOL)
    assert rank_biased_overlap(b, a, p=p).value == pytest.approx(res.value, abs=TOL)  # symmetric


# RankingSimilarity(S, T).rbo_ext(p) of the ``rbo`` package 0.1.3 (Eq. 32), computed once in a separate
# environment (it pins numpy 1.26)
RBO_PACKAGE = [
    ("abcdefg", "bacdxeyz", 0.9, 0.7251962142857143),
    ("abcdefghij", "jihgfedcba", 0.9, 0.5116075656428573),
    ("abcd", "axbycz", 0.8, 0.6923306666666666),
    ("abcdefghijklmnop", "bdacfhegjlikmnxyzop", 0.95, 0.8652424842030657),
]


@pytest.mark.parametrize(("a", "b", "p", "expected"), RBO_PACKAGE)
def test_extrapolation_matches_the_rbo_package(a, b, p, expected):
    assert rank_biased_overlap(list(a), list(b), p=p).value == pytest.approx(expected, abs=1e-12)


def test_paper_properties():
    same = rank_biased_overlap("abcdefgh", "abcdefgh", p=0.9)
    assert same.value == 1.0 and same.rbo_max == 1.0
    # identical prefixes: the minimum is the weight of the evaluated depth (nothing deeper matches)
    assert same.rbo_min == pytest.approx(rbo_top_weight(0.9, 8), abs=TOL)
    disjoint = rank_biased_overlap("abc", "xyz", p=0.9)
    assert disjoint.value == 0.0 and disjoint.rbo_min == 0.0 and disjoint.rbo_max > 0
    # top-weighted: a swap at the top costs more than the same swap at the bottom
    top = rank_biased_overlap("abcdef", "bacdef", p=0.9).value
    bottom = rank_biased_overlap("abcdef", "abcdfe", p=0.9).value
    assert top < bottom < 1
    # the residual shrinks as the evaluated depth grows
    assert rank_biased_overlap("abcdefghij", "abcdefghij").rbo_res < same.rbo_res


def test_top_weightness_of_eq_21():
    # the paper: p = 0.9 puts 86 % of the weight on the top 10 ranks, p = 0.98 on the top 50
    assert round(rbo_top_weight(0.9, 10), 2) == 0.86
    assert round(rbo_top_weight(0.98, 50), 2) == 0.85  # 0.852: "about 86 %" in the paper's text
    for p, d in ((0.9, 10), (0.5, 3), (0.98, 50)):
        brute = sum((1 - p) / p * sum(p**j / j for j in range(i, DEPTH)) for i in range(1, d + 1))
        assert rbo_top_weight(p, d) == pytest.approx(brute, abs=1e-9)
    assert rbo_top_weight(0.9, 1) == pytest.approx((1 - 0.9) / 0.9 * math.log(1 / (1 - 0.9)), abs=TOL)


def test_edge_cases():
    empty = rank_biased_overlap([], ["a"])
    assert empty.status == STATUS_INSUFFICIENT and empty.value is None and empty.extra["reason"] == "empty"
    with pytest.raises(ValueError, match="twice"):
        rank_biased_overlap(["a", "b", "a"], ["a"])
    with pytest.raises(ValueError, match="p must"):
        rank_biased_overlap(["a"], ["a"], p=1.0)
    assert rank_biased_overlap(np.array(["x", "y"]), ["y", "x"]).to_dict()["overlap"] == 2


def test_a_prefix_of_the_other_ranking_extrapolates_to_one_never_above():
    # 11 items that head a list of 16: the sums add up to 1 + 2e-16 before the bounds are clipped
    res = rank_biased_overlap(list(range(11)), list(range(16)), p=0.8)
    assert (res.value, res.rbo_max) == (1.0, 1.0)
    assert res.rbo_min == pytest.approx(brute_force(list(range(11)), list(range(16)), 0.8)[0], abs=1e-9)


def test_whole_results():
    res = rank_biased_overlap("abcd", "axbycz", p=0.8)
    worst, best, ext = brute_force(list("abcd"), list("axbycz"), 0.8)
    assert res.to_dict() == {
        "status": "ok", "value": pytest.approx(ext, abs=1e-9), "rbo_min": pytest.approx(worst, abs=1e-9),
        "rbo_max": pytest.approx(best, abs=1e-9), "rbo_res": pytest.approx(best - worst, abs=1e-9), "p": 0.8,
        "len_a": 4, "len_b": 6, "overlap": 3, "extra": {"top_weight_of_evaluated_depth": rbo_top_weight(0.8, 4)},
    }
    assert rank_biased_overlap("axbycz", "abcd", p=0.8).to_dict()["len_a"] == 6
    empty = rank_biased_overlap(["a", "b"], [], p=0.7)
    assert empty.to_dict() == {"status": STATUS_INSUFFICIENT, "value": None, "rbo_min": None, "rbo_max": None,
                               "rbo_res": None, "p": 0.7, "len_a": 2, "len_b": 0, "overlap": 0,
                               "extra": {"reason": "empty"}}


def test_messages_and_the_open_range_of_p():
    for p in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match=r"^p must lie strictly between 0 and 1$"):
            rank_biased_overlap(["a"], ["a"], p=p)
        with pytest.raises(ValueError, match=r"^p must lie strictly between 0 and 1$"):
            rbo_top_weight(p, 3)
    for a, b, name in ((["a", "a"], ["a"], "ranking_a"), (["a"], ["b", "a", "b"], "ranking_b")):
        with pytest.raises(ValueError, match=rf"^{name} holds an item twice; RBO compares rankings of distinct items"):
            rank_biased_overlap(a, b)
    assert rbo_top_weight(0.9, 0) == 0.0  # no rank evaluated, no weight
