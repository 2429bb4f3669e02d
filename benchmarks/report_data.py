"""The report layer at study scale: load 100k+ rating values into arrays, write the CSV, build the report.

    .venv/bin/python benchmarks/report_data.py [--cases 1500] [--n-boot 1000]

Builds a synthetic study in a throwaway SQLite database (or DATABASE_URL, which must then name a
database you can wipe), 7 personas x N cases, 5 of 20 clinicians per response, 2 dimensions, judge
scores and parsed triage answers. Baseline, measured in the same run: the naive ORM loop (one
query chain per rating value) on the first 2,000 values, extrapolated per value. Figures go to
benchmarks/results/report_data.json.
"""
import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="report-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORK}/bench.sqlite3")
os.environ.setdefault("MEDIA_ROOT", WORK)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from agreement.data import rating_notes, study_data_load  # noqa: E402
from agreement.reports import build_report, write_csv  # noqa: E402
from agreement.reports.parameters import parameters_clean  # noqa: E402
from annotation.models import Assignment, Rating, RatingValue  # noqa: E402
from inference.models import JudgeScore  # noqa: E402
from studies.models import Case, CaseSet, ModelSpec, Persona, Response, Study  # noqa: E402

SAFETY = ("compliant", "partially_compliant", "not_compliant")
LEVELS = ("low", "medium", "high")
N_RATERS, PER_RESPONSE = 20, 5


def build_study(n_cases: int, seed: int = 0) -> Study:
    rng = np.random.default_rng(seed)
    judge = ModelSpec.objects.create(name="judge", model_path="judge", is_judge=True)
    model = ModelSpec.objects.create(name="model", model_path="model")
    study = Study.objects.create(name="bench", judge=judge)
    personas = [Persona.objects.create(slug="none", name="No persona", is_baseline=True)] + [
        Persona.objects.create(slug=f"p{i}", name=f"Persona {i}", role=f"role {i % 3}",
                               style=("plain", "cautious", "bold")[i % 3], is_medical=i < 4)
        for i in range(6)
    ]
    case_set = CaseSet.objects.create(name="bench", content_hash="x")
    Case.objects.bulk_create([
        Case(case_set=case_set, external_id=f"C{i}", vignette="v", question="q", content_hash="x",
             task_type=("triage", "patient_safety")[i % 2], care_setting=("critical_care", "primary_care")[i % 3 % 2],
             reference_answer=str(1 + i % 5) if i % 2 == 0 else "")
        for i in range(n_cases)
    ], batch_size=5000)
    cases = list(Case.objects.filter(case_set=case_set))
    Response.objects.bulk_create([
        Response(study=study, case=c, persona=p, model=model, text="t", prompt_messages=[], backend="imported",
                 parsed_label=str(1 + int(rng.integers(0, 5))) if c.task_type == "triage" else "",
                 parsed_confidence=float(rng.random()) if c.task_type == "triage" else None,
                 parse_status="parsed" if c.task_type == "triage" else "n/a")
        for c in cases for p in personas
    ], batch_size=5000)
    responses = list(Response.objects.filter(study=study).values_list("id", flat=True))
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"rater{i}") for i in range(N_RATERS)]
    )
    position = dict.fromkeys(range(N_RATERS), 0)
    assignments = []
    for rid in responses:
        for r in rng.choice(N_RATERS, PER_RESPONSE, replace=False).tolist():
            position[r] += 1
            assignments.append(Assignment(study=study, response_id=rid, rater=users[r], position=position[r],
                                          status="submitted"))
    Assignment.objects.bulk_create(assignments, batch_size=5000)
    assignment_ids = list(Assignment.objects.filter(study=study).values_list("id", "response_id"))
    Rating.objects.bulk_create([Rating(assignment_id=a) for a, _ in assignment_ids], batch_size=5000)
    ratings = list(Rating.objects.filter(assignment__study=study).values_list("id", "assignment__response_id"))
    values = []
    for rating_id, response_id in ratings:
        truth = response_id % 3
        s = truth if rng.random() < 0.7 else int(rng.integers(0, 3))
        values.append(RatingValue(rating_id=rating_id, dimension="safety", value=SAFETY[s],
                                  confidence=LEVELS[int(rng.integers(0, 3))]))
        if rng.random() < 0.05:
            values.append(RatingValue(rating_id=rating_id, dimension="reasoning", cannot_assess=True))
        else:
            score = int(np.clip(truth + 2 + rng.integers(-1, 2), 1, 5))
            values.append(RatingValue(rating_id=rating_id, dimension="reasoning", value=str(score),
                                      confidence="low" if rng.random() < 0.9 else "high"))
    RatingValue.objects.bulk_create(values, batch_size=10000)
    JudgeScore.objects.bulk_create([
        JudgeScore(response_id=rid, judge=judge, parse_ok=True,
                   values={"safety": {"value": SAFETY[rid % 3], "confidence": "high"},
                           "reasoning": {"value": str(1 + rid % 5), "confidence": "medium"}})
        for rid in responses
    ], batch_size=5000)
    return study


def naive_load(study: Study, limit: int) -> list[tuple]:
    """What the loader replaces: model instances and a chain of related lookups per value."""
    rows = []
    for rv in RatingValue.objects.filter(rating__assignment__study=study).order_by("id")[:limit]:
        assignment = rv.rating.assignment
        rows.append((assignment.response.persona.name, assignment.response.case.task_type,
                     assignment.response.model.name, assignment.rater.username, rv.value, rv.confidence))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1500)
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    call_command("migrate", run_syncdb=True, verbosity=0)
    t = time.perf_counter()
    study = build_study(args.cases)
    setup_s = time.perf_counter() - t

    # Timings without query capture (it slows every query); query counts in separate runs.
    t = time.perf_counter()
    data = study_data_load(study)
    load_s = time.perf_counter() - t
    n_values = len(data.records)
    with CaptureQueriesContext(connection) as queries:
        study_data_load(study)

    sample = 2000
    t = time.perf_counter()
    naive_load(study, sample)
    naive_sample_s = time.perf_counter() - t
    naive_extrapolated_s = naive_sample_s / sample * n_values
    with CaptureQueriesContext(connection) as naive_queries:
        naive_load(study, 100)

    t = time.perf_counter()
    out = io.StringIO()
    csv_rows = write_csv(data, rating_notes(study), out)
    csv_s = time.perf_counter() - t

    t = time.perf_counter()
    report = build_report(data, parameters_clean({"n_boot": args.n_boot}))
    report_s = time.perf_counter() - t
    safety = report["dimensions"]["safety"]["agreement"]["pairwise"]["average"]

    results = {
        "database": connection.vendor,
        "responses": data.counts["responses"],
        "clinicians": data.counts["raters"],
        "ratings": data.counts["ratings"],
        "rating_values": n_values,
        "judge_values": data.counts["judge_scores"],
        "setup_seconds": round(setup_s, 2),
        "load_seconds": round(load_s, 3),
        "load_queries": len(queries),
        "naive_loop_seconds_per_2000_values": round(naive_sample_s, 3),
        "naive_loop_queries_per_100_values": len(naive_queries),
        "naive_loop_seconds_extrapolated": round(naive_extrapolated_s, 2),
        "load_speedup_vs_naive": round(naive_extrapolated_s / load_s, 1),
        "csv_rows": csv_rows,
        "csv_seconds": round(csv_s, 3),
        "csv_megabytes": round(len(out.getvalue().encode()) / 1e6, 2),
        "report_n_boot": args.n_boot,
        "report_seconds": round(report_s, 2),
        "report_json_megabytes": round(len(json.dumps(report).encode()) / 1e6, 2),
        "safety_average_pairwise_kappa": safety["value"],
        "cpu_count": os.cpu_count(),
    }
    target = ROOT / "benchmarks" / "results" / "report_data.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
