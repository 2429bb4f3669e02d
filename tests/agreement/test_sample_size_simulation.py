"""Sample-size planning against independent simulations: the planned widths within 10 % of the spread of the
coefficient over simulated studies run through the public metric functions, the planned test sizes reaching
their power. Statistical checks, slow by nature; the exact results (replayed draws, whole results, messages)
are in test_metrics_sample_size.py."""
import math

import numpy as np
import pytest
from scipy import stats

from agreement.metrics import cohen_kappa, fleiss_kappa, gwet_ac, pairwise_cohen_kappa
from agreement.metrics import sample_size as ss
from agreement.metrics.kappa import kappa_from_tables
from agreement.metrics.sample_size import (
    MIN_ITEMS,
    design_width,
    kappa_test_sample_size,
    raters_for_width,
    sample_size_for_width,
)

from .test_metrics_sample_size import _coefficients, _sd_width, _studies


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
