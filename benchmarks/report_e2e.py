"""The agreement report end to end on PostgreSQL: database -> arrays -> metrics -> JSON, HTML and CSV files.

    .venv/bin/python benchmarks/report_e2e.py [--ratings 1000000] [--small 10000] [--db pl_report_e2e]

From a fresh clone: create the virtual environment (``pip install -r requirements-test.txt``), start a
PostgreSQL server, run the line above (three to eight minutes on 2 cores, with the machine's speed). It needs
only that server (``--server``, default postgres://postgres@127.0.0.1:5432); the database named by ``--db`` is
DROPPED and created anew, migrated, and filled with COPY (not the ORM): a study of ``--ratings`` ratings (2
models x 7 personas x N cases, 5 of 20 clinicians per response, about 2 % of ratings a test-retest repeat, 2
dimensions per rating, 5 % "cannot assess" on reasoning, one judge score per response, parsed triage answers
on half the cases) and a second, small study of ``--small`` ratings built the same way. Both are stored before
either is measured, as in a deployment's database, and then vacuumed and analysed (as autovacuum soon would:
no autovacuum runs while the reports are timed).

Timed per study, each the same service the page, the API and the task call (``report_generate``):
the HTML, JSON and CSV reports, each computed from the database, and then the HTML report again once
the JSON one exists (``html_from_json``: written from the JSON report's figures). The small study's
reports and baselines are measured ``--repeat-small`` times (5), the large study's ``--repeat-large`` times (3),
every report built anew, and their medians recorded beside every run (a shared machine's speed moves by a quarter
between runs, and more between days).
Baselines, measured in the same run on the same study:

1. loading floor: a bare ``COPY (SELECT <the loader's rating columns>) TO STDOUT`` (binary) read into
   numpy arrays, nothing else;
2. computing floor: the pure ``agreement_summary`` call (every pairwise kappa, Fleiss, Krippendorff,
   Gwet, the item bootstrap) on the already-loaded arrays of each dimension.

Beside them, once per study, where the time goes: loading (the records every format needs, then the items x
raters matrices the coefficients need and the CSV does not), computing in one process (also without the
persona-effect mixed models, which dominate small studies) and in the service's ``REPORT_PROCESSES``
(the reports above use that setting: by default the CPUs, up to 4), and each writer. The load average
(``uptime``) is recorded with the figures: the machine may be shared. Results go to benchmarks/results/report_e2e.json.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_RATERS, PER_RESPONSE, N_PERSONAS, N_MODELS = 20, 5, 7, 2
RETEST_SHARE = 0.02  # ratings that are a test-retest repeat
SAFETY = ("not_compliant", "partially_compliant", "compliant")
LEVELS = ("low", "medium", "high")
TASKS = ("triage", "patient_safety")
NULL = "\\N"  # COPY text format
SETTINGS = ("critical_care", "primary_care")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeat-small", type=int, default=5,
                        help="runs of the small study's floors and reports (medians recorded)")
    parser.add_argument("--repeat-large", type=int, default=3,
                        help="runs of the large study's floors and reports (medians recorded)")
    parser.add_argument("--db", default="pl_report_e2e", help="database to drop, create and fill")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "report_e2e.json"))
    return parser.parse_args()


def recreate_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    """COPY ... FROM STDIN in text format; `rows` yields tab-joined lines."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        chunk = []
        for line in rows:
            chunk.append(line)
            if len(chunk) == 50_000:
                copy.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            copy.write("\n".join(chunk) + "\n")


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
    return int(cursor.fetchone()[0])


def _reset_sequences(cursor, tables) -> None:
    for table in tables:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")


def build_study(name: str, n_ratings: int, seed: int):
    """A study of `n_ratings` ratings: small objects through the ORM, the bulk through COPY."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from studies.models import CaseSet, ModelSpec, Persona, Study

    rng = np.random.default_rng(seed)
    n_responses = max(int(n_ratings / (PER_RESPONSE * (1 + RETEST_SHARE))) // (N_PERSONAS * N_MODELS), 1) * (
        N_PERSONAS * N_MODELS)
    n_cases = n_responses // (N_PERSONAS * N_MODELS)
    n_repeats = max(n_ratings - n_responses * PER_RESPONSE, 0)
    with transaction.atomic():
        judge = ModelSpec.objects.create(name=f"{name} judge", model_path="judge", is_judge=True)
        models = [ModelSpec.objects.create(name=f"{name} model {m}", model_path=f"m{m}") for m in range(N_MODELS)]
        study = Study.objects.create(name=name, judge=judge)
        personas = [Persona.objects.create(slug=f"{name}-none", name="No persona", is_baseline=True)] + [
            Persona.objects.create(slug=f"{name}-p{i}", name=f"Persona {i}", role=f"role {i % 3}",
                                   style=("plain", "cautious", "bold")[i % 3], is_medical=i < 3)
            for i in range(N_PERSONAS - 1)]
        case_set = CaseSet.objects.create(name=name, content_hash="x")
        users = get_user_model().objects.bulk_create(
            [get_user_model()(username=f"{name}-rater{i}") for i in range(N_RATERS)])
        with connection.cursor() as django_cursor:
            cur = django_cursor.cursor
            if _superuser(cur):  # the rows are consistent by construction: skip the per-row foreign key checks
                cur.execute("SET LOCAL session_replication_role = replica")
            now = "2026-01-01 00:00:00+00"
            case0 = _next_id(cur, "studies_case")
            task = np.arange(n_cases) % 2
            _copy(cur, "studies_case", ("id", "created_at", "updated_at", "external_id", "vignette", "question",
                                        "task_type", "care_setting", "reference_answer", "metadata", "content_hash",
                                        "case_set_id"),
                  (f"{case0 + c}\t{now}\t{now}\tC{c}\tv\tq\t{TASKS[c % 2]}\t{SETTINGS[c % 3 % 2]}\t"
                   f"{1 + c % 5 if c % 2 == 0 else ''}\t{{}}\tx\t{case_set.id}" for c in range(n_cases)))
            # Responses: case-major, then model, then persona.
            resp0 = _next_id(cur, "studies_response")
            r_case = np.repeat(np.arange(n_cases), N_MODELS * N_PERSONAS)
            r_model = np.tile(np.repeat(np.arange(N_MODELS), N_PERSONAS), n_cases)
            r_persona = np.tile(np.arange(N_PERSONAS), n_cases * N_MODELS)
            triage = task[r_case] == 0
            label = rng.integers(1, 6, n_responses)
            conf = rng.random(n_responses)
            _copy(cur, "studies_response", (
                "id", "created_at", "updated_at", "sample_index", "code", "text", "prompt_messages",
                "rendered_prompt", "prompt_hash", "sampling", "backend", "model_revision", "provenance",
                "finish_reason", "parsed_label", "parsed_confidence", "parse_status", "leaks_persona", "leak_spans",
                "case_id", "model_id", "persona_id", "study_id"),
                (f"{resp0 + r}\t{now}\t{now}\t0\t{name}-R{r}\tt\t[]\t\t\t{{}}\timported\t\t{{}}\t\t"
                 + (f"{label[r]}\t{conf[r]:.4f}\tparsed" if triage[r] else "\t\\N\tn/a")
                 + f"\tf\t[]\t{case0 + r_case[r]}\t{models[r_model[r]].id}\t{personas[r_persona[r]].id}\t{study.id}"
                 for r in range(n_responses)))
            # Assignments: 5 distinct clinicians per response, then repeats of random first assignments.
            raters = np.argsort(rng.random((n_responses, N_RATERS)), axis=1)[:, :PER_RESPONSE].reshape(-1)
            a_resp = np.repeat(np.arange(n_responses), PER_RESPONSE)
            repeat_of = rng.choice(len(a_resp), n_repeats, replace=False)
            a_resp = np.concatenate([a_resp, a_resp[repeat_of]])
            raters = np.concatenate([raters, raters[repeat_of]])
            n_assign = len(a_resp)
            assign0 = _next_id(cur, "annotation_assignment")
            original = np.concatenate([np.zeros(n_assign - n_repeats, np.int64), assign0 + repeat_of])
            order = np.argsort(raters, kind="stable")
            position = np.empty(n_assign, np.int64)
            position[order] = np.arange(n_assign) - np.searchsorted(raters[order], raters[order])  # 0-based per rater
            position += 1
            active = rng.gamma(2.0, 30.0, n_assign)
            _copy(cur, "annotation_assignment", (
                "id", "created_at", "updated_at", "code", "position", "display_position", "is_anchor", "status",
                "draft", "submitted_at", "active_seconds", "rater_id", "repeat_of_id", "response_id", "study_id",
                "is_calibration"),
                (f"{assign0 + a}\t{now}\t{now}\t{name}-A{a}\t{position[a]}\t{position[a]}\tf\tsubmitted\t{{}}\t"
                 f"2026-01-02 {position[a] // 3600 % 24:02d}:{position[a] // 60 % 60:02d}:{position[a] % 60:02d}+00\t"
                 f"{active[a]:.1f}\t{users[raters[a]].id}\t{original[a] or NULL}\t{resp0 + a_resp[a]}\t"
                 f"{study.id}\tf" for a in range(n_assign)))
            rating0 = _next_id(cur, "annotation_rating")
            _copy(cur, "annotation_rating", ("id", "created_at", "updated_at", "comment", "is_dangerous",
                                             "dangerous_rationale", "revision", "assignment_id"),
                  (f"{rating0 + a}\t{now}\t{now}\t\tf\t\t1\t{assign0 + a}" for a in range(n_assign)))
            # Values: a latent truth per response, clinicians agree with it most of the time.
            truth = (np.arange(n_responses) * 7919) % 3
            t = truth[a_resp]
            safety = np.where(rng.random(n_assign) < 0.7, t, rng.integers(0, 3, n_assign))
            reasoning = np.clip(t + 2 + rng.integers(-1, 2, n_assign), 1, 5)
            cannot = rng.random(n_assign) < 0.05
            s_conf = rng.integers(0, 3, n_assign)
            r_conf = np.where(rng.random(n_assign) < 0.9, 0, 2)
            value0 = _next_id(cur, "annotation_ratingvalue")
            _copy(cur, "annotation_ratingvalue", ("id", "dimension", "value", "confidence", "cannot_assess",
                                                  "rating_id"),
                  (f"{value0 + 2 * a}\tsafety\t{SAFETY[safety[a]]}\t{LEVELS[s_conf[a]]}\tf\t{rating0 + a}\n"
                   + (f"{value0 + 2 * a + 1}\treasoning\t\t\tt\t{rating0 + a}" if cannot[a] else
                      f"{value0 + 2 * a + 1}\treasoning\t{reasoning[a]}\t{LEVELS[r_conf[a]]}\tf\t{rating0 + a}")
                   for a in range(n_assign)))
            judge0 = _next_id(cur, "inference_judgescore")
            _copy(cur, "inference_judgescore", ("id", "created_at", "updated_at", "values", "raw_text", "parse_ok",
                                                "attempts", "prompt_messages", "error", "provenance", "judge_id",
                                                "response_id"),
                  (f'{judge0 + r}\t{now}\t{now}\t{{"safety": {{"value": "{SAFETY[truth[r]]}", "confidence": "high"}}, '
                   f'"reasoning": {{"value": "{1 + (r * 31) % 5}", "confidence": "medium"}}}}\t\tt\t1\t[]\t\t{{}}\t'
                   f"{judge.id}\t{resp0 + r}" for r in range(n_responses)))
            _reset_sequences(cur, ("studies_case", "studies_response", "annotation_assignment", "annotation_rating",
                                   "annotation_ratingvalue", "inference_judgescore"))
            for table in ("studies_case", "studies_response", "annotation_assignment", "annotation_rating",
                          "annotation_ratingvalue", "inference_judgescore"):
                cur.execute(f"ANALYZE {table}")
    return study


def _superuser(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    return bool(cursor.fetchone()[0])


BINARY = {"int": ("bigint", ">i8"), "int4": ("integer", ">i4"), "float": ("double precision", ">f8"),
          "bool": ("boolean", "?"), "time": ("timestamptz", ">i8")}


def baseline_copy(study) -> tuple[float, int]:
    """The loading floor: a bare binary COPY of the loader's rating columns, rows parsed into numpy arrays."""
    from django.db import connection

    from agreement.data import _vocabularies
    from agreement.data_columns import rating_query
    from annotation.models import AssignmentStatus
    from studies.schema import study_schema

    columns, from_where, params = rating_query(study.id, AssignmentStatus.SUBMITTED, _vocabularies(study_schema(study)))
    # Fixed-width rows (no NULL): each column cast to its binary type, a missing time read as the epoch.
    select = ", ".join(f"CAST(COALESCE({e}, TIMESTAMPTZ 'epoch') AS timestamptz)" if kind == "time"
                       else f"CAST({e} AS {BINARY[kind][0]})" for e, kind in columns)
    row = np.dtype([("fields", ">i2")] + [f for i, (_, kind) in enumerate(columns)
                                           for f in ((f"n{i}", ">i4"), (f"c{i}", BINARY[kind][1]))])
    start = time.perf_counter()
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        chunks = []
        with cursor.copy(f"COPY (SELECT {select} {from_where}) TO STDOUT (FORMAT binary)", params) as copy:
            for data in copy:
                chunks.append(data)
    raw = b"".join(chunks)
    header = 19 + int.from_bytes(raw[15:19], "big")  # signature, flags, header extension
    rows = np.frombuffer(raw, row, count=(len(raw) - header - 2) // row.itemsize, offset=header)
    arrays = [rows[f"c{i}"].astype(rows.dtype[f"c{i}"].newbyteorder("=")) for i in range(len(columns))]
    return time.perf_counter() - start, len(arrays[0])


def baseline_compute(data, params: dict) -> float:
    """The computing floor: the pure agreement_summary call on each dimension's loaded arrays."""
    from threadpoolctl import threadpool_limits

    from agreement import metrics
    from agreement.metrics import release_kept

    release_kept()
    start = time.perf_counter()
    with threadpool_limits(1, user_api="blas"):
        for dim in data.dimensions.values():
            metrics.agreement_summary(dim.ratings, labels=dim.dimension.labels, ordinal=dim.dimension.is_ordinal,
                                      rater_ids=list(data.raters.username), n_boot=params["n_boot"],
                                      seed=params["seed"], confidence=params["ci_level"])
    release_kept()
    return time.perf_counter() - start


def stages(study, params: dict) -> tuple[dict, object]:
    """Where the time of one report goes: load, compute (in one process, as the service does with
    REPORT_PROCESSES=1, and in the service's processes), and each writer (measured once, outside the service)."""
    from django.conf import settings

    from agreement.data import rating_notes, study_data_load
    from agreement.reports import build_report, render_html, report_json, write_csv

    out = {}
    start = time.perf_counter()
    data = study_data_load(study)
    out["load"] = time.perf_counter() - start
    start = time.perf_counter()
    data.dimensions  # noqa: B018 (the rating matrices: built when first asked for, which the CSV never does)
    out["load_rating_matrices"] = time.perf_counter() - start
    start = time.perf_counter()
    report = build_report(data, params)
    out["compute"] = time.perf_counter() - start
    start = time.perf_counter()
    build_report(data, {**params, "mixed_models": "off"})
    out["compute_without_persona_models"] = time.perf_counter() - start
    start = time.perf_counter()
    build_report(data, params, processes=settings.REPORT_PROCESSES)
    out[f"compute_in_{settings.REPORT_PROCESSES}_processes"] = time.perf_counter() - start
    for name, write in (("write_json", lambda: report_json(report)),
                        ("write_html", lambda: render_html(report)),
                        ("write_csv", lambda: write_csv(data, rating_notes(study), io.StringIO()))):
        start = time.perf_counter()
        write()
        out[name] = time.perf_counter() - start
    out["json_megabytes"] = len(json.dumps(report).encode()) / 1e6
    return {key: round(value, 3) for key, value in out.items()}, data


def measure(study, n_boot: int, repeats: int) -> dict:
    """Floors and reports, `repeats` times over (each time built anew, none reused): medians, and every run."""
    from agreement.models import Report
    from agreement.reports.parameters import parameters_clean
    from agreement.services import report_generate

    params = parameters_clean({"n_boot": n_boot})
    parts, data = stages(study, params)
    runs = []
    for _ in range(repeats):
        Report.objects.filter(study=study).delete()
        copy_s, copy_rows = baseline_copy(study)
        run = {"copy": copy_s, "compute": baseline_compute(data, params)}
        # HTML first: an HTML report is written from the figures of a finished JSON report of the same data and
        # parameters; that shortcut is timed separately below, after the HTML report itself is deleted.
        for fmt in ("html", "json", "csv", "html_from_json"):
            if fmt == "html_from_json":
                Report.objects.filter(study=study, format="html").delete()
            start = time.perf_counter()
            report = report_generate(study=study, format=fmt.split("_")[0], parameters={"n_boot": n_boot})
            run[fmt] = time.perf_counter() - start
            if report.status != "done":
                raise RuntimeError(f"{fmt} report failed: {report.error}")
        runs.append(run)
    median = {key: round(float(np.median([r[key] for r in runs])), 3) for key in runs[0]}
    copy_s, compute_s = median.pop("copy"), median.pop("compute")
    reports, floor = median, copy_s + compute_s
    return {
        "ratings": data.counts["ratings"], "rating_values": data.counts["rating_values"],
        "responses": data.counts["responses"], "clinicians": data.counts["raters"],
        "judge_scores": data.counts["judge_scores"], "n_boot": n_boot, "runs": repeats,
        "baseline_copy_seconds": copy_s, "baseline_copy_rows": copy_rows,
        "baseline_compute_seconds": compute_s,
        "report_seconds": reports,
        "report_seconds_every_run": {key: [round(r[key], 3) for r in runs] for key in runs[0]},
        "report_vs_copy": {fmt: round(t / copy_s, 2) for fmt, t in reports.items()},
        "report_vs_compute": {fmt: round(t / compute_s, 2) for fmt, t in reports.items()},
        "report_vs_both_floors": {fmt: round(t / floor, 2) for fmt, t in reports.items()},
        "stages_seconds": parts,
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main():
    args = parse_args()
    recreate_database(args.server, args.db)
    os.environ["DATABASE_URL"] = f"{args.server}/{args.db}"
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="report-e2e-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    from agreement.metrics.mixed import import_fitting_libraries

    import_fitting_libraries()  # as a report worker does when it starts: no timed build pays for the import
    results = {"database": "postgresql", "cpu_count": os.cpu_count(), "report_processes": settings.REPORT_PROCESSES,
               "load_average_before": load_average(),
               "goals": {"large": "<= 10 s", "small": "< 1 s"}, "studies": {}}
    # Both studies are stored before either is measured: a deployment's database holds many studies, and a
    # small study's report must not pay for the large one's rows (a plan that scans them would show here).
    studies = {}
    for label, n, seed in (("small", args.small, 2), ("large", args.ratings, 1)):
        start = time.perf_counter()
        studies[label] = build_study(f"e2e-{label}", n, seed=seed)
        results["studies"][label] = {"setup_seconds": round(time.perf_counter() - start, 1)}
        print(f"{label}: {n} ratings stored in {time.perf_counter() - start:.1f} s", flush=True)
    with psycopg.connect(f"{args.server}/{args.db}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after the inserts: measured without it running
    for label, study in studies.items():
        repeats = args.repeat_small if label == "small" else args.repeat_large
        results["studies"][label].update(**measure(study, args.n_boot, repeats), load_average=load_average())
        print(json.dumps(results["studies"][label], indent=1), flush=True)
    results["load_average_after"] = load_average()
    target = Path(args.output)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {target}")


if __name__ == "__main__":
    main()
