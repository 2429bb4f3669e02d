"""Hypothesis strategies shared by the agreement.metrics tests: random items x raters matrices."""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

FAST = settings(max_examples=60, deadline=None)


@st.composite
def rating_matrices(draw, *, min_raters=2, max_raters=5, max_items=30, complete=False, max_k=5):
    """(ratings, K): category indices with NaN for missing; sometimes only a few categories used."""
    k = draw(st.integers(2, max_k))
    n_items = draw(st.integers(1, max_items))
    n_raters = draw(st.integers(min_raters, max_raters))
    used = draw(st.integers(1, k))  # a small `used` exercises the no-variation paths
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    offset = draw(st.integers(0, k - used))
    ratings = (rng.integers(0, used, (n_items, n_raters)) + offset).astype(float)
    if draw(st.booleans()):  # correlated raters so that kappa is not always near 0
        ratings[:, 1:] = np.where(rng.random((n_items, n_raters - 1)) < 0.6, ratings[:, :1], ratings[:, 1:])
    if not complete:
        ratings[rng.random((n_items, n_raters)) < draw(st.sampled_from([0.0, 0.2, 0.5]))] = np.nan
    return ratings, k
