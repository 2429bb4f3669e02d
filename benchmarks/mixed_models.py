"""Benchmark: fit time of the persona-effect mixed models (``agreement.metrics.mixed``) by study size.

A simulated study per size: cases x 10 personas (one the baseline) x 2 models, each response rated by
10 of 25 clinicians, so ``ratings`` = cases x 200. Outcomes are drawn from the models themselves
(latent persona, model and care-setting effects; case, clinician and response variance), seeded.
The fits the report makes per dimension and per study:

* ``ordinal_ratings``: one row per rating, MixedLM with crossed case, clinician and response effects,
  and the proportional-odds check;
* ``binary_ratings``: one row per rating, the logistic mixed model (variational Bayes) with the same
  random effects, and the GEE check;
* ``accuracy``: one row per response, logistic mixed model with case effects, and the GEE check;
* ``judge_scores``: one row per response, MixedLM with case effects.

Wall-clock seconds per fit go to benchmarks/results/mixed_models.json; timings are never asserted.
A fit above ``--max-seconds`` (estimated from the smaller sizes) is not started at larger sizes.

    .venv/bin/python benchmarks/mixed_models.py                    # 5,000, 20,000 and 50,000 ratings
    .venv/bin/python benchmarks/mixed_models.py --ratings 2000     # one size

Baseline in the same run: statsmodels ``MixedLM`` (formula interface) on the ordinal ratings model at
``--baseline-ratings`` (default 2,000), against this module's fit of the same model without its check.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # see benchmarks/agreement.py: one thread per worker process

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from agreement.metrics.mixed import mixed_model  # noqa: E402

PERSONAS, MODELS, CLINICIANS, PER_RESPONSE = 10, 2, 25, 10
OUTPUT = Path(__file__).resolve().parent / "results" / "mixed_models.json"


def simulate(n_ratings: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n_cases = max(2, n_ratings // (PERSONAS * MODELS * PER_RESPONSE))
    case = np.repeat(np.arange(n_cases), PERSONAS * MODELS)
    persona = np.tile(np.repeat(np.arange(PERSONAS), MODELS), n_cases)
    model = np.tile(np.arange(MODELS), n_cases * PERSONAS)
    setting = case % 2
    n = case.size
    eta = (np.linspace(0, 0.6, PERSONAS)[persona] + 0.3 * model + 0.2 * setting
           + rng.normal(0, 0.7, n_cases)[case] + rng.normal(0, 0.4, n))
    item = np.repeat(np.arange(n), PER_RESPONSE)
    rater = np.argsort(rng.random((n, CLINICIANS)), axis=1)[:, :PER_RESPONSE].ravel()
    latent = eta[item] + rng.normal(0, 0.5, CLINICIANS)[rater] + rng.logistic(size=item.size)
    labels = {"persona": np.array(["baseline"] + [f"persona {i}" for i in range(1, PERSONAS)], dtype=object)[persona],
              "care_setting": np.array(["emergency", "primary_care"], dtype=object)[setting],
              "model": np.array(["model a", "model b"], dtype=object)[model]}
    return {
        "n_cases": n_cases, "n_responses": n, "n_ratings": item.size,
        "ratings": {"fixed": {k: v[item] for k, v in labels.items()},
                    "random": {"case": case[item], "clinician": rater, "response": item},
                    "ordinal": np.digitize(latent, [-1.0, 0.5, 2.0]).astype(float),
                    "binary": (latent > 0.5).astype(float)},
        "responses": {"fixed": labels, "random": {"case": case},
                      "binary": (eta + rng.logistic(size=n) > 0.3).astype(float),
                      "score": eta + rng.normal(0, 0.5, n)},
    }


FITS = {
    "ordinal_ratings": ("ratings", "ordinal", "ordinal"),
    "binary_ratings": ("ratings", "binary", "binary"),
    "accuracy": ("responses", "binary", "binary"),
    "judge_scores": ("responses", "score", "score"),
}


def run(n_ratings: int, skip: set[str]) -> dict:
    study = simulate(n_ratings)
    out = {k: study[k] for k in ("n_cases", "n_responses", "n_ratings")}
    for name, (table, outcome, kind) in FITS.items():
        if name in skip:
            out[name] = {"skipped": "estimated above --max-seconds from the smaller size"}
            continue
        rows = study[table]
        start = time.perf_counter()
        fit = mixed_model(rows[outcome], kind=kind, fixed=rows["fixed"], random=rows["random"],
                          reference={"persona": "baseline"})
        seconds = time.perf_counter() - start
        out[name] = {"seconds": round(seconds, 2), "rows": fit.n_obs, "status": fit.status,
                     "check": fit.check.status if fit.check else None,
                     "warnings": list(fit.warnings) + list(fit.check.warnings if fit.check else ())}
        print(f"{n_ratings} ratings, {name}: {seconds:.1f} s ({fit.status})", flush=True)
    return out


def mixedlm_baseline(n_ratings: int) -> dict:
    """The baseline, same run: statsmodels ``MixedLM`` itself (formula interface, REML) on the ordinal ratings
    model without its check, against this module's fit of the same model; both give the same estimates."""
    import pandas as pd
    import statsmodels.formula.api as smf

    rows = simulate(n_ratings)["ratings"]
    frame = pd.DataFrame({**rows["fixed"], **rows["random"], "y": rows["ordinal"], "group": 1})
    start = time.perf_counter()
    smf.mixedlm("y ~ C(persona, Treatment('baseline')) + care_setting + model", frame, groups="group",
                re_formula="0", vc_formula={name: f"0 + C({name})" for name in rows["random"]}).fit(reml=True)
    statsmodels_seconds = time.perf_counter() - start
    start = time.perf_counter()
    mixed_model(rows["ordinal"], kind="ordinal", fixed=rows["fixed"], random=rows["random"],
                reference={"persona": "baseline"}, check=False)
    ours = time.perf_counter() - start
    print(f"{n_ratings} ratings, MixedLM {statsmodels_seconds:.1f} s vs {ours:.2f} s", flush=True)
    return {"n_ratings": n_ratings, "statsmodels_mixedlm_seconds": round(statsmodels_seconds, 2),
            "ours_seconds": round(ours, 3), "speed_up": round(statsmodels_seconds / ours, 1)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, nargs="+", default=[5_000, 20_000, 50_000])
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--baseline-ratings", type=int, default=2_000,
                        help="size of the MixedLM baseline (0: none); MixedLM's time grows fast with the levels")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    result = {"python": platform.python_version(), "cpu_count": os.cpu_count(), "sizes": []}
    if args.baseline_ratings:
        result["baseline"] = mixedlm_baseline(args.baseline_ratings)
    skip: set[str] = set()
    for n in sorted(args.ratings):
        size = run(n, skip)
        result["sizes"].append(size)
        # Fit time grows at least linearly in the rows: skip what would exceed the limit at the next size.
        skip |= {name for name in FITS if size[name].get("seconds", np.inf) * 2.5 > args.max_seconds}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
