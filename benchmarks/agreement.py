"""Benchmark: the full agreement report on 1,000,000 ratings vs a naive per-pair scikit-learn loop.

Data: 50 raters; every rating has a safety label (3 categories, nominal) and a reasoning score
(1-5, ordinal); 40 % of the items x raters cells are missing, so 1,000,000 ratings fall on ~33,334
items. Ratings are simulated (a latent item value plus rater noise and bias), seeded.

Full report, per dimension, one ``agreement_summary`` call: every pairwise Cohen's kappa (1,225 pairs;
unweighted for safety, quadratic for reasoning) with FCE standard errors and the jackknife interval of
their mean, percent agreement, Fleiss' kappa, Gwet's AC1 (and AC2 for reasoning), Brennan-Prediger,
Krippendorff's alpha (nominal for safety; nominal, ordinal and interval for reasoning), category
prevalence, and 1,000 item-bootstrap resamples shared by all the pooled coefficients.

Baseline, in the same run: ``sklearn.metrics.cohen_kappa_score`` called once per rater pair on the
co-rated items (point estimates only, both dimensions). It is timed on ``--naive-pairs`` pairs and
extrapolated linearly to all pairs (the output says so); ``--naive-pairs 0`` times every pair.

BLAS runs single-threaded by default (``--blas-threads``): on a busy 2-core machine OpenBLAS's
threads spin-wait for each other, and the matrix products ran 2x slower with two threads than with
one in our runs; a Celery worker process per core is the deployment anyway.

Goals: full report <= 10 s on 2 cores, and >= 10x faster than the naive loop. Both
ratios are printed: the full report against the naive all-pairs loop (literal goal) and our pairwise
step against the same loop (like for like). Results go to benchmarks/results/agreement.json.

    .venv/bin/python benchmarks/agreement.py            # full size
    .venv/bin/python benchmarks/agreement.py --quick    # small sizes, for the smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import krippendorff
import numpy as np
import scipy
import sklearn
from sklearn.metrics import cohen_kappa_score
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agreement.metrics import agreement_summary  # noqa: E402

SAFETY_LABELS = ["compliant", "partially_compliant", "non_compliant"]
REASONING_LABELS = [1, 2, 3, 4, 5]
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "agreement.json"


def make_data(n_ratings: int, n_raters: int, missing: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two items x raters matrices (safety 0..2, reasoning 0..4) with about ``n_ratings`` ratings each."""
    rng = np.random.default_rng(seed)
    n_items = int(round(n_ratings / (n_raters * (1 - missing))))
    latent = rng.normal(size=n_items)
    bias = rng.normal(scale=0.3, size=n_raters)
    noise = rng.normal(scale=0.8, size=(n_items, n_raters))
    value = latent[:, None] + bias[None, :] + noise
    reasoning = np.clip(np.round(value + 2), 0, 4)
    safety = np.digitize(-value, [0.8, 1.8]).astype(float)  # mostly compliant, as in the study
    absent = rng.random((n_items, n_raters)) < missing
    reasoning[absent] = np.nan
    safety[absent] = np.nan
    return safety, reasoning


def full_report(safety: np.ndarray, reasoning: np.ndarray, n_boot: int, seed: int) -> dict:
    return {
        "safety": agreement_summary(safety, labels=SAFETY_LABELS, ordinal=False, n_boot=n_boot, seed=seed),
        "reasoning": agreement_summary(reasoning, labels=REASONING_LABELS, ordinal=True, n_boot=n_boot, seed=seed),
    }


def naive_pairs(matrix: np.ndarray, labels: list, weights: str | None, pairs: list[tuple[int, int]]) -> list:
    out = []
    for a, b in pairs:
        both = ~np.isnan(matrix[:, a]) & ~np.isnan(matrix[:, b])
        out.append(cohen_kappa_score(matrix[both, a], matrix[both, b], labels=list(range(len(labels))),
                                     weights=weights))
    return out


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit_learn": sklearn.__version__,
        "krippendorff": getattr(krippendorff, "__version__", "0.9.0"),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--missing", type=float, default=0.4)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--naive-pairs", type=int, default=200,
                        help="pairs timed in the naive loop, extrapolated to all pairs (0 = all)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--output", type=Path, default=None, help=f"JSON output (default {DEFAULT_OUTPUT})")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads for the whole run (0 = the library default)")
    args = parser.parse_args(argv)
    with threadpool_limits(args.blas_threads or None):
        return run(args)


def run(args: argparse.Namespace) -> dict:
    if args.quick:
        args.ratings, args.raters, args.boot, args.naive_pairs = 6_000, 8, 50, 0
    output = args.output or (None if args.quick else DEFAULT_OUTPUT)

    info = machine_info()
    t0 = time.perf_counter()
    safety, reasoning = make_data(args.ratings, args.raters, args.missing, args.seed)
    t_data = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = full_report(safety, reasoning, args.boot, args.seed)
    t_report = time.perf_counter() - t0

    # our pairwise step alone, for the like-for-like ratio
    from agreement.metrics import pairwise_cohen_kappa

    t0 = time.perf_counter()
    ours_safety = pairwise_cohen_kappa(safety, labels=SAFETY_LABELS)
    ours_reasoning = pairwise_cohen_kappa(reasoning, labels=REASONING_LABELS, weights="quadratic")
    t_pairwise = time.perf_counter() - t0

    all_pairs = [(a, b) for a in range(args.raters) for b in range(a + 1, args.raters)]
    timed = all_pairs if args.naive_pairs in (0, None) or args.naive_pairs >= len(all_pairs) else [
        all_pairs[i] for i in np.random.default_rng(args.seed).choice(len(all_pairs), args.naive_pairs, replace=False)
    ]
    t0 = time.perf_counter()
    naive_s = naive_pairs(safety, SAFETY_LABELS, None, timed)
    naive_r = naive_pairs(reasoning, REASONING_LABELS, "quadratic", timed)
    t_naive_timed = time.perf_counter() - t0
    t_naive = t_naive_timed * len(all_pairs) / len(timed)

    # the two implementations must agree on the pairs both computed
    index = {(p.rater_a, p.rater_b): p.kappa.value for p in ours_safety.pairs}
    index_r = {(p.rater_a, p.rater_b): p.kappa.value for p in ours_reasoning.pairs}
    max_diff = max(
        max(abs(index[pair] - v) for pair, v in zip(timed, naive_s, strict=True)),
        max(abs(index_r[pair] - v) for pair, v in zip(timed, naive_r, strict=True)),
    )

    n_ratings = int((~np.isnan(safety)).sum())
    result = {
        "benchmark": "agreement full report vs naive per-pair cohen_kappa_score loop",
        "quick": args.quick,
        "blas_threads": args.blas_threads or "library default",
        "machine": info,
        "data": {"ratings_per_dimension": n_ratings, "items": int(safety.shape[0]), "raters": args.raters,
                 "missing_share": args.missing, "dimensions": {"safety": len(SAFETY_LABELS),
                                                                "reasoning": len(REASONING_LABELS)},
                 "pairs": len(all_pairs), "seed": args.seed, "generation_s": round(t_data, 3)},
        "full_report": {"seconds": round(t_report, 3), "bootstrap_resamples": args.boot,
                        "contents": "per dimension: all pairwise kappas (FCE SE, jackknife CI of the mean), "
                                    "percent agreement, Fleiss, AC1 (+AC2), Brennan-Prediger, alpha "
                                    "(nominal; + ordinal, interval for reasoning), prevalence, shared item "
                                    "bootstrap for all pooled coefficients"},
        "our_pairwise_step": {"seconds": round(t_pairwise, 3)},
        "naive_loop": {"seconds_extrapolated_all_pairs": round(t_naive, 3), "seconds_timed": round(t_naive_timed, 3),
                       "pairs_timed": len(timed), "pairs_total": len(all_pairs),
                       "extrapolated": len(timed) < len(all_pairs),
                       "max_abs_difference_vs_ours": max_diff},
        "ratios": {"naive_loop_over_full_report": round(t_naive / t_report, 2),
                   "naive_loop_over_our_pairwise_step": round(t_naive / t_pairwise, 2)},
        "goals": {"full_report_le_10s": t_report <= 10.0,
                  "full_report_ge_10x_faster_than_naive_loop": t_naive / t_report >= 10.0,
                  "pairwise_step_ge_10x_faster_than_naive_loop": t_naive / t_pairwise >= 10.0},
        "headline": {
            dim: {"average_kappa": rep.pairwise.average.value, "average_kappa_ci": [rep.pairwise.average.ci_low,
                                                                                     rep.pairwise.average.ci_high],
                  "fleiss_kappa": rep.fleiss_kappa.value, "fleiss_ci": [rep.fleiss_kappa.ci_low,
                                                                        rep.fleiss_kappa.ci_high],
                  "alpha": {lvl: c.value for lvl, c in rep.alpha.items()}, "max_prevalence": rep.max_prevalence}
            for dim, rep in report.items()
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    extrapolated = f" (extrapolated from {len(timed)} of {len(all_pairs)} pairs)" if len(timed) < len(all_pairs) else ""
    print(f"data: {n_ratings:,} ratings x 2 dimensions, {safety.shape[0]:,} items, {args.raters} raters, "
          f"{len(all_pairs):,} pairs; load average at start {info['load_average_at_start'][0]:.2f}")
    print(f"full report ({args.boot} bootstrap resamples): {t_report:8.2f} s")
    print(f"  our pairwise kappas alone:              {t_pairwise:8.2f} s")
    print(f"naive per-pair cohen_kappa_score loop:    {t_naive:8.2f} s{extrapolated}")
    print(f"ratio naive / full report: {t_naive / t_report:.1f}x; naive / our pairwise step: "
          f"{t_naive / t_pairwise:.1f}x; max |difference| {max_diff:.1e}")
    for goal, met in result["goals"].items():
        print(f"goal {goal}: {'met' if met else 'NOT met'}")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {output}")
    return result


if __name__ == "__main__":
    main()
