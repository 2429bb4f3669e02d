"""Sample-size planning: closed forms against published values and independent code, the simulations and the
search replayed draw by draw, whole results, messages and edge cases. The statistical checks against independent
simulations (slow) are in test_sample_size_simulation.py."""
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from agreement.metrics import fleiss_kappa, gwet_ac, pairwise_cohen_kappa
from agreement.metrics import sample_size as ss
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


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kappa1": 0.4}, "kappa1"), ({"kappa0": 1.0}, "kappa0"), ({"prevalence": 0.0}, "prevalence"),
    ({"prevalence": 1.0}, "prevalence"), ({"power": 0.01}, "power"), ({"alpha": 0}, "alpha"),
])
def test_donner_eliasziw_refuses_bad_input(kwargs, field):
    with pytest.raises(PlanInputError) as error:
        kappa_test_sample_size(**{"kappa0": 0.4, "kappa1": 0.6, "prevalence": 0.3, **kwargs})
    assert error.value.field == field


# ------------------------------------------------------------------------------------------ exact results


def _replayed_ratings(seed, chunks, n, m, prevalence, kappa):
    """The documented draws of the simulation, chunk by chunk from one ``default_rng(seed)``: every item's true
    category, every rater's chance category, then whether each rater keeps the truth (probability sqrt(kappa))."""
    rng = np.random.default_rng(seed)
    k, out = len(prevalence), []
    for c in chunks:
        truth = rng.choice(k, size=(c, n), p=prevalence)
        noise = rng.choice(k, size=(c, n, m), p=prevalence)
        out.append(np.where(rng.random((c, n, m)) < math.sqrt(kappa), truth[..., None], noise))
    return np.concatenate(out).astype(float)


def _design_dict(statistic, expected, kappa, prevalence, n, m, pool, confidence, se, **simulation):
    """A whole ``DesignWidth`` as a dict: the closed form, or the simulation fields given in ``simulation``."""
    method = "simulation" if simulation else "closed_form"
    return {"statistic": statistic, "expected": expected, "kappa": kappa, "prevalence": list(prevalence),
            "n_items": n, "raters_per_item": m, "n_raters": pool, "confidence": confidence,
            "width": pytest.approx(2 * stats.norm.ppf((1 + confidence) / 2) * se, rel=1e-9),
            "se": pytest.approx(se, rel=1e-9), "method": method,
            "interval_method": "normal_simulated_sd" if simulation else "wald_fce_1969",
            "reference": ss.REFERENCES[method], "n_replicates": 0, "n_undefined": 0, "simulated_items": None,
            "seed": None, **simulation}


@pytest.mark.parametrize(("statistic", "prevalence", "n", "m", "n_replicates", "reps", "chunks", "confidence"), [
    # one chunk; the replicates asked for
    ("fleiss_kappa", [0.2, 0.5, 0.3], 40, 3, 200, 200, [200], 0.95),
    ("gwet_ac1", [0.3, 0.7], 30, 4, 250, 250, [250], 0.9),
    # 500 items x 6 raters: the cell budget allows 1,500,000 // 3,000 = 500 studies, in chunks of
    # 400,000 // 3,000 = 133 (beyond 500 items the width is simulated at 500 and scaled)
    ("fleiss_kappa", [0.4, 0.6], 800, 6, 600, 500, [133, 133, 133, 101], 0.95),
    # the pairwise average keeps a 3 x 3 table of 2 x 2 cells per study: chunks of 400,000 // (1,500 + 36) = 260
    ("average_cohen_kappa", [0.3, 0.7], 2000, 3, 400, 400, [260, 140], 0.95),
    # a rare category: some studies without variation, left out and counted
    ("fleiss_kappa", [0.97, 0.03], 10, 2, 200, 200, [200], 0.95),
    # 500 x 8 cells per study: chunks of exactly 400,000 // 4,000 = 100
    ("fleiss_kappa", [0.4, 0.6], 500, 8, 300, 300, [100, 100, 100], 0.95),
    # three categories: 3 x 3 pair tables of 3 x 3 cells, chunks of 400,000 // (1,500 + 81) = 253
    ("average_cohen_kappa", [0.2, 0.5, 0.3], 2000, 3, 400, 400, [253, 147], 0.95),
])
def test_simulated_design_is_the_sd_over_the_replayed_studies(statistic, prevalence, n, m, n_replicates, reps, chunks,
                                                              confidence):
    expected = 0.5
    kappa = ss.model_kappa(statistic, expected, prevalence)
    simulated = min(n, ss.SIMULATED_ITEMS_MAX)
    studies = _replayed_ratings(7, chunks, simulated, m, prevalence, kappa)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = _coefficients(studies, len(prevalence), statistic)
    sd = np.std(values[np.isfinite(values)], ddof=1)
    design = design_width(statistic=statistic, expected=expected, prevalence=prevalence, n_items=n, raters_per_item=m,
                          confidence=confidence, n_replicates=n_replicates, seed=7)
    assert design.to_dict() == _design_dict(
        statistic, expected, kappa, prevalence, n, m, m, confidence, sd * math.sqrt(simulated / n), n_replicates=reps,
        n_undefined=int((~np.isfinite(values)).sum()), simulated_items=simulated if simulated < n else None, seed=7)


def test_a_design_with_too_few_raters_per_study_is_simulated_at_the_floor_of_replicates():
    # 500 items x 20 raters: the budget allows 150 studies, fewer than the 200 every width is simulated on
    design = design_width(statistic="fleiss_kappa", expected=0.5, prevalence=[0.5, 0.5], n_items=500,
                          raters_per_item=20, n_replicates=300)
    assert design.n_replicates == ss.MIN_REPLICATES


def test_closed_form_design_is_the_whole_wald_result():
    design = design_width(statistic="cohen_kappa", expected=0.6, prevalence=[0.3, 0.7], n_items=150, confidence=0.9)
    assert design.to_dict() == _design_dict("cohen_kappa", 0.6, 0.6, [0.3, 0.7], 150, 2, 2, 0.9,
                                            math.sqrt(kappa_variance(0.6, [0.3, 0.7]) / 150))


def test_drawn_raters_are_uniform_over_the_pairs_of_the_pool_item_by_item():
    pool, draws = 5, ss._draw_raters(np.random.default_rng(1), (2, 5000, 2), 5)
    assert np.all(draws[..., 0] < draws[..., 1]) and draws.min() == 0 and draws.max() == pool - 1
    for study in draws:  # every item draws on its own: the ten pairs equally often within one study
        counts = np.bincount(study[:, 0] * pool + study[:, 1], minlength=pool * pool)
        pairs = counts[np.triu_indices(pool, k=1)[0] * pool + np.triu_indices(pool, k=1)[1]]
        assert pairs.sum() == 5000 and stats.chisquare(pairs).pvalue > 1e-3
    three = ss._draw_raters(np.random.default_rng(2), (6000, 3), 4)
    triples = np.unique(three, axis=0, return_counts=True)
    assert len(triples[0]) == 4 and stats.chisquare(triples[1]).pvalue > 1e-3
    assert np.all(np.diff(three, axis=1) > 0)


# ------------------------------------------------------------------------------------------ input messages


def _message(call, **kwargs):
    with pytest.raises(PlanInputError) as error:
        call(**kwargs)
    assert str(error.value) == f"{error.value.field}: {error.value.message}"
    return str(error.value)


CLOSED = {"statistic": "cohen_kappa", "expected": 0.6, "prevalence": [0.3, 0.7], "width": 0.2}
SHARE = ("prevalence: every share must lie strictly between 0 and 1: leave out a category nobody will use, and with "
         "one category only kappa is undefined (no variation)")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prevalence": [0.0, 1.0]}, SHARE),
    ({"prevalence": [0.5, 1.0]}, SHARE),
    ({"prevalence": [0.5, -0.5, 1.0]}, SHARE),
    ({"prevalence": [0.0, 0.5, 0.5]}, SHARE),
    ({"prevalence": [1.0]}, "prevalence: needs one share per category, at least two categories"),
    ({"prevalence": [0.5, 0.6]}, "prevalence: the shares must sum to 1, not 1.100"),
    ({"prevalence": [0.3, 0.689]}, "prevalence: the shares must sum to 1, not 0.989"),
    ({"prevalence": [0.3, 0.711]}, "prevalence: the shares must sum to 1, not 1.011"),
    ({"prevalence": ["a", 0.5]}, "prevalence: must be a list of numbers, one per category"),
    ({"prevalence": [None, 0.5]}, "prevalence: must be finite numbers"),
    ({"prevalence": [float("inf"), 0.5]}, "prevalence: must be finite numbers"),
    ({"expected": "high"}, "expected: must be a number, not 'high'"),
    ({"expected": None}, "expected: must be a number, not None"),
    ({"expected": float("inf")}, "expected: must be a finite number"),
    ({"expected": 1.0}, "expected: must lie in [0, 1): at 1 every design has width 0, and planning for agreement "
                        "below chance is not supported"),
    ({"width": "x"}, "width: must be a number, not 'x'"),
    ({"width": 0}, "width: the full width of the interval must lie in (0, 2]"),
    ({"width": 2.01}, "width: the full width of the interval must lie in (0, 2]"),
    ({"confidence": 0}, "confidence: must lie strictly between 0 and 1"),
    ({"confidence": "x"}, "confidence: must be a number, not 'x'"),
    ({"confidence": 1}, "confidence: must lie strictly between 0 and 1"),
    ({"statistic": "icc"}, "statistic: must be one of cohen_kappa, average_cohen_kappa, fleiss_kappa, gwet_ac1, not "
                           "'icc'"),
    ({"raters_per_item": 3}, "raters_per_item: Cohen's kappa compares two raters: choose the average pairwise kappa "
                             "or Fleiss' kappa for more"),
    ({"n_raters": 3}, "raters_per_item: Cohen's kappa compares two raters: choose the average pairwise kappa or "
                      "Fleiss' kappa for more"),
    ({"statistic": "fleiss_kappa", "raters_per_item": 1}, "raters_per_item: must be a whole number from 2 to 50"),
    ({"statistic": "fleiss_kappa", "raters_per_item": 51}, "raters_per_item: must be a whole number from 2 to 50"),
    ({"statistic": "fleiss_kappa", "raters_per_item": 3.0}, "raters_per_item: must be a whole number from 2 to 50"),
    ({"statistic": "fleiss_kappa", "raters_per_item": 3, "n_raters": 2},
     "n_raters: must be a whole number from the raters per item (3) to 50"),
    ({"statistic": "fleiss_kappa", "n_raters": 51},
     "n_raters: must be a whole number from the raters per item (2) to 50"),
    ({"statistic": "fleiss_kappa", "n_raters": 4.0},
     "n_raters: must be a whole number from the raters per item (2) to 50"),
    ({"statistic": "average_cohen_kappa", "n_raters": 21},
     "n_raters: the average pairwise kappa is simulated for pools of at most 20 raters (Fleiss' kappa and AC1 do not "
     "depend on the pool)"),
    # chance-only raters with shares 0.9 / 0.1 have p_e = 0.82, p_g = 0.18: AC1 (0.82 - 0.18) / 0.82 = 0.780
    ({"statistic": "gwet_ac1", "expected": 0.1, "prevalence": [0.9, 0.1]},
     "expected: an AC1 of 0.1 is below 0.780, the AC1 of raters who agree only by chance with this prevalence"),
    ({"statistic": "fleiss_kappa", "n_replicates": 199}, "n_replicates: must be a whole number from 200 to 10,000"),
    ({"statistic": "fleiss_kappa", "n_replicates": 10_001}, "n_replicates: must be a whole number from 200 to 10,000"),
    ({"statistic": "fleiss_kappa", "n_replicates": 300.0}, "n_replicates: must be a whole number from 200 to 10,000"),
])
def test_every_input_message_in_full(kwargs, message):
    assert _message(sample_size_for_width, **{**CLOSED, **kwargs}) == message


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_items": 1}, "n_items: must be a whole number from 2 to 100,000"),
    ({"n_items": 100_001}, "n_items: must be a whole number from 2 to 100,000"),
    ({"n_items": 50.0}, "n_items: must be a whole number from 2 to 100,000"),
    ({"n_replicates": 199}, "n_replicates: must be a whole number from 200 to 10,000"),
    ({"prevalence": [1 - 1e-9, 1e-9], "statistic": "fleiss_kappa"},
     "prevalence: a category this rare leaves the simulated studies without variation, where the coefficient is "
     "undefined"),
])
def test_design_width_messages_in_full(kwargs, message):
    args = {"statistic": "cohen_kappa", "expected": 0.6, "prevalence": [0.3, 0.7], "n_items": 50, **kwargs}
    assert _message(design_width, **args) == message


def test_the_edges_of_the_input_ranges_are_accepted():
    for n_items, m, pool in ((2, 2, None), (100_000, 2, None), (20, 50, None), (20, 2, 50)):
        assert design_width(statistic="fleiss_kappa", expected=0.0, prevalence=[0.5, 0.5], n_items=n_items,
                            raters_per_item=m, n_raters=pool, n_replicates=200).n_items == n_items
    pairwise = design_width(statistic="average_cohen_kappa", expected=0.5, prevalence=[0.5, 0.5], n_items=10,
                            n_raters=20, n_replicates=200)
    most = design_width(statistic="fleiss_kappa", expected=0.5, prevalence=[0.5, 0.5], n_items=10, n_replicates=10_000)
    assert pairwise.n_raters == 20 and most.n_replicates == 10_000
    assert sample_size_for_width(**{**CLOSED, "width": 2}).n_items == MIN_ITEMS
    # shares summing to 1 within 0.01 are renormalised
    assert design_width(statistic="cohen_kappa", expected=0.6, prevalence=[0.3, 0.7099], n_items=50).prevalence == (
        pytest.approx(0.3 / 1.0099), pytest.approx(0.7099 / 1.0099))
    assert design_width(statistic="cohen_kappa", expected=0.6, prevalence=[0.3, 0.6901], n_items=50).prevalence == (
        pytest.approx(0.3 / 0.9901), pytest.approx(0.6901 / 0.9901))
    for shape in ((2, 1), (1, 2)):  # any array of shares is read flat
        shares = design_width(statistic="cohen_kappa", expected=0.6, prevalence=np.array([0.3, 0.7]).reshape(shape),
                              n_items=50).prevalence
        assert shares == (0.3, 0.7) and all(type(v) is float for v in shares)


def test_an_ac1_at_the_chance_floor_is_kappa_zero_exactly():
    p = np.array([0.3, 0.4, 0.3])  # the rounding of the floor gives a kappa of -8e-17 before it is clipped
    pe, pg = (p**2).sum(), (p * (1 - p)).sum() / 2
    floor = (pe - pg) / (1 - pg)
    assert ss.model_kappa("gwet_ac1", floor, p) == 0.0
    assert ss.model_kappa("gwet_ac1", floor - 1e-13, p) == 0.0  # within the tolerance for rounding
    with pytest.raises(PlanInputError, match="only by chance"):
        ss.model_kappa("gwet_ac1", floor - 1e-11, p)
    assert ss.model_kappa("fleiss_kappa", 0.3, p) == 0.3
    design = design_width(statistic="gwet_ac1", expected=floor, prevalence=p, n_items=20, raters_per_item=3,
                          n_replicates=200)
    assert design.kappa == 0.0 and design.width > 0


def test_a_closed_form_answer_that_is_a_whole_number_is_not_rounded_up():
    sd1 = math.sqrt(kappa_variance(0.6, [0.3, 0.7]))
    plan = sample_size_for_width(**{**CLOSED, "width": 2 * Z95 * sd1 / math.sqrt(150)})
    assert plan.n_items == 150 and plan.design.width == pytest.approx(plan.target_width, rel=1e-12)


# ------------------------------------------------------------------------------------------ simulated pairs


def test_pairwise_values_match_the_public_average_on_small_studies_without_warnings():
    # six items from a pool of four: many studies have pairs without a shared item or without variation,
    # some have a single defined pair, some none (the average is then undefined)
    x = ss._ratings(np.random.default_rng(3), 300, 6, 2, np.array([0.8, 0.2]), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        light = ss._pairwise_values(x, 2, 4, np.random.default_rng(4), np.array([3, 6]))
    raters = ss._draw_raters(np.random.default_rng(4), x.shape, 4)
    singles = 0
    for r in range(300):
        for j, n in enumerate((3, 6)):
            matrix = np.full((n, 4), np.nan)
            np.put_along_axis(matrix, raters[r, :n], x[r, :n].astype(float), axis=1)
            pairwise = pairwise_cohen_kappa(matrix, labels=range(2), n_boot=0)
            expected = pairwise.average.value
            assert light[r, j] == pytest.approx(np.nan if expected is None else expected, abs=1e-12, nan_ok=True)
            singles += sum(p.kappa.value is not None for p in pairwise.pairs) == 1
    assert np.isnan(light).any() and singles > 0


# ------------------------------------------------------------------------------------------ raters per item


RATERS = {"statistic": "fleiss_kappa", "expected": 0.6, "prevalence": [0.3, 0.7], "n_items": 30,
          "n_replicates": 250, "confidence": 0.9, "seed": 3}


def test_raters_for_width_is_the_first_design_narrow_enough_by_brute_force():
    designs = {m: design_width(**RATERS, raters_per_item=m) for m in range(2, 8)}
    widths = [designs[m].width for m in range(2, 8)]
    assert widths == sorted(widths, reverse=True)
    for m in range(2, 8):  # a target met exactly is reached
        plan = raters_for_width(**{k: v for k, v in RATERS.items() if k != "n_items"}, n_items=30,
                                width=designs[m].width, max_raters=7)
        assert plan.to_dict() == {"target_width": designs[m].width, "raters_per_item": m,
                                  "design": designs[m].to_dict(), "messages": []}
    between = raters_for_width(**RATERS, width=(widths[2] + widths[3]) / 2, max_raters=7)
    assert between.raters_per_item == 5 and between.design == designs[5]


def test_raters_for_width_out_of_reach_names_the_width_of_the_most_raters():
    plan = raters_for_width(**RATERS, width=0.2, max_raters=4)
    top = design_width(**RATERS, raters_per_item=4)
    assert plan.to_dict() == {"target_width": 0.2, "raters_per_item": None, "design": top.to_dict(),
                              "messages": [f"Even 4 raters per item give a width of {top.width:.3f} on 30 items."]}
    # the defaults: up to ten raters, seed 0, 95 %, the default replicates (the budget: 1,500,000 // (30 x 10))
    default = raters_for_width(statistic="fleiss_kappa", expected=0.6, prevalence=[0.3, 0.7], n_items=1200,
                               width=0.01)
    assert default.messages == (f"Even 10 raters per item give a width of {default.design.width:.3f} on 1,200 items.",)
    assert default.design == design_width(statistic="fleiss_kappa", expected=0.6, prevalence=[0.3, 0.7],
                                          n_items=1200, raters_per_item=10, confidence=0.95, seed=0)
    assert default.design.seed == 0 and default.design.n_replicates == 300


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"statistic": "cohen_kappa"}, "statistic: Cohen's kappa has two raters; there is nothing to choose"),
    ({"max_raters": 1}, "max_raters: must be a whole number from 2 to 50"),
    ({"max_raters": 51}, "max_raters: must be a whole number from 2 to 50"),
    ({"max_raters": 4.0}, "max_raters: must be a whole number from 2 to 50"),
    ({"width": 3}, "width: the full width of the interval must lie in (0, 2]"),
])
def test_raters_for_width_messages_in_full(kwargs, message):
    assert _message(raters_for_width, **{**RATERS, "width": 0.3, **kwargs}) == message


def test_raters_for_width_accepts_the_edges_of_max_raters():
    assert raters_for_width(**RATERS, width=2, max_raters=2).raters_per_item == 2
    assert raters_for_width(**{**RATERS, "n_items": 10}, width=0.4, max_raters=50).raters_per_item is not None


# ------------------------------------------------------------------------------------------ test of kappa, exact


@pytest.mark.parametrize(("kappa0", "kappa1", "pi", "alpha", "power"), [
    (0.4, 0.6, 0.3, 0.05, 0.8),
    (0.0, 0.3, 0.5, 0.01, 0.9),
    (0.7, 0.5, 0.1, 0.05, 0.1),  # a noncentrality below 1
])
def test_kappa_test_plan_is_statsmodels_goodness_of_fit_power(kappa0, kappa1, pi, alpha, power):
    from statsmodels.stats.power import GofChisquarePower

    p0, p1 = ss._three_cells(kappa0, pi), ss._three_cells(kappa1, pi)
    effect = ((p1 - p0) ** 2 / p0).sum()
    n = GofChisquarePower().solve_power(effect_size=math.sqrt(effect), nobs=None, alpha=alpha, power=power, n_bins=2)
    plan = kappa_test_sample_size(kappa0=kappa0, kappa1=kappa1, prevalence=pi, alpha=alpha, power=power)
    assert plan.to_dict() == {"kappa0": kappa0, "kappa1": kappa1, "prevalence": pi, "alpha": alpha, "power": power,
                              "n_items": math.ceil(n), "noncentrality": pytest.approx(n * effect, rel=1e-6),
                              "method": "donner_eliasziw_goodness_of_fit", "reference": ss.DONNER_ELIASZIW}
    assert stats.ncx2.sf(stats.chi2.isf(alpha, 1), 1, plan.noncentrality) == pytest.approx(power, abs=1e-9)


def test_kappa_test_answer_that_is_a_whole_number_is_not_rounded_up():
    p0, p1 = ss._three_cells(0.4, 0.3), ss._three_cells(0.6, 0.3)
    effect = ((p1 - p0) ** 2 / p0).sum()
    power = stats.ncx2.sf(stats.chi2.isf(0.05, 1), 1, 150 * effect)  # the power of exactly 150 items
    assert kappa_test_sample_size(kappa0=0.4, kappa1=0.6, prevalence=0.3, power=power).n_items == 150


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kappa0": "x"}, "kappa0: must be a number, not 'x'"),
    ({"kappa1": "x"}, "kappa1: must be a number, not 'x'"),
    ({"prevalence": "x"}, "prevalence: must be a number, not 'x'"),
    ({"alpha": "x"}, "alpha: must be a number, not 'x'"),
    ({"power": "x"}, "power: must be a number, not 'x'"),
    ({"kappa0": 1.0}, "kappa0: must lie in [0, 1)"),
    ({"kappa0": -0.1}, "kappa0: must lie in [0, 1)"),
    ({"kappa1": 1.0}, "kappa1: must lie in [0, 1)"),
    ({"kappa1": 0.4}, "kappa1: must differ from kappa0"),
    ({"prevalence": 0.0}, "prevalence: must lie strictly between 0 and 1"),
    ({"prevalence": 1.0}, "prevalence: must lie strictly between 0 and 1"),
    ({"alpha": 0.0}, "alpha: must lie strictly between 0 and 1"),
    ({"alpha": 1.0}, "alpha: must lie strictly between 0 and 1"),
    ({"power": 0.05}, "power: must lie between alpha and 1"),
    ({"power": 1.0}, "power: must lie between alpha and 1"),
])
def test_kappa_test_messages_in_full(kwargs, message):
    assert _message(kappa_test_sample_size, **{"kappa0": 0.4, "kappa1": 0.6, "prevalence": 0.3, **kwargs}) == message


# ------------------------------------------------------------------------------------------ the search, replayed


def _replayed_widths(statistic, expected, prevalence, m, grid, n_replicates, seed, z):
    """Widths after the first n items of the same studies for every n of ``grid``, replayed: as many studies as
    1,500,000 simulated ratings allow (at least 200, at most ``n_replicates``), drawn in chunks of at most
    400,000 cells (with the pair tables of the pairwise average), undefined values left out."""
    k, n_sim = len(prevalence), int(grid[-1])
    tables = 0 if statistic != "average_cohen_kappa" else m * m * k * k
    reps = min(n_replicates, max(200, 1_500_000 // (n_sim * m)))
    chunk = 400_000 // (n_sim * m + tables)
    studies = _replayed_ratings(seed, [min(chunk, reps - s) for s in range(0, reps, chunk)], n_sim, m, prevalence,
                                ss.model_kappa(statistic, expected, prevalence))
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.column_stack([_coefficients(studies[:, :n], k, statistic) for n in grid])
    finite = np.isfinite(values)
    sds = np.array([np.std(v[f], ddof=1) for v, f in zip(values.T, finite.T, strict=True)])
    return 2 * z * sds, (~finite).sum(axis=0), reps


def _smallest_by_brute_force(grid, widths, target):
    """The first grid point narrow enough and the smallest n above the grid point before it that the 1/sqrt(n)
    law from there makes narrow enough; with none narrow enough, the law from the last grid point."""
    narrow = [i for i, w in enumerate(widths) if w <= target]
    if not narrow:
        return math.ceil(grid[-1] * (widths[-1] / target) ** 2), len(grid) - 1
    i = narrow[0]
    n = int(grid[i - 1]) + 1 if i > 0 else 1
    while widths[i] * math.sqrt(grid[i] / n) > target:
        n += 1
    return n, i


@pytest.mark.parametrize(("statistic", "prevalence", "width", "m", "n_replicates", "confidence"), [
    ("fleiss_kappa", [0.2, 0.5, 0.3], 0.3, 3, 300, 0.95),
    ("gwet_ac1", [0.3, 0.7], 0.25, 2, 200, 0.9),
    ("fleiss_kappa", [0.3, 0.7], 0.09, 2, 200, 0.95),  # no grid point narrow enough: the law from 500 items
    ("average_cohen_kappa", [0.4, 0.6], 0.35, 3, 200, 0.95),
    ("fleiss_kappa", [0.5, 0.5], 1.2, 3, 200, 0.95),  # narrow enough at the first grid point: floored at 10
])
def test_simulated_sample_size_is_the_replayed_search(statistic, prevalence, width, m, n_replicates, confidence):
    z = stats.norm.ppf((1 + confidence) / 2)
    grid = ss._SEARCH_GRID if statistic != "average_cohen_kappa" else ss._PAIRWISE_GRID
    pilot, _, _ = _replayed_widths(statistic, 0.6, prevalence, m, grid, 200, 5, z)
    rough, _ = _smallest_by_brute_force(grid, pilot, width)
    # the studies are then simulated up to the first grid point at or beyond 1.5 times the pilot's answer
    grid = grid[: next((j for j, g in enumerate(grid) if g >= 1.5 * rough), len(grid) - 1) + 1]
    widths, undefined, reps = _replayed_widths(statistic, 0.6, prevalence, m, grid, n_replicates, 5, z)
    wanted, i = _smallest_by_brute_force(grid, widths, width)
    plan = sample_size_for_width(statistic=statistic, expected=0.6, prevalence=prevalence, width=width,
                                 raters_per_item=m, n_replicates=n_replicates, confidence=confidence, seed=5)
    n = max(wanted, MIN_ITEMS)
    floored = (f"{wanted} items would do in theory, but a large-sample width means little on fewer than 10 items: "
               "plan at least 10.",)
    assert (plan.n_items, plan.capped, plan.floored, plan.messages) == (
        n, False, wanted < n, floored if wanted < n else ())
    assert plan.design.to_dict() == _design_dict(
        statistic, 0.6, ss.model_kappa(statistic, 0.6, prevalence), prevalence, n, m, m, confidence,
        widths[i] / (2 * z) * math.sqrt(grid[i] / n), n_replicates=reps,
        simulated_items=int(grid[i]) if grid[i] != n else None, seed=5)


@pytest.mark.parametrize(("grid", "widths", "target", "expected"), [
    ([10, 14], [0.5, 0.36], 0.45, (11, 1)),  # the law from 14 items says 9: never at or below the point before
    ([10, 14], [0.5, 0.4], 0.45, (12, 1)),
    ([10, 14], [0.4, 0.3], 0.45, (8, 0)),  # narrow enough at the first point: the law alone
    ([10, 14], [0.5, 0.45], 0.45, (14, 1)),  # a width equal to the target is narrow enough
    ([10], [0.5], 0.5, (10, 0)),  # a whole number is not rounded up
    ([10, 14], [0.45, 0.3], 0.45, (10, 0)),
    ([10, 14], [0.6, 0.5], 0.25, (56, 1)),  # none narrow enough: the law from the last point
])
def test_smallest_n_against_brute_force(grid, widths, target, expected):
    assert ss._smallest_n(np.array(grid), np.array(widths), target) == expected
    assert _smallest_by_brute_force(grid, widths, target) == expected


def test_the_bounds_themselves_are_neither_capped_nor_floored():
    sd1 = math.sqrt(kappa_variance(0.6, [0.3, 0.7]))
    for n in (MIN_ITEMS, MAX_ITEMS):
        plan = sample_size_for_width(**{**CLOSED, "width": 2 * Z95 * sd1 / math.sqrt(n)})
        assert (plan.n_items, plan.capped, plan.floored, plan.messages) == (n, False, False, ())


def test_a_search_on_a_category_too_rare_to_vary_is_refused_in_full():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no study defined: refused without a numpy warning
        message = _message(sample_size_for_width, statistic="fleiss_kappa", expected=0.5, prevalence=[1 - 1e-9, 1e-9],
                           width=0.3, n_replicates=200)
    assert message == ("prevalence: a category this rare leaves the simulated studies without variation, where the "
                       "coefficient is undefined")


def test_the_studies_without_variation_are_named_in_the_plan():
    plan = sample_size_for_width(statistic="fleiss_kappa", expected=0.5, prevalence=[0.97, 0.03], width=1.5,
                                 n_replicates=200)
    undefined = plan.design.n_undefined
    assert undefined > 0 and plan.messages[-1] == (
        f"{undefined} of 200 simulated studies had no variation (the coefficient is undefined) and were left out.")


def test_the_default_seed_is_zero():
    common = {"statistic": "fleiss_kappa", "expected": 0.5, "prevalence": [0.4, 0.6], "n_replicates": 200}
    assert design_width(**common, n_items=30) == design_width(**common, n_items=30, seed=0)
    assert design_width(**common, n_items=30).seed == 0
    plan = sample_size_for_width(**common, width=0.4)
    assert plan == sample_size_for_width(**common, width=0.4, seed=0) and plan.design.seed == 0


@pytest.mark.parametrize("prevalence", [[0.3, 0.7], [0.2, 0.5, 0.3], [0.1, 0.2, 0.3, 0.4]])
@pytest.mark.parametrize("ac1", [0.5, 0.8])
def test_the_model_kappa_of_an_ac1_gives_that_ac1_on_the_model_table(prevalence, ac1):
    kappa = ss.model_kappa("gwet_ac1", ac1, prevalence)
    table = ss.model_table(kappa, prevalence)
    p, k = table.sum(axis=1), len(prevalence)
    chance = (p * (1 - p)).sum() / (k - 1)  # Gwet (2008): chance agreement from the mean margins
    assert (np.trace(table) - chance) / (1 - chance) == pytest.approx(ac1, abs=1e-12)
    assert (np.trace(table) - (p**2).sum()) / (1 - (p**2).sum()) == pytest.approx(kappa, abs=1e-12)


def test_two_defined_studies_are_enough_for_an_sd():
    # seed 2: 198 of the 200 studies of two items have no variation
    design = design_width(statistic="fleiss_kappa", expected=0.5, prevalence=[0.995, 0.005], n_items=2,
                          n_replicates=200, seed=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = _coefficients(_replayed_ratings(2, [200], 2, 2, [0.995, 0.005], 0.5), 2, "fleiss_kappa")
    assert design.n_undefined == 198 and np.isfinite(values).sum() == 2
    assert design.se == pytest.approx(np.std(values[np.isfinite(values)], ddof=1), rel=1e-9)


def test_the_average_kappa_of_two_raters_is_the_closed_form_of_cohens_kappa():
    common = {"expected": 0.6, "prevalence": [0.3, 0.7], "n_items": 80}
    average = design_width(statistic="average_cohen_kappa", **common)
    assert average.method == "closed_form" and average.width == design_width(statistic="cohen_kappa", **common).width
