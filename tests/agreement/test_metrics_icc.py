"""Intraclass correlations: Shrout & Fleiss (1979) Table 2 published values, mean squares from a
statsmodels ANOVA, intervals from the published formulas written out here, pingouin reference values,
and the listwise deletion and edge cases."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.formula.api import ols
from statsmodels.stats.anova import anova_lm

from agreement.metrics import (
    REASON_SINGLE_RATER,
    REASON_TOO_FEW_ITEMS,
    STATUS_INSUFFICIENT,
    STATUS_NO_VARIATION,
    STATUS_OK,
    intraclass_correlation,
)

from ._metrics_strategies import FAST

TOL = 1e-9
# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges
SF_1979 = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
# Shrout & Fleiss (1979), Table 4: published estimates (two decimals)
SF_PUBLISHED = {"ICC(1,1)": 0.17, "ICC(2,1)": 0.29, "ICC(3,1)": 0.71, "ICC(1,k)": 0.44, "ICC(2,k)": 0.62,
                "ICC(3,k)": 0.91}
# pingouin 0.6.1 ``intraclass_corr`` on the same data (computed once in a separate environment:
# pingouin pins other numpy/scipy versions); it rounds intervals to two decimals
PINGOUIN = {
    "ICC(1,1)": (0.165741768405, (-0.13, 0.72)), "ICC(2,1)": (0.289763779528, (0.02, 0.76)),
    "ICC(3,1)": (0.714840714841, (0.34, 0.95)), "ICC(1,k)": (0.442797133679, (-0.88, 0.91)),
    "ICC(2,k)": (0.620050547599, (0.07, 0.93)), "ICC(3,k)": (0.909315542377, (0.68, 0.99)),
}


def test_shrout_fleiss_1979_published_estimates_and_mean_squares():
    res = intraclass_correlation(SF_1979)
    forms = res.forms()
    for name, published in SF_PUBLISHED.items():
        assert round(forms[name].value, 2) == published, name
        assert forms[name].status == STATUS_OK
    ms = res.mean_squares  # published: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02
    assert [round(ms[key], 2) for key in ("between_items", "within_items", "between_raters", "residual")] == [
        11.24, 6.26, 32.49, 1.02]
    assert (res.n_items, res.n_raters, res.n_items_dropped) == (6, 4, 0)


def test_shrout_fleiss_1979_matches_pingouin():
    forms = intraclass_correlation(SF_1979).forms()
    for name, (value, (low, high)) in PINGOUIN.items():
        assert forms[name].value == pytest.approx(value, abs=1e-11)
        assert forms[name].ci_low == pytest.approx(low, abs=0.005 + 1e-12)
        assert forms[name].ci_high == pytest.approx(high, abs=0.005 + 1e-12)
    assert forms["ICC(1,1)"].extra["f_statistic"] == pytest.approx(1.794678492239, abs=1e-11)
    assert forms["ICC(2,1)"].extra["p_value"] == pytest.approx(0.000134566516, abs=1e-12)
    assert forms["ICC(2,1)"].extra["mcgraw_wong"] == "ICC(A,1)"
    assert all(c.ci_low <= c.value <= c.ci_high for c in forms.values())


def anova_mean_squares(x):
    """Mean squares from statsmodels' two-way and one-way ANOVA tables on the long format."""
    n, k = x.shape
    long = pd.DataFrame({"score": x.ravel(), "item": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n)})
    two_way = anova_lm(ols("score ~ C(item) + C(rater)", data=long).fit())
    one_way = anova_lm(ols("score ~ C(item)", data=long).fit())
    return {"between_items": two_way.loc["C(item)", "mean_sq"], "between_raters": two_way.loc["C(rater)", "mean_sq"],
            "residual": two_way.loc["Residual", "mean_sq"], "within_items": one_way.loc["Residual", "mean_sq"]}


@np.errstate(invalid="ignore", divide="ignore")
def brute_force_forms(ms, n, k, confidence=0.95):
    """The six estimates and intervals written out from Shrout & Fleiss (1979) and McGraw & Wong (1996)."""
    b, w, j, e = ms["between_items"], ms["within_items"], ms["between_raters"], ms["residual"]
    q = (1 + confidence) / 2
    out = {}
    f1 = b / w
    fl, fu = f1 / stats.f.ppf(q, n - 1, n * (k - 1)), f1 * stats.f.ppf(q, n * (k - 1), n - 1)
    out["ICC(1,1)"] = ((b - w) / (b + (k - 1) * w), (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
    out["ICC(1,k)"] = ((b - w) / b, 1 - 1 / fl, 1 - 1 / fu)
    f3 = b / e
    fl, fu = f3 / stats.f.ppf(q, n - 1, (n - 1) * (k - 1)), f3 * stats.f.ppf(q, (n - 1) * (k - 1), n - 1)
    out["ICC(3,1)"] = ((b - e) / (b + (k - 1) * e), (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
    out["ICC(3,k)"] = ((b - e) / b, 1 - 1 / fl, 1 - 1 / fu)
    rho = (b - e) / (b + (k - 1) * e + k * (j - e) / n)
    # McGraw & Wong (1996) Table 7 form of Satterthwaite's df: v = (aMSC + bMSE)^2 / (...)
    a_ = k * rho / (n * (1 - rho))
    b_ = 1 + k * rho * (n - 1) / (n * (1 - rho))
    v = (a_ * j + b_ * e) ** 2 / ((a_ * j) ** 2 / (k - 1) + (b_ * e) ** 2 / ((n - 1) * (k - 1)))
    fs, fss = stats.f.ppf(q, n - 1, v), stats.f.ppf(q, v, n - 1)
    low = n * (b - fs * e) / (fs * (k * j + (k * n - k - n) * e) + n * b)
    high = n * (fss * b - e) / (k * j + (k * n - k - n) * e + n * fss * b)
    out["ICC(2,1)"] = (rho, low, high)
    # ICC(2,k): the Spearman-Brown step-up of the single-rater estimate and bounds
    out["ICC(2,k)"] = tuple(k * x / (1 + (k - 1) * x) for x in (rho, low, high))
    return out


@given(st.integers(0, 2**32 - 1), st.integers(3, 25), st.integers(2, 6))
@FAST
def test_random_matrices_match_statsmodels_anova_and_the_published_formulas(seed, n, k):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1)) * rng.uniform(0, 2) + rng.normal(size=(1, k)) + rng.normal(size=(n, k))
    res = intraclass_correlation(x, confidence=0.9)
    ms = anova_mean_squares(x)
    for key, value in ms.items():
        assert res.mean_squares[key] == pytest.approx(value, rel=1e-9, abs=1e-12)
    for name, (value, low, high) in brute_force_forms(ms, n, k, 0.9).items():
        coef = res.forms()[name]
        if coef.value is None:  # only ICC(A,k) can have a negative denominator with varying data
            assert name == "ICC(2,k)" and ms["between_items"] + (ms["between_raters"] - ms["residual"]) / n <= 0
            continue
        assert coef.value == pytest.approx(value, rel=1e-8, abs=1e-10), name
        if coef.ci_low is None:  # an infinite F quantile (Satterthwaite df near 0)
            assert not (np.isfinite(low) and np.isfinite(high)) and "ci_undefined" in coef.extra
            continue
        assert coef.ci_low == pytest.approx(low, rel=1e-7, abs=1e-9), name
        assert coef.ci_high == pytest.approx(high, rel=1e-7, abs=1e-9), name


def test_incomplete_items_are_dropped_listwise_and_counted():
    x = np.vstack([SF_1979, [[np.nan, 3, 4, 5], [np.nan] * 4]])
    x = np.column_stack([x, np.full(8, np.nan)])  # a rater who scored nothing
    res = intraclass_correlation(x)
    assert (res.n_items, res.n_items_total, res.n_items_dropped, res.n_raters_dropped) == (6, 8, 2, 1)
    assert res.icc2.value == pytest.approx(intraclass_correlation(SF_1979).icc2.value, abs=TOL)
    assert (res.icc2.n_items, res.icc2.n_items_total, res.icc2.n_ratings, res.icc2.n_ratings_total) == (6, 8, 24, 27)


def test_edge_cases_come_back_as_statuses():
    one_rater = intraclass_correlation([[1.0], [2.0], [3.0]])
    assert one_rater.icc1.status == STATUS_INSUFFICIENT and one_rater.icc1.extra["reason"] == REASON_SINGLE_RATER
    one_item = intraclass_correlation([[1.0, 2.0], [np.nan, 3.0]])
    assert one_item.icc3k.extra["reason"] == REASON_TOO_FEW_ITEMS
    assert intraclass_correlation(np.empty((0, 0))).icc1.extra["reason"] == "empty"
    constant = intraclass_correlation(np.full((5, 3), 4.0))
    assert all(c.status == STATUS_NO_VARIATION and c.value is None for c in constant.forms().values())
    # raters differ by a constant offset and items do not vary: consistency forms undefined, ICC(1,1) = -1/(k-1)
    offsets = np.tile([1.0, 2.0, 3.0], (4, 1))
    res = intraclass_correlation(offsets)
    assert res.icc1.value == pytest.approx(-0.5, abs=TOL)
    assert res.icc3.status == STATUS_NO_VARIATION and res.icc1k.status == STATUS_NO_VARIATION
    # perfect consistency with a rater offset: ICC(3,1) = 1 with the limiting interval [1, 1]
    shifted = np.column_stack([np.arange(6.0), np.arange(6.0) + 2])
    res = intraclass_correlation(shifted)
    assert res.icc3.value == pytest.approx(1.0) and (res.icc3.ci_low, res.icc3.ci_high) == (1.0, 1.0)
    assert res.icc2.value < 1
    # three items, a negative ICC(2,1) and Satterthwaite df near 0: no finite interval, said so
    rng = np.random.default_rng(76394)
    x = rng.normal(size=(3, 1)) * rng.uniform(0, 2) + rng.normal(size=(1, 2)) + rng.normal(size=(3, 2))
    odd = intraclass_correlation(x, confidence=0.9).icc2
    assert odd.ok and odd.ci_low is None and odd.ci_method is None and "ci_undefined" in odd.extra
    assert res.to_dict()["icc2"]["extra"]["form"] == "ICC(2,1)"
    with pytest.raises(ValueError):
        intraclass_correlation([[1.0, np.inf], [2.0, 3.0]])


# --- pinned by mutation testing: what counts as rounding error in the sums of squares --------------

# items + raters, one decimal each: the residual is zero up to rounding (about 1e-31 when computed)
ADDITIVE = np.array([[1.4, 1.0, -0.6], [1.2, 0.8, -0.8], [1.9, 1.5, -0.1], [1.4, 1.0, -0.6], [0.8, 0.4, -1.2],
                     [1.7, 1.3, -0.3]])


def test_rounding_residue_in_a_sum_of_squares_counts_as_zero():
    from agreement.metrics.icc import mean_squares

    assert mean_squares(ADDITIVE)["residual"] == 0.0
    res = intraclass_correlation(ADDITIVE)
    for coef in (res.icc3, res.icc3k):
        assert coef.value == 1.0 and (coef.ci_low, coef.ci_high) == (1.0, 1.0)
        assert coef.extra["f_statistic"] == np.inf and coef.extra["p_value"] == 0.0


def test_a_small_real_interaction_far_from_zero_is_kept():
    # Scores near 1000 with one interaction of 1e-4: its sum of squares (about 5e-9) is small against
    # the sum of squared deviations (15.7) but real, so the consistency ICC stays below 1.
    from agreement.metrics.icc import mean_squares

    x = 1000 + ADDITIVE
    x[0, 0] += 1e-4
    ms = mean_squares(x)
    row, col, grand = x.mean(axis=1), x.mean(axis=0), x.mean()
    residual = ((x - row[:, None] - col[None, :] + grand) ** 2).sum() / 10
    assert ms["residual"] == pytest.approx(residual, rel=1e-6) and ms["residual"] > 0
    res = intraclass_correlation(x)
    assert res.icc3.value < 1 and res.icc3.ci_high < 1


def test_f_test_when_items_do_not_vary_and_the_error_is_zero():
    # Raters differ by a constant, items do not vary: BMS = EMS = 0, the F ratio 0/0 is reported as 0.
    res = intraclass_correlation(np.tile([1.0, 2.0, 3.0], (4, 1)))
    for coef in (res.icc2, res.icc2k):
        assert coef.value == 0.0
        assert (coef.extra["f_statistic"], coef.extra["df1"], coef.extra["df2"], coef.extra["p_value"]) == (
            0.0, 3, 6, 1.0)
        assert coef.extra["satterthwaite_df"] == 6.0


def test_whole_extra_and_invariance_to_the_scale_of_the_scores():
    res = intraclass_correlation(SF_1979)
    assert res.icc3k.extra == {
        "form": "ICC(3,k)", "mcgraw_wong": "ICC(C,k)", "model": "two-way mixed effects, consistency, mean of k raters",
        "f_statistic": pytest.approx(11.027, abs=1e-3), "df1": 5, "df2": 15,
        "p_value": pytest.approx(stats.f.sf(res.icc3k.extra["f_statistic"], 5, 15), abs=TOL)}
    assert max(intraclass_correlation(SF_1979 / 10).mean_squares.values()) < 1
    for factor in (1e-1, 1e-4, 1e4):
        scaled = intraclass_correlation(SF_1979 * factor)
        for field in ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"):
            a, b = getattr(res, field), getattr(scaled, field)
            assert b.status == STATUS_OK and b.value == pytest.approx(a.value, abs=TOL)
            assert (b.ci_low, b.ci_high) == (pytest.approx(a.ci_low, abs=TOL), pytest.approx(a.ci_high, abs=TOL))


def test_undefined_forms_keep_their_names_and_warnings():
    constant = intraclass_correlation(np.full((5, 3), 4.0))
    for field, coef in zip(("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"), constant.forms().values(),
                           strict=True):
        assert (coef.name, coef.status, coef.warnings) == (field, STATUS_NO_VARIATION, ("small_n",))


@pytest.mark.filterwarnings("error")
def test_undefined_absolute_agreement_bounds_raise_no_numpy_warning():
    # Satterthwaite df near 0 (0/0 inside the bounds) and a bound's denominator exactly 0 (x/0)
    rng = np.random.default_rng(76394)
    x = rng.normal(size=(3, 1)) * rng.uniform(0, 2) + rng.normal(size=(1, 2)) + rng.normal(size=(3, 2))
    odd = intraclass_correlation(x, confidence=0.9).icc2
    assert (odd.ci_low, odd.ci_high, odd.ci_level) == (None, None, None)
    assert odd.extra["ci_undefined"] == "an F quantile of the interval is not finite"
    res = intraclass_correlation(np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 1.0]]), confidence=0.5)
    assert res.icc2k.value == 0.0 and res.icc2k.ci_low is None and "ci_undefined" in res.icc2k.extra
    assert (res.icc2.ci_low, res.icc2.ci_high) == (pytest.approx(-1.0, abs=TOL), pytest.approx(0.6, abs=TOL))


def test_interval_methods_and_levels():
    res = intraclass_correlation(SF_1979, confidence=0.8)
    for field in ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"):
        coef = getattr(res, field)
        assert coef.ci_method == ("f_satterthwaite" if field.startswith("icc2") else "f")
        assert coef.ci_level == 0.8 and coef.se is None and "ci_undefined" not in coef.extra
        assert (coef.name, coef.status, coef.warnings) == (field, STATUS_OK, ("small_n",))


def test_input_forms():
    for empty in ([], np.empty(0), [[]]):
        res = intraclass_correlation(empty)
        assert res.icc1.status == STATUS_INSUFFICIENT and res.icc1.extra["reason"] == "empty"
        assert (res.n_items, res.n_raters, res.n_items_total) == (0, 0, len(np.asarray(empty)))
        assert res.n_raters_dropped == 0 and res.n_items_dropped == len(np.asarray(empty))
    with pytest.raises(ValueError, match="^scores must be a 2-D items x raters array$"):
        intraclass_correlation([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="^scores must be a 2-D items x raters array$"):
        intraclass_correlation([5.0])
    with pytest.raises(ValueError, match="^scores must be finite numbers or NaN$"):
        intraclass_correlation([[1.0, -np.inf], [2.0, 3.0]])
    with_none = [[None if np.isnan(v) else v for v in row] for row in np.vstack([SF_1979, [[np.nan, 1, 2, 3]]])]
    assert intraclass_correlation(with_none) == intraclass_correlation(np.vstack([SF_1979, [[np.nan, 1, 2, 3]]]))
    assert intraclass_correlation(SF_1979.astype(int).tolist()) == intraclass_correlation(SF_1979)


def test_no_items_with_declared_raters():
    res = intraclass_correlation(np.empty((0, 3)))
    assert (res.n_items_total, res.n_raters, res.n_raters_dropped) == (0, 0, 3)
    assert res.icc3.extra["reason"] == "empty"


def test_insufficient_results_keep_names_and_totals_and_two_items_suffice():
    res = intraclass_correlation(np.full((3, 2), np.nan))
    assert (res.n_items, res.n_items_total, res.n_items_dropped, res.n_raters_dropped) == (0, 3, 3, 2)
    assert res.mean_squares == {}
    one_item = intraclass_correlation([[1.0, 2.0, 4.0], [np.nan, 3.0, 1.0]])
    for field in ("icc1", "icc2", "icc3", "icc1k", "icc2k", "icc3k"):
        coef = getattr(one_item, field)
        assert (coef.name, coef.extra["reason"], coef.n_items_total, coef.n_ratings_total) == (
            field, REASON_TOO_FEW_ITEMS, 2, 5)
        full = getattr(intraclass_correlation(SF_1979), field).extra
        assert coef.extra == {"reason": REASON_TOO_FEW_ITEMS, "form": full["form"], "mcgraw_wong": full["mcgraw_wong"],
                              "model": full["model"]}
    two = intraclass_correlation([[1.0, 2.0], [3.0, 5.0]])
    assert two.icc3.status == STATUS_OK and two.icc3.value == pytest.approx(6 / 6.5, abs=TOL)  # BMS 6.25, EMS 0.25
