"""Sample-size planning: closed forms against published values and independent code, simulated widths
against independent simulations run through the public metric functions, and the edge cases."""
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from agreement.metrics import cohen_kappa, fleiss_kappa, gwet_ac, pairwise_cohen_kappa
from agreement.metrics import sample_size as ss
from agreement.metrics.kappa import kappa_from_tables
from agreement.metrics.sample_size import (
    MAX_ITEMS,
    MIN_ITEMS,
    PlanInputError,
    design_width,
    kappa_test_sample_size,
    kappa_variance,
    raters_for_width,
    sample_size_for_width,
)

Z95 = stats.norm.ppf(0.975)


def _studies(rng, reps, n, m, prevalence, kappa, pool=None):
    """Independent generator of the rating model: (reps, n, pool) with NaN where a rater was not assigned.

    Each item has a true class; each of its raters reports it with probability sqrt(kappa), otherwise a
    category drawn from the prevalence. With a pool, the item's raters are m distinct columns at random.
    """
    pool = pool or m
    k = len(prevalence)
    cdf = np.cumsum(prevalence)
    truth = np.minimum(np.searchsorted(cdf, rng.random((reps, n, 1))), k - 1)
    noise = np.minimum(np.searchsorted(cdf, rng.random((reps, n, m))), k - 1)
    ratings = np.where(rng.random((reps, n, m)) < math.sqrt(kappa), truth, noise).astype(float)
    if pool == m:
        return ratings
    out = np.full((reps, n, pool), np.nan)
    columns = np.argsort(rng.random((reps, n, pool)), axis=-1)[..., :m]
    np.put_along_axis(out, columns, ratings, axis=-1)
    return out


def _coefficients(studies, k, statistic):
    """Fleiss' kappa, AC1 or Light's average of every study at once, written out here from the textbook
    formulas (Fleiss 1971; Gwet 2008; Cohen 1960 per pair) on the items x raters matrices (NaN: not rated)."""
    rated = ~np.isnan(studies)
    if statistic == "average_cohen_kappa":
        reps, n, pool = studies.shape
        values = np.zeros((reps, 0))
        for a in range(pool):
            for b in range(a + 1, pool):
                both = rated[..., a] & rated[..., b]
                cells = np.where(both, np.nan_to_num(studies[..., a]) * k + np.nan_to_num(studies[..., b]), -1)
                codes = np.where(cells >= 0, cells + np.arange(reps)[:, None] * k * k, reps * k * k).astype(int)
                tables = np.bincount(codes.ravel(), minlength=reps * k * k + 1)[:-1].reshape(reps, k, k)
                total = tables.sum(axis=(1, 2))
                with np.errstate(invalid="ignore", divide="ignore"):
                    p_o = np.trace(tables, axis1=1, axis2=2) / total
                    p_e = (tables.sum(axis=2) * tables.sum(axis=1)).sum(axis=1) / total**2
                    kappa = np.where(p_e < 1, (p_o - p_e) / (1 - p_e), np.nan)
                values = np.column_stack([values, kappa])
        return np.nanmean(values, axis=1)
    counts = np.stack([(studies == c).sum(axis=2) for c in range(k)], axis=2).astype(float)
    r = counts.sum(axis=2)
    p_a = ((counts * (counts - 1)).sum(axis=2) / (r * (r - 1))).mean(axis=1)
    pi = (counts / r[..., None]).mean(axis=1)
    if statistic == "fleiss_kappa":
        p_e = (pi**2).sum(axis=1)
    else:
        p_e = (pi * (1 - pi)).sum(axis=1) / (k - 1)
    return (p_a - p_e) / (1 - p_e)


def _sd_width(values):
    values = np.asarray(values, float)
    return 2 * Z95 * np.std(values[np.isfinite(values)], ddof=1)


# ------------------------------------------------------------------------------------------ closed form


@pytest.mark.parametrize("kappa", [0.0, 0.3, 0.6, 0.9])
@pytest.mark.parametrize("pi", [0.1, 0.3, 0.5])
def test_binary_variance_is_the_fleiss_levin_paik_formula(kappa, pi):
    # Fleiss, Levin & Paik (2003) ch. 18 / Bloch & Kraemer (1989), equal margins
    expected = (1 - kappa) * ((1 - kappa) * (1 - 2 * kappa) + kappa * (2 - kappa) / (2 * pi * (1 - pi)))
    assert kappa_variance(kappa, [pi, 1 - pi]) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("prevalence", [[0.2, 0.5, 0.3], [0.1, 0.2, 0.3, 0.4], [0.6, 0.4]])
def test_variance_equals_statsmodels_on_the_model_table(prevalence):
    table = ss.model_table(0.55, prevalence) * 1000
    result = sm_cohens_kappa(table)
    assert result["kappa"] == pytest.approx(0.55, abs=1e-12)
    assert kappa_variance(0.55, prevalence) == pytest.approx(result["var_kappa"] * 1000, rel=1e-9)


def test_cantor_sample_size_from_the_variance_is_the_published_96():
    # irr::N.cohen.kappa(0.5, 0.5, 0.7, 0.85), one-sided alpha 0.05, power 0.8 (Cantor 1996): [1] 96
    q0, q1 = kappa_variance(0.85, [0.5, 0.5]), kappa_variance(0.7, [0.5, 0.5])
    n = ((stats.norm.ppf(0.95) * math.sqrt(q0) + stats.norm.ppf(0.8) * math.sqrt(q1)) / (0.7 - 0.85)) ** 2
    assert math.ceil(n) == 96


def test_closed_form_sample_size_is_the_smallest_n_under_the_width():
    plan = sample_size_for_width(statistic="cohen_kappa", expected=0.6, prevalence=[0.3, 0.7], width=0.2)
    v = kappa_variance(0.6, [0.3, 0.7])
    assert plan.design.method == "closed_form" and plan.design.interval_method == "wald_fce_1969"
    assert 2 * Z95 * math.sqrt(v / plan.n_items) <= 0.2 < 2 * Z95 * math.sqrt(v / (plan.n_items - 1))
    assert plan.design.width == pytest.approx(2 * Z95 * math.sqrt(v / plan.n_items))
    assert not plan.capped and not plan.floored and plan.messages == ()


@pytest.mark.parametrize(("kappa", "prevalence", "width"), [
    (0.6, [0.3, 0.7], 0.2),
    (0.4, [0.15, 0.85], 0.3),
    (0.7, [0.2, 0.5, 0.3], 0.15),
])
def test_closed_form_width_matches_the_simulated_sd_within_10_percent(kappa, prevalence, width):
    plan = sample_size_for_width(statistic="cohen_kappa", expected=kappa, prevalence=prevalence, width=width)
    rng = np.random.default_rng(7)
    tables = rng.multinomial(plan.n_items, ss.model_table(kappa, prevalence).ravel(), size=4000)
    res = kappa_from_tables(tables.reshape(-1, len(prevalence), len(prevalence)).astype(float), None)
    simulated = _sd_width(res["kappa"])
    assert plan.design.width == pytest.approx(simulated, rel=0.10)


def test_closed_form_width_matches_cohen_kappa_on_simulated_ratings():
    plan = sample_size_for_width(statistic="average_cohen_kappa", expected=0.5, prevalence=[0.25, 0.75], width=0.25)
    assert plan.design.method == "closed_form"
    studies = _studies(np.random.default_rng(3), 600, plan.n_items, 2, [0.25, 0.75], 0.5)
    values = [cohen_kappa(s[:, 0], s[:, 1], labels=range(2), n_boot=0).value for s in studies]
    assert plan.design.width == pytest.approx(_sd_width(values), rel=0.10)


# ------------------------------------------------------------------------------------------ simulation


def test_simulated_values_are_the_public_functions_values():
    rng = np.random.default_rng(11)
    x = ss._ratings(rng, 3, 40, 4, np.array([0.2, 0.5, 0.3]), 0.7)
    ns = np.array([10, 25, 40])
    fleiss = ss._pooled_values(x, 3, "fleiss", ns)
    ac1 = ss._pooled_values(x, 3, "gwet", ns)
    light = ss._pairwise_values(x, 3, 4, rng, ns)
    for r in range(3):
        for j, n in enumerate(ns):
            matrix = x[r, :n].astype(float)
            assert fleiss[r, j] == pytest.approx(fleiss_kappa(matrix, labels=range(3), n_boot=0).value, abs=1e-12)
            assert ac1[r, j] == pytest.approx(gwet_ac(matrix, labels=range(3), n_boot=0).value, abs=1e-12)
            average = pairwise_cohen_kappa(matrix, labels=range(3), n_boot=0).average.value
            assert light[r, j] == pytest.approx(average, abs=1e-12)


def test_pooled_design_spreads_items_over_the_raters_like_the_public_average():
    rng = np.random.default_rng(5)
    x = ss._ratings(rng, 2, 60, 2, np.array([0.4, 0.6]), 0.5)
    light = ss._pairwise_values(x, 2, 5, np.random.default_rng(9), np.array([60]))
    raters = ss._draw_raters(np.random.default_rng(9), x.shape, 5)
    assert np.all(raters[..., 0] < raters[..., 1]) and raters.max() < 5
    for r in range(2):
        matrix = np.full((60, 5), np.nan)
        np.put_along_axis(matrix, raters[r], x[r].astype(float), axis=1)
        expected = pairwise_cohen_kappa(matrix, labels=range(2), n_boot=0).average.value
        assert light[r, 0] == pytest.approx(expected, abs=1e-12)


def test_the_model_gives_the_expected_value_on_average():
    # the mean of the simulated estimates over many large studies is the planned value (AC1 through kappa)
    prevalence = [0.1, 0.3, 0.6]
    studies = _studies(np.random.default_rng(2), 200, 500, 3, prevalence, ss.model_kappa("gwet_ac1", 0.7, prevalence))
    ac1 = [gwet_ac(s, labels=range(3), n_boot=0).value for s in studies[:100]]
    assert np.mean(ac1) == pytest.approx(0.7, abs=0.01)
    studies = _studies(np.random.default_rng(4), 100, 500, 3, prevalence, 0.45)
    assert np.mean([fleiss_kappa(s, labels=range(3), n_boot=0).value for s in studies]) == pytest.approx(0.45, abs=0.01)


CASES = [  # statistic, expected, prevalence, width, raters per item, pool
    ("fleiss_kappa", 0.6, [0.2, 0.5, 0.3], 0.2, 3, None),
    ("gwet_ac1", 0.7, [0.15, 0.85], 0.15, 4, None),
    ("average_cohen_kappa", 0.5, [0.3, 0.7], 0.2, 3, None),
    ("average_cohen_kappa", 0.6, [0.4, 0.6], 0.25, 2, 4),
    ("fleiss_kappa", 0.5, [0.3, 0.7], 0.1, 3, None),  # beyond 500 items: scaled by 1/sqrt(n)
]


PUBLIC = {
    "fleiss_kappa": lambda s, k: fleiss_kappa(s, labels=range(k), n_boot=0).value,
    "gwet_ac1": lambda s, k: gwet_ac(s, labels=range(k), n_boot=0).value,
    "average_cohen_kappa": lambda s, k: pairwise_cohen_kappa(s, labels=range(k), n_boot=0).average.value,
}


@pytest.mark.parametrize(("statistic", "expected", "prevalence", "width", "m", "pool"), CASES)
def test_planned_width_matches_the_simulated_width_within_10_percent(statistic, expected, prevalence, width, m,
                                                                    pool):
    plan = sample_size_for_width(statistic=statistic, expected=expected, prevalence=prevalence, width=width,
                                 raters_per_item=m, n_raters=pool)
    assert plan.design.method == "simulation" and plan.design.interval_method == "normal_simulated_sd"
    assert plan.design.width <= width * 1.0001 and plan.n_items > MIN_ITEMS
    k = len(prevalence)
    kappa = ss.model_kappa(statistic, expected, prevalence)
    reps = min(4000, 2_000_000 // plan.n_items)
    studies = _studies(np.random.default_rng(2024), reps, plan.n_items, m, prevalence, kappa, pool)
    values = _coefficients(studies, k, statistic)
    for study, value in zip(studies[:3], values[:3], strict=True):  # the formulas here are the platform's
        assert value == pytest.approx(PUBLIC[statistic](study, k), abs=1e-12)
    assert plan.design.width == pytest.approx(_sd_width(values), rel=0.10)


def test_simulated_width_for_two_raters_agrees_with_the_closed_form():
    closed = design_width(statistic="cohen_kappa", expected=0.6, prevalence=[0.3, 0.7], n_items=150)
    simulated = design_width(statistic="average_cohen_kappa", expected=0.6, prevalence=[0.3, 0.7], n_items=150,
                             raters_per_item=2, n_raters=3)  # a pool of three forces the simulation
    fleiss = design_width(statistic="fleiss_kappa", expected=0.6, prevalence=[0.3, 0.7], n_items=150)
    assert fleiss.method == "simulation" and closed.method == "closed_form"
    assert fleiss.width == pytest.approx(closed.width, rel=0.10)
    assert simulated.width > closed.width  # three pairs sharing the items each get about a third of them


def test_width_falls_with_items_and_raters_and_is_reproducible():
    common = {"statistic": "fleiss_kappa", "expected": 0.5, "prevalence": [0.3, 0.4, 0.3], "n_replicates": 500}
    widths = [design_width(**common, n_items=n).width for n in (50, 200, 2000)]
    assert widths[0] > widths[1] > widths[2]
    far = design_width(**common, n_items=2000)
    assert far.simulated_items == ss.SIMULATED_ITEMS_MAX
    assert far.width == pytest.approx(design_width(**common, n_items=500).width * math.sqrt(500 / 2000))
    assert design_width(**common, n_items=100, raters_per_item=5).width < design_width(**common, n_items=100).width
    assert design_width(**common, n_items=100, seed=3) == design_width(**common, n_items=100, seed=3)


def test_raters_for_width_is_the_fewest_raters_reaching_it():
    common = {"statistic": "fleiss_kappa", "expected": 0.6, "prevalence": [0.3, 0.7], "n_items": 80}
    plan = raters_for_width(**common, width=0.25, max_raters=8)
    assert plan.raters_per_item is not None and plan.design.width <= 0.25
    if plan.raters_per_item > 2:
        assert design_width(**common, raters_per_item=plan.raters_per_item - 1).width > 0.25
    short = raters_for_width(**common, width=0.01, max_raters=4)
    assert short.raters_per_item is None and short.design.raters_per_item == 4 and "Even 4" in short.messages[0]


# ------------------------------------------------------------------------------------------ edge cases


def test_kappa_near_one_is_floored_at_the_minimum_items():
    plan = sample_size_for_width(statistic="cohen_kappa", expected=0.99, prevalence=[0.5, 0.5], width=0.3)
    assert plan.floored and plan.n_items == MIN_ITEMS and "at least 10" in plan.messages[0]
    assert plan.design.width < 0.3


@pytest.mark.parametrize("statistic", ["cohen_kappa", "fleiss_kappa"])
def test_a_width_too_small_is_capped_with_a_message(statistic):
    plan = sample_size_for_width(statistic=statistic, expected=0.5, prevalence=[0.5, 0.5], width=0.002)
    assert plan.capped and plan.n_items == MAX_ITEMS and plan.design.width > 0.002
    assert f"more than {MAX_ITEMS:,} items" in plan.messages[0]


@pytest.mark.parametrize(("kwargs", "field", "text"), [
    ({"prevalence": [0.0, 1.0]}, "prevalence", "strictly between 0 and 1"),
    ({"prevalence": [1.0, 0.0, 0.0]}, "prevalence", "strictly between 0 and 1"),
    ({"prevalence": [1.0]}, "prevalence", "at least two categories"),
    ({"prevalence": [0.5, 0.6]}, "prevalence", "sum to 1"),
    ({"prevalence": ["a", 0.5]}, "prevalence", "list of numbers"),
    ({"expected": 1.0}, "expected", "[0, 1)"),
    ({"expected": -0.1}, "expected", "[0, 1)"),
    ({"expected": float("nan")}, "expected", "finite"),
    ({"width": 0}, "width", "(0, 2]"),
    ({"width": 2.5}, "width", "(0, 2]"),
    ({"confidence": 1.0}, "confidence", "between 0 and 1"),
    ({"statistic": "icc"}, "statistic", "must be one of"),
    ({"raters_per_item": 3}, "raters_per_item", "Cohen's kappa compares two raters"),
    ({"raters_per_item": 1, "statistic": "fleiss_kappa"}, "raters_per_item", "from 2 to"),
    ({"n_raters": 1}, "n_raters", "from the raters per item"),
    ({"statistic": "average_cohen_kappa", "n_raters": 30}, "n_raters", "at most 20"),
    ({"statistic": "gwet_ac1", "expected": 0.1, "prevalence": [0.9, 0.1]}, "expected", "only by chance"),
    ({"n_replicates": 10, "statistic": "fleiss_kappa"}, "n_replicates", "from 200"),
])
def test_bad_input_is_refused_with_the_field_named(kwargs, field, text):
    args = {"statistic": "cohen_kappa", "expected": 0.6, "prevalence": [0.3, 0.7], "width": 0.2, **kwargs}
    with pytest.raises(PlanInputError) as error:
        sample_size_for_width(**args)
    assert error.value.field == field and text in error.value.message
    assert isinstance(error.value, ValueError)


def test_a_category_too_rare_to_vary_is_refused():
    with pytest.raises(PlanInputError, match="without variation"):
        design_width(statistic="fleiss_kappa", expected=0.5, prevalence=[1 - 1e-9, 1e-9], n_items=20)


def test_results_serialise_to_plain_json():
    import json

    plan = sample_size_for_width(statistic="gwet_ac1", expected=0.7, prevalence=[0.2, 0.8], width=0.3)
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["design"]["method"] == "simulation" and data["n_items"] == plan.n_items
    assert data["design"]["kappa"] == pytest.approx(ss.model_kappa("gwet_ac1", 0.7, [0.2, 0.8]))


# ------------------------------------------------------------------------------------------ test of kappa


def test_donner_eliasziw_noncentrality_is_cohens_tabled_value():
    # Cohen (1988), Table 7.4.15: u = 1, alpha 0.05, power 0.80 -> lambda 7.85
    plan = kappa_test_sample_size(kappa0=0.4, kappa1=0.6, prevalence=0.3)
    assert plan.noncentrality == pytest.approx(7.85, abs=0.005)
    p0, p1 = ss._three_cells(0.4, 0.3), ss._three_cells(0.6, 0.3)
    effect = ((p1 - p0) ** 2 / p0).sum()
    assert plan.n_items == math.ceil(plan.noncentrality / effect)
    assert p0.sum() == pytest.approx(1) and p1.sum() == pytest.approx(1)


def _goodness_of_fit_power(n, kappa0, kappa1, pi, rng, reps=20_000):
    """Share of simulated studies (true kappa1) where the goodness-of-fit test rejects kappa0 at 5 %."""
    counts = rng.multinomial(n, ss._three_cells(kappa1, pi), size=reps)
    pi_hat = (2 * counts[:, 0] + counts[:, 1]) / (2 * n)
    q = pi_hat * (1 - pi_hat)
    expected = n * np.stack([pi_hat**2 + kappa0 * q, 2 * (1 - kappa0) * q, (1 - pi_hat) ** 2 + kappa0 * q], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.nansum((counts - expected) ** 2 / expected, axis=1)
    return float(np.mean(chi2 > stats.chi2.isf(0.05, 1)))


@pytest.mark.parametrize(("kappa0", "kappa1", "pi"), [(0.4, 0.6, 0.3), (0.5, 0.7, 0.1), (0.6, 0.4, 0.5)])
def test_donner_eliasziw_sample_size_reaches_the_power_in_simulation(kappa0, kappa1, pi):
    plan = kappa_test_sample_size(kappa0=kappa0, kappa1=kappa1, prevalence=pi, power=0.8)
    rng = np.random.default_rng(8)
    assert _goodness_of_fit_power(plan.n_items, kappa0, kappa1, pi, rng) >= 0.78
    assert _goodness_of_fit_power(plan.n_items // 2, kappa0, kappa1, pi, rng) < 0.65


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kappa1": 0.4}, "kappa1"), ({"kappa0": 1.0}, "kappa0"), ({"prevalence": 0.0}, "prevalence"),
    ({"prevalence": 1.0}, "prevalence"), ({"power": 0.01}, "power"), ({"alpha": 0}, "alpha"),
])
def test_donner_eliasziw_refuses_bad_input(kwargs, field):
    with pytest.raises(PlanInputError) as error:
        kappa_test_sample_size(**{"kappa0": 0.4, "kappa1": 0.6, "prevalence": 0.3, **kwargs})
    assert error.value.field == field
