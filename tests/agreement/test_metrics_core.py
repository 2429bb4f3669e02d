"""Input validation, category counts, weight matrices and edge-case results shared by the metric modules."""

import warnings

import numpy as np
import pytest

from agreement.metrics._core import (
    agreement_weights,
    as_matrix,
    as_vector,
    category_counts,
    insufficient,
    rater_count,
    size_warnings,
)

nan = np.nan


def test_as_matrix_takes_none_as_missing_and_an_empty_input_as_no_items():
    np.testing.assert_array_equal(as_matrix([[0, None], [2, 1]], 3), [[0, nan], [2, 1]])
    for empty in ([], np.zeros(0)):
        assert as_matrix(empty, 3).shape == (0, 0)
    assert as_matrix(np.zeros((0, 4)), 3).shape == (0, 4)
    for bad in ([1], [0, 1], np.zeros((2, 2, 2))):
        with pytest.raises(ValueError, match="^ratings must be a 2-D items x raters array$"):
            as_matrix(bad, 3)


def test_as_vector_flattens_and_takes_none_as_missing():
    np.testing.assert_array_equal(as_vector([[0, 1], [1, 0]]), [0, 1, 1, 0])
    np.testing.assert_array_equal(as_vector([0, None], 2), [0, nan])
    assert as_vector([1, None]).dtype == float
    with pytest.raises(ValueError, match=r"^ratings must be category indices 0\.\.1 or NaN$"):
        as_vector([0, 2], 2)


def test_agreement_weights_validate_the_name_and_give_one_category_full_agreement():
    with pytest.raises(ValueError, match=r"^weights must be one of \(None, 'linear', 'quadratic'\), not 'cubic'$"):
        agreement_weights(3, "cubic")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weights in (None, "linear", "quadratic"):
            np.testing.assert_array_equal(agreement_weights(1, weights), [[1.0]])
    np.testing.assert_array_equal(agreement_weights(3, "linear"), [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]])


def test_category_counts_are_integer_counts_per_item():
    ratings = np.array([[0, 2, 2, nan], [nan, nan, nan, nan], [1, 1, 0, 2]])
    counts = category_counts(ratings, 3)
    np.testing.assert_array_equal(counts, [[1, 0, 2], [0, 0, 0], [1, 2, 1]])
    assert np.issubdtype(counts.dtype, np.integer)
    np.testing.assert_array_equal(category_counts(ratings[:, ::2], 3), [[1, 0, 1], [0, 0, 0], [1, 1, 0]])  # a view
    for empty in (np.zeros((0, 4)), np.zeros((3, 0)), np.full((2, 3), nan)):
        np.testing.assert_array_equal(category_counts(empty, 3), np.zeros((empty.shape[0], 3)))


@pytest.mark.parametrize("seed", range(5))
def test_category_counts_equal_a_comparison_per_category(seed):
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 4, (300, 7)).astype(float)
    ratings[rng.random(ratings.shape) < 0.7] = nan
    expected = np.stack([np.count_nonzero(ratings == c, axis=1) for c in range(4)], axis=1)
    np.testing.assert_array_equal(category_counts(ratings, 4), expected)


def test_rater_count_counts_columns_with_a_rating():
    assert rater_count(np.array([[1.0]])) == 1
    assert rater_count(np.array([[nan]])) == 0
    assert rater_count(np.zeros((0, 3))) == 0
    assert rater_count(np.array([[0, nan, nan], [nan, nan, 1]])) == 2


def test_insufficient_keeps_the_sizes_it_is_given():
    res = insufficient("x", "no_overlap", n_items_total=5, n_ratings_total=9, n_items=2, n_ratings=4)
    assert (res.n_items, res.n_ratings, res.n_items_total, res.n_ratings_total) == (2, 4, 5, 9)
    bare = insufficient("x", "empty", n_items_total=0, n_ratings_total=0)
    assert (bare.n_items, bare.n_ratings, bare.extra) == (0, 0, {"reason": "empty"})


def test_fewer_than_ten_items_warn_of_a_small_sample():
    assert (size_warnings(9), size_warnings(10)) == (("small_n",), ())
