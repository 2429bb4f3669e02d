"""Sample-size planning for agreement studies: how many items (and raters per item) an interval needs.

The question a researcher asks before rating starts: with an expected coefficient, the expected
prevalence of each category and r raters per item, how many items make the confidence interval of the
coefficient no wider than w? And what width will the current design give?

Rating model (both methods). Item i has a true category T_i ~ p (the prevalence). Each rater reports
T_i with probability theta and otherwise draws a category from p, independently of the others. Every
rater then has the margins p, and every pair of raters has the table

    P_kl = (1 - kappa) p_k p_l + kappa p_k [k = l],   kappa = theta^2,

the "common correlation" model of Bloch & Kraemer (1989) and Donner & Eliasziw (1992). Cohen's kappa of
every pair, the average pairwise kappa (Light) and Fleiss' kappa all equal kappa in the population;
Gwet's AC1 is (p_a - p_g) / (1 - p_g) with p_a = kappa + (1 - kappa) sum p_k^2 and
p_g = sum p_k (1 - p_k) / (K - 1), so an expected AC1 is turned into kappa. An AC1 below the one of
chance-only raters (kappa = 0) cannot arise in this model and is refused, as are prevalences of 0 or 1.

* **Closed form** (two raters, Cohen's kappa or the average pairwise kappa of two raters, K >= 2
  categories): n Var(kappa_hat) -> V, the large-sample variance of Fleiss, Cohen & Everitt (1969)
  evaluated at the table above (``kappa.kappa_from_tables``, the formula the reports use). For two
  categories this is Fleiss, Levin & Paik (2003, ch. 18) / Bloch & Kraemer (1989):
  V = (1 - kappa) [(1 - kappa)(1 - 2 kappa) + kappa (2 - kappa) / (2 pi (1 - pi))]. The Wald interval
  has full width 2 z sqrt(V / n), so n = ceil(V (2 z / w)^2).
* **Simulation** (more raters per item, a pool of raters larger than the raters per item, Fleiss' kappa,
  AC1): ratings are drawn from the model, seeded and vectorised, and the coefficient is computed on each
  simulated study by the project's own code (``_pooled.PooledItems`` for Fleiss and AC1, as
  ``fleiss_kappa``/``gwet_ac``; ``kappa_from_tables`` per pair for the average pairwise kappa). The
  expected width is 2 z SD over the simulated studies (a normal interval on the simulated standard
  deviation). Beyond ``SIMULATED_ITEMS_MAX`` items the width is simulated there and scaled by the
  1/sqrt(n) law. The search simulates one set of studies and reads the width after their first n items
  for a grid of n (common random numbers, so the widths fall smoothly with n); between the last grid
  point too wide and the first narrow enough, the 1/sqrt(n) law gives the smallest n.
* **Test of kappa1 against kappa0** (two raters, two categories): Donner & Eliasziw (1992), the
  chi-square goodness-of-fit test on the three kinds of item (both positive, one, none) with 1 degree
  of freedom: n = lambda / sum_l (P_l(kappa1) - P_l(kappa0))^2 / P_l(kappa0), lambda the noncentrality
  at which the test at level alpha has the wanted power (solved exactly with scipy's noncentral
  chi-square; 7.85 for alpha 0.05 and power 0.8).

Designs are kept between ``MIN_ITEMS`` (below it a large-sample width means little) and ``MAX_ITEMS``;
a plan that hits either bound says so in ``messages``. Bad input raises ``PlanInputError`` (a
``ValueError`` naming the field).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from ._pooled import PooledItems
from .kappa import kappa_from_tables
from .results import SMALL_N, _Serialisable

STATISTICS = {
    "cohen_kappa": "Cohen's kappa (two raters)",
    "average_cohen_kappa": "Average pairwise Cohen's kappa",
    "fleiss_kappa": "Fleiss' kappa",
    "gwet_ac1": "Gwet's AC1",
}
_POOLED = {"fleiss_kappa": "fleiss", "gwet_ac1": "gwet"}
METHOD_CLOSED_FORM = "closed_form"
METHOD_SIMULATION = "simulation"
INTERVAL_WALD = "wald_fce_1969"  # kappa +/- z sqrt(V / n)
INTERVAL_SIMULATED = "normal_simulated_sd"  # estimate +/- z SD over simulated studies
REFERENCES = {
    METHOD_CLOSED_FORM: "Fleiss, Cohen & Everitt (1969); Fleiss, Levin & Paik (2003), ch. 18",
    METHOD_SIMULATION: "Monte Carlo under the common correlation model (Bloch & Kraemer 1989)",
}
DONNER_ELIASZIW = "Donner & Eliasziw (1992), Statistics in Medicine 11, 1511-1519"

MIN_ITEMS = SMALL_N
MAX_ITEMS = 100_000
MAX_RATERS = 50
SIMULATED_ITEMS_MAX = 500
N_REPLICATES = 4_000  # at most; fewer where the items and raters would exceed the budget below
MIN_REPLICATES = 200
MAX_REPLICATES = 10_000
_CELLS_PER_EVALUATION = 1_500_000  # replicates x items x raters simulated for one width
_TABLE_CELLS_PER_EVALUATION = 30_000_000  # replicates x widths x pair-table cells, for the pairwise average
MAX_PAIRWISE_POOL = 20  # raters whose pairwise kappas one simulated study averages
_CELLS_PER_CHUNK = 400_000
# The widths of a search are simulated at these numbers of items (about 4 % apart), on the same studies;
# the pairwise average, whose tables cost more, uses every fourth.
_SEARCH_GRID = np.unique(np.geomspace(MIN_ITEMS, SIMULATED_ITEMS_MAX, 96).round().astype(int))
_PAIRWISE_GRID = _SEARCH_GRID[::-4][::-1]


class PlanInputError(ValueError):
    """Bad planning input; ``field`` names the input, so forms and APIs can show it there."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DesignWidth(_Serialisable):
    """The expected confidence interval of one design: n items, r raters per item out of a pool."""

    statistic: str
    expected: float
    kappa: float  # the model's pairwise kappa behind ``expected`` (equal to it except for AC1)
    prevalence: tuple[float, ...]
    n_items: int
    raters_per_item: int
    n_raters: int
    confidence: float
    width: float
    se: float
    method: str
    interval_method: str
    reference: str
    n_replicates: int = 0
    n_undefined: int = 0  # simulated studies where the coefficient was undefined (left out)
    simulated_items: int | None = None  # items simulated when the width was scaled from fewer
    seed: int | None = None


@dataclass(frozen=True)
class SampleSizePlan(_Serialisable):
    """The smallest number of items whose expected interval is no wider than ``target_width``."""

    target_width: float
    n_items: int
    design: DesignWidth  # the width that ``n_items`` achieves
    capped: bool = False  # the target needs more than MAX_ITEMS: n_items is MAX_ITEMS
    floored: bool = False  # fewer than MIN_ITEMS would do: n_items is MIN_ITEMS
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class RatersPlan(_Serialisable):
    """The fewest raters per item that reach ``target_width`` on a fixed number of items."""

    target_width: float
    raters_per_item: int | None  # None: not even ``max_raters`` reach it
    design: DesignWidth  # the width at ``raters_per_item`` (or at ``max_raters``)
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class KappaTestPlan(_Serialisable):
    """Items for the goodness-of-fit test of kappa1 against kappa0 (two raters, two categories)."""

    kappa0: float
    kappa1: float
    prevalence: float
    alpha: float
    power: float
    n_items: int
    noncentrality: float
    method: str = "donner_eliasziw_goodness_of_fit"
    reference: str = DONNER_ELIASZIW


# ------------------------------------------------------------------------------------------ input


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise PlanInputError(field, message)


def _number(value, field: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise PlanInputError(field, f"must be a number, not {value!r}") from None
    _require(math.isfinite(x), field, "must be a finite number")
    return x


def _prevalence(values) -> np.ndarray:
    """Category shares, each strictly inside (0, 1), summing to 1 (within 0.01; then renormalised)."""
    try:
        p = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise PlanInputError("prevalence", "must be a list of numbers, one per category") from None
    _require(p.size >= 2, "prevalence", "needs one share per category, at least two categories")
    _require(bool(np.all(np.isfinite(p))), "prevalence", "must be finite numbers")
    _require(bool(np.all((p > 0) & (p < 1))), "prevalence",
             "every share must lie strictly between 0 and 1: leave out a category nobody will use, and with "
             "one category only kappa is undefined (no variation)")
    _require(abs(p.sum() - 1) <= 0.01, "prevalence", f"the shares must sum to 1, not {p.sum():.3f}")
    return p / p.sum()


def _chance_ac1(p: np.ndarray) -> float:
    """Gwet's chance agreement p_g = sum p_k (1 - p_k) / (K - 1)."""
    return float((p * (1 - p)).sum() / (len(p) - 1))


def model_kappa(statistic: str, expected: float, prevalence) -> float:
    """The pairwise kappa of the rating model whose population value of ``statistic`` is ``expected``."""
    p = _prevalence(prevalence)
    if statistic != "gwet_ac1":
        return expected
    pg, pe = _chance_ac1(p), float((p**2).sum())
    p_a = expected + (1 - expected) * pg
    kappa = (p_a - pe) / (1 - pe)
    floor = (pe - pg) / (1 - pg)
    _require(kappa >= -1e-12, "expected",
             f"an AC1 of {expected:g} is below {floor:.3f}, the AC1 of raters who agree only by chance with this "
             "prevalence")
    return max(kappa, 0.0)


def _check_design(statistic, expected, prevalence, raters_per_item, n_raters, confidence) -> tuple[dict, np.ndarray]:
    """The validated design as the common fields of a ``DesignWidth``, and the prevalence as an array."""
    _require(statistic in STATISTICS, "statistic", f"must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    p = _prevalence(prevalence)
    expected = _number(expected, "expected")
    _require(0 <= expected < 1, "expected",
             "must lie in [0, 1): at 1 every design has width 0, and planning for agreement below chance is "
             "not supported")
    confidence = _number(confidence, "confidence")
    _require(0 < confidence < 1, "confidence", "must lie strictly between 0 and 1")
    _require(isinstance(raters_per_item, int | np.integer) and 2 <= raters_per_item <= MAX_RATERS,
             "raters_per_item", f"must be a whole number from 2 to {MAX_RATERS}")
    pool = raters_per_item if n_raters is None else n_raters
    _require(isinstance(pool, int | np.integer) and raters_per_item <= pool <= MAX_RATERS, "n_raters",
             f"must be a whole number from the raters per item ({raters_per_item}) to {MAX_RATERS}")
    _require(statistic != "average_cohen_kappa" or pool <= MAX_PAIRWISE_POOL, "n_raters",
             f"the average pairwise kappa is simulated for pools of at most {MAX_PAIRWISE_POOL} raters "
             "(Fleiss' kappa and AC1 do not depend on the pool)")
    _require(statistic != "cohen_kappa" or pool == 2, "raters_per_item",
             "Cohen's kappa compares two raters: choose the average pairwise kappa or Fleiss' kappa for more")
    kappa = model_kappa(statistic, expected, p)
    common = {"statistic": statistic, "expected": expected, "kappa": kappa, "prevalence": tuple(map(float, p)),
              "raters_per_item": int(raters_per_item), "n_raters": int(pool), "confidence": confidence}
    return common, p


def _closed_form(common: dict) -> bool:
    return common["statistic"] in ("cohen_kappa", "average_cohen_kappa") and common["n_raters"] == 2


# ------------------------------------------------------------------------------------------ closed form


def model_table(kappa: float, prevalence) -> np.ndarray:
    """The two raters' K x K table of probabilities under the rating model."""
    p = _prevalence(prevalence)
    return (1 - kappa) * np.outer(p, p) + kappa * np.diag(p)


def kappa_variance(kappa: float, prevalence) -> float:
    """V = n Var(kappa_hat) for large n: Fleiss, Cohen & Everitt (1969) at the model's table."""
    return float(kappa_from_tables(model_table(kappa, prevalence)[None], None)["se"][0] ** 2)


def _z(confidence: float) -> float:
    return float(stats.norm.ppf((1 + confidence) / 2))


# ------------------------------------------------------------------------------------------ simulation


def _ratings(rng, reps: int, n: int, m: int, p: np.ndarray, theta: float) -> np.ndarray:
    """(reps, n, m) category indices: each rater keeps the true category with probability theta."""
    truth = rng.choice(len(p), size=(reps, n), p=p)
    noise = rng.choice(len(p), size=(reps, n, m), p=p)
    return np.where(rng.random((reps, n, m)) < theta, truth[..., None], noise)


class _UnweightedItems(PooledItems):
    """``PooledItems`` whose features hold only the columns unweighted Fleiss' kappa and AC1 read (the item
    count, pairable items, unweighted p_a,i, category shares): a third of the work on simulated studies."""

    @property
    def features(self) -> np.ndarray:
        columns = self._slices()
        f = np.zeros((self.n, 5 + self.k + self.k * self.k))
        f[:, columns["one"]] = 1.0
        f[:, columns["m2"]] = self.pairable
        f[:, columns["pa"][None]] = self.pa_items(None)
        f[:, columns["q"]] = self.counts / self.r[:, None]
        return f


def _pooled_values(x: np.ndarray, k: int, method: str, ns: np.ndarray) -> np.ndarray:
    """Fleiss / AC1 of each simulated study on its first n items, for every n in ``ns``: (studies, len(ns)),
    by ``PooledItems.coefficient`` on cumulated per-item sums."""
    reps, n, m = x.shape
    items = _UnweightedItems(x.reshape(reps * n, m).astype(float), k)
    sums = np.cumsum(items.features.reshape(reps, n, -1), axis=1)[:, ns - 1]
    return items.coefficient(sums, method, None)


def _draw_raters(rng, shape: tuple[int, ...], pool: int) -> np.ndarray:
    """Sorted distinct rater indices, ``shape[-1]`` of ``pool`` per item, uniformly (Floyd's algorithm)."""
    m = shape[-1]
    chosen = np.empty(shape, np.int64)
    for j, top in enumerate(range(pool - m, pool)):
        pick = rng.integers(0, top + 1, size=shape[:-1])
        taken = (chosen[..., :j] == pick[..., None]).any(axis=-1)
        chosen[..., j] = np.where(taken, top, pick)
    return np.sort(chosen, axis=-1)


def _pairwise_values(x: np.ndarray, k: int, pool: int, rng, ns: np.ndarray) -> np.ndarray:
    """Light's average of the pairwise kappas (mean over defined pairs, as ``pairwise_cohen_kappa``) on the
    first n items, for every n in ``ns``. With a pool larger than the raters per item, each item goes to
    ``m`` raters drawn at random (the loads of the balanced planner, in expectation)."""
    reps, n, m = x.shape
    raters = np.broadcast_to(np.arange(m), x.shape) if pool == m else _draw_raters(rng, x.shape, pool)
    ia, ib = np.triu_indices(m, k=1)
    pair = raters[..., ia] * pool + raters[..., ib]  # a < b: the upper triangle of pool x pool
    size = pool * pool * k * k
    cells = (pair * k + x[..., ia]) * k + x[..., ib] + (np.arange(reps) * size)[:, None, None]
    upper = np.triu(np.ones((pool, pool), bool), k=1).ravel()
    tables = np.zeros(reps * size)
    out = np.empty((reps, len(ns)))
    done = 0
    for j, upto in enumerate(ns):
        tables += np.bincount(cells[:, done:upto].ravel(), minlength=reps * size)
        done = upto
        res = kappa_from_tables(tables.reshape(reps, pool * pool, k, k)[:, upper], None)
        defined = res["defined"].sum(axis=1)
        total = np.where(res["defined"], res["kappa"], 0.0).sum(axis=1)
        out[:, j] = np.divide(total, defined, out=np.full(reps, np.nan), where=defined > 0)
    return out


def _simulated_sds(common: dict, p: np.ndarray, ns: np.ndarray, n_replicates: int,
                   seed) -> tuple[np.ndarray, np.ndarray, int]:
    """SD of the coefficient over simulated studies after their first n items, for every n in ``ns`` (sorted),
    with the studies left out because the coefficient was undefined there, and the studies simulated. All n
    share the same studies (common random numbers), so the widths fall smoothly with n."""
    statistic, m, pool = common["statistic"], common["raters_per_item"], common["n_raters"]
    n_sim = int(ns[-1])
    tables = 0 if statistic in _POOLED else pool * pool * len(p) ** 2  # pair tables held per study
    budget = min(_CELLS_PER_EVALUATION // (n_sim * m), _TABLE_CELLS_PER_EVALUATION // max(1, len(ns) * tables))
    reps = int(min(n_replicates, max(MIN_REPLICATES, budget)))
    rng = np.random.default_rng(seed)
    chunk = max(1, _CELLS_PER_CHUNK // (n_sim * m + tables))
    values = []
    for start in range(0, reps, chunk):
        x = _ratings(rng, min(chunk, reps - start), n_sim, m, p, math.sqrt(common["kappa"]))
        if statistic in _POOLED:
            values.append(_pooled_values(x, len(p), _POOLED[statistic], ns))
        else:
            values.append(_pairwise_values(x, len(p), pool, rng, ns))
    values = np.concatenate(values)
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    mean = np.divide(np.where(finite, values, 0).sum(axis=0), count, out=np.zeros(len(ns)), where=count > 0)
    squares = (np.where(finite, values - mean, 0) ** 2).sum(axis=0)
    variance = np.divide(squares, count - 1, out=np.full(len(ns), np.nan), where=count >= 2)
    return np.sqrt(variance), len(values) - count, reps


# ------------------------------------------------------------------------------------------ public API


def design_width(
    *,
    statistic: str,
    expected: float,
    prevalence: Sequence[float],
    n_items: int,
    raters_per_item: int = 2,
    n_raters: int | None = None,
    confidence: float = 0.95,
    n_replicates: int = N_REPLICATES,
    seed: int | None = 0,
) -> DesignWidth:
    """What a design achieves: the expected full width of the interval with ``n_items`` items, each rated
    by ``raters_per_item`` of ``n_raters`` raters (None: the same raters rate every item)."""
    common, p = _check_design(statistic, expected, prevalence, raters_per_item, n_raters, confidence)
    _require(isinstance(n_items, int | np.integer) and 2 <= n_items <= MAX_ITEMS, "n_items",
             f"must be a whole number from 2 to {MAX_ITEMS:,}")
    _check_replicates(n_replicates)
    return _width(common, p, int(n_items), n_replicates, seed)


def _width(common: dict, p: np.ndarray, n: int, n_replicates: int, seed) -> DesignWidth:
    if _closed_form(common):
        return _closed_design(common, n, math.sqrt(kappa_variance(common["kappa"], p)))
    simulated = min(n, SIMULATED_ITEMS_MAX)
    sds, undefined, reps = _simulated_sds(common, p, np.array([simulated]), n_replicates, seed)
    return _simulated_design(common, n, simulated, float(sds[0]), int(undefined[0]), reps, seed)


def _closed_design(common: dict, n: int, sd1: float) -> DesignWidth:
    """The design of ``n`` items when one item gives the large-sample SD ``sd1``."""
    se = sd1 / math.sqrt(n)
    return DesignWidth(**common, n_items=n, width=2 * _z(common["confidence"]) * se, se=se,
                       method=METHOD_CLOSED_FORM, interval_method=INTERVAL_WALD,
                       reference=REFERENCES[METHOD_CLOSED_FORM])


def _simulated_design(common: dict, n: int, simulated: int, sd: float, undefined: int, reps: int,
                      seed) -> DesignWidth:
    """The design of ``n`` items from the SD simulated on ``simulated`` items, scaled by sqrt(simulated / n)."""
    _require(math.isfinite(sd), "prevalence",
             "a category this rare leaves the simulated studies without variation, where the coefficient is undefined")
    se = sd * math.sqrt(simulated / n)
    return DesignWidth(**common, n_items=n, width=2 * _z(common["confidence"]) * se, se=se,
                       method=METHOD_SIMULATION, interval_method=INTERVAL_SIMULATED,
                       reference=REFERENCES[METHOD_SIMULATION], n_replicates=reps, n_undefined=undefined,
                       simulated_items=simulated if simulated != n else None, seed=seed)


def _check_replicates(n_replicates) -> None:
    _require(isinstance(n_replicates, int) and MIN_REPLICATES <= n_replicates <= MAX_REPLICATES, "n_replicates",
             f"must be a whole number from {MIN_REPLICATES} to {MAX_REPLICATES:,}")


def _check_width(width) -> float:
    width = _number(width, "width")
    _require(0 < width <= 2, "width", "the full width of the interval must lie in (0, 2]")
    return width


def sample_size_for_width(
    *,
    statistic: str,
    expected: float,
    prevalence: Sequence[float],
    width: float,
    raters_per_item: int = 2,
    n_raters: int | None = None,
    confidence: float = 0.95,
    n_replicates: int = N_REPLICATES,
    seed: int | None = 0,
) -> SampleSizePlan:
    """The fewest items whose expected interval of ``statistic`` is at most ``width`` wide (full width)."""
    target = _check_width(width)
    _check_replicates(n_replicates)
    common, p = _check_design(statistic, expected, prevalence, raters_per_item, n_raters, confidence)
    if _closed_form(common):
        sd1 = math.sqrt(kappa_variance(common["kappa"], p))
        wanted = math.ceil((2 * _z(confidence) * sd1 / target) ** 2 - 1e-9)
        return _plan(target, wanted, _closed_design(common, min(max(wanted, MIN_ITEMS), MAX_ITEMS), sd1))
    grid = _SEARCH_GRID if statistic in _POOLED else _PAIRWISE_GRID
    # A pilot finds roughly where the answer lies; the studies are then simulated only that far (half as many
    # items again), so the same budget buys more of them where the width is read.
    pilot, _, _ = _simulated_sds(common, p, grid, MIN_REPLICATES, seed)
    rough = _smallest_n(grid, 2 * _z(confidence) * pilot, target)[0]
    grid = grid[: max(1, int(np.searchsorted(grid, 1.5 * rough)) + 1)]
    sds, undefined, reps = _simulated_sds(common, p, grid, n_replicates, seed)
    wanted, i = _smallest_n(grid, 2 * _z(confidence) * sds, target)
    n = min(max(wanted, MIN_ITEMS), MAX_ITEMS)
    return _plan(target, wanted, _simulated_design(common, n, int(grid[i]), float(sds[i]), int(undefined[i]), reps,
                                                   seed))


def _smallest_n(grid: np.ndarray, widths: np.ndarray, target: float) -> tuple[int, int]:
    """(smallest n with a width at most ``target``, the grid index it was read from): the 1/sqrt(n) law from the
    first grid point narrow enough (never at or below the grid point before it), or from the last one."""
    narrow = np.flatnonzero(widths <= target)
    i = int(narrow[0]) if narrow.size else len(grid) - 1
    _require(math.isfinite(widths[i]), "prevalence",
             "a category this rare leaves the simulated studies without variation, where the coefficient is undefined")
    wanted = math.ceil(grid[i] * (widths[i] / target) ** 2 - 1e-9)
    if narrow.size and i > 0:
        wanted = max(wanted, int(grid[i - 1]) + 1)
    return wanted, i


def _plan(target: float, wanted: int, design: DesignWidth) -> SampleSizePlan:
    """The plan for ``design``; ``wanted`` is the unbounded answer (kept within MIN_ITEMS..MAX_ITEMS)."""
    messages = []
    capped, floored = wanted > MAX_ITEMS, wanted < MIN_ITEMS
    if capped:
        messages.append(f"A width of {target:g} needs more than {MAX_ITEMS:,} items; {MAX_ITEMS:,} items give "
                        f"{design.width:.3f}. Widen the interval or add raters per item.")
    if floored:
        messages.append(f"{wanted} items would do in theory, but a large-sample width means little on fewer than "
                        f"{MIN_ITEMS} items: plan at least {MIN_ITEMS}.")
    if design.n_undefined:
        messages.append(f"{design.n_undefined} of {design.n_replicates} simulated studies had no variation "
                        "(the coefficient is undefined) and were left out.")
    return SampleSizePlan(target_width=target, n_items=design.n_items, design=design, capped=capped, floored=floored,
                          messages=tuple(messages))


def raters_for_width(
    *,
    statistic: str,
    expected: float,
    prevalence: Sequence[float],
    width: float,
    n_items: int,
    max_raters: int = 10,
    confidence: float = 0.95,
    n_replicates: int = N_REPLICATES,
    seed: int | None = 0,
) -> RatersPlan:
    """The fewest raters per item (every item rated by the same raters) reaching ``width`` on ``n_items``
    items; the width falls with more raters, so the search bisects between 2 and ``max_raters``."""
    target = _check_width(width)
    _require(statistic != "cohen_kappa", "statistic", "Cohen's kappa has two raters; there is nothing to choose")
    _require(isinstance(max_raters, int) and 2 <= max_raters <= MAX_RATERS, "max_raters",
             f"must be a whole number from 2 to {MAX_RATERS}")

    def at(m: int) -> DesignWidth:
        return design_width(statistic=statistic, expected=expected, prevalence=prevalence, n_items=n_items,
                            raters_per_item=m, confidence=confidence, n_replicates=n_replicates, seed=seed)

    designs = {max_raters: at(max_raters)}
    if designs[max_raters].width > target:
        return RatersPlan(target_width=target, raters_per_item=None, design=designs[max_raters], messages=(
            f"Even {max_raters} raters per item give a width of {designs[max_raters].width:.3f} on "
            f"{n_items:,} items.",))
    low, high = 2, max_raters
    while low < high:
        mid = (low + high) // 2
        designs[mid] = at(mid)
        if designs[mid].width <= target:
            high = mid
        else:
            low = mid + 1
    return RatersPlan(target_width=target, raters_per_item=high, design=designs[high])


def _noncentrality(alpha: float, power: float) -> float:
    """lambda with P(chi2_1(lambda) > chi2_1 critical value at alpha) = power."""
    critical = stats.chi2.isf(alpha, 1)
    return float(optimize.brentq(lambda lam: stats.ncx2.sf(critical, 1, lam) - power, 1e-9, 1e4))


def _three_cells(kappa: float, pi: float) -> np.ndarray:
    """Probabilities of an item rated positive by both raters, by one, by none (Donner & Eliasziw 1992)."""
    q = pi * (1 - pi)
    return np.array([pi**2 + kappa * q, 2 * (1 - kappa) * q, (1 - pi) ** 2 + kappa * q])


def kappa_test_sample_size(
    *, kappa0: float, kappa1: float, prevalence: float, alpha: float = 0.05, power: float = 0.8
) -> KappaTestPlan:
    """Items for the goodness-of-fit test of H0: kappa = kappa0 against kappa = kappa1 with the given power
    (two raters, two categories; ``prevalence`` is the share of the positive category)."""
    kappa0, kappa1 = _number(kappa0, "kappa0"), _number(kappa1, "kappa1")
    pi, alpha, power = _number(prevalence, "prevalence"), _number(alpha, "alpha"), _number(power, "power")
    for field, value in (("kappa0", kappa0), ("kappa1", kappa1)):
        _require(0 <= value < 1, field, "must lie in [0, 1)")
    _require(kappa0 != kappa1, "kappa1", "must differ from kappa0")
    _require(0 < pi < 1, "prevalence", "must lie strictly between 0 and 1")
    _require(0 < alpha < 1, "alpha", "must lie strictly between 0 and 1")
    _require(alpha < power < 1, "power", "must lie between alpha and 1")
    p0, p1 = _three_cells(kappa0, pi), _three_cells(kappa1, pi)
    effect = float(((p1 - p0) ** 2 / p0).sum())
    lam = _noncentrality(alpha, power)
    return KappaTestPlan(kappa0=kappa0, kappa1=kappa1, prevalence=pi, alpha=alpha, power=power,
                         n_items=math.ceil(lam / effect - 1e-9), noncentrality=lam)
