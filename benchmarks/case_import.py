"""Benchmark: importing a 100,000-case CSV through `case_set_import` on PostgreSQL, against bare inserts
of the same rows into the same table, in the same run.

(a) service: `case_set_import(file=...)`, everything an admin's upload does: read, gzip/encoding
    checks, CSV parsing, validation of every field, hashing, the conflict check, and the insert
    (COPY straight into the table, each checked batch while the next is checked) inside one transaction.
    Its check phase (read + validate + hash, no database) is timed separately too: service - check is what
    the database adds to the check (its own work overlaps the check).
(b) bare COPY: psycopg `COPY studies_case (...) FROM STDIN` of the same, already normalised rows
    (no parsing, no validation): the floor for getting these rows into this table.
(c) bare bulk_create: `Case.objects.bulk_create` of the same, already built rows, batches of 2,000:
    the ORM's floor.
(d) service through the ORM: the service with COPY turned off, i.e. bulk_create as on SQLite (and as
    on PostgreSQL before the COPY path).
(e) re-upload: the same file again through the service (it must change nothing).

Each measured run starts from empty tables (TRUNCATE); the runs alternate (a, b, c, d, a, b, ...)
and medians are reported. The script creates its own database (default `bench_import`, dropped
and recreated) and its tables with `migrate --run-syncdb` (migrations off, as in the tests).
Results: benchmarks/results/case_import.json. Responses: benchmarks/response_import.py.

    .venv/bin/python benchmarks/case_import.py
    .venv/bin/python benchmarks/case_import.py --rows 2000 --repeats 1   # quick check
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "case_import.json"
HEADER = ["external_id", "vignette", "question", "task_type", "care_setting", "reference_answer", "metadata"]
BATCH_SIZE = 2_000  # of the bare bulk_create
COPY_COLUMNS = ["case_set_id", "external_id", "vignette", "question", "task_type", "care_setting",
                "reference_answer", "metadata", "content_hash", "created_at", "updated_at"]


def make_csv(path: Path, rows: int, seed: int) -> None:
    """Synthetic but realistically sized cases (vignettes of ~250-400 characters), seeded."""
    rng = random.Random(seed)
    complaints = ["chest pain radiating to the left arm", "shortness of breath", "a fall at home", "fever and rash",
                  "abdominal pain", "headache and blurred vision", "a deep cut to the hand", "confusion"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(rows):
            triage = n % 3 != 2
            age, hr, sys_bp = rng.randint(1, 95), rng.randint(45, 150), rng.randint(70, 190)
            vignette = (f"A {age}-year-old presents with {rng.choice(complaints)} for {rng.randint(1, 72)} hours. "
                        f"HR {hr}/min, BP {sys_bp}/{rng.randint(40, 110)} mmHg, RR {rng.randint(10, 36)}/min, "
                        f"SpO2 {rng.randint(84, 100)}% on room air, temperature {rng.uniform(35.5, 40.5):.1f} C. "
                        f"Past history: {rng.choice(['none', 'hypertension', 'type 2 diabetes', 'asthma', 'COPD'])}. "
                        "Medications as listed by the patient; allergies not known.")
            writer.writerow([
                f"BENCH-{n:07d}", vignette,
                "What is the appropriate triage level?" if triage else "Is it safe to wait until tomorrow?",
                "triage" if triage else "patient_safety",
                rng.choice(["critical_care", "primary_care", "other"]),
                str(rng.randint(1, 5)) if triage else "",
                json.dumps({"source": "benchmark", "batch": n // 1000}),
            ])


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def median(values):
    return statistics.median(values) if values else None


def setup_django(database_url: str) -> None:
    """Django on a fresh database; tables straight from the models for every app, as the test runner's
    --no-migrations does: works whether or not the project's migrations exist yet, and in FK order."""
    recreate_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)


@contextmanager
def orm_inserts():
    """copy_insert on its other path (bulk_create), as on SQLite."""
    from studies.importers import copy

    uses_copy = copy.uses_copy
    copy.uses_copy = lambda connection: False
    try:
        yield
    finally:
        copy.uses_copy = uses_copy


def alternate(runs: dict, repeats: int, reset, extra) -> dict[str, list[float]]:
    """Seconds of each run, `repeats` times, the runs alternating and each after `reset()` (empty tables);
    `extra()` gives the other figures of each repeat ({name: seconds})."""
    timings = {name: [] for name in runs}
    for repeat in range(repeats):
        for name, run in runs.items():
            reset()
            timings[name].append(run())
            print(f"run {repeat + 1}/{repeats} {name}: {timings[name][-1]:.2f} s", flush=True)
        for name, seconds in extra().items():
            timings.setdefault(name, []).append(seconds)
    return timings


def import_result(benchmark: str, rows: int, file_bytes: int, repeats: int, batch_size: int, timings: dict,
                  noop: str, env: dict, notes: str) -> dict:
    """The figures both import benchmarks record: medians, rows/s, the service's database part and the ratios."""
    med = {k: median(v) for k, v in timings.items()}
    return {
        "benchmark": benchmark,
        "rows": rows,
        "file_bytes": file_bytes,
        "repeats": repeats,
        "bulk_create_batch_size": batch_size,
        "seconds": timings,
        "median_seconds": med,
        "rows_per_second": {k: rows / v for k, v in med.items() if v and k != noop},
        "service_database_part_seconds": med["service"] - med["check_only"],
        "ratio_service_to_copy": med["service"] / med["copy"],
        "ratio_service_to_bulk_create": med["service"] / med["bulk_create"],
        "ratio_bulk_create_to_copy": med["bulk_create"] / med["copy"],
        "ratio_service_orm_to_copy": med["service_orm"] / med["copy"],
        "environment": env,
        "notes": notes,
    }


def write_result(result: dict, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("rows", "median_seconds", "ratio_service_to_copy",
                                             "ratio_service_orm_to_copy")}, indent=2))
    print(f"written to {output}")


def environment(connection) -> dict:
    import django

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    return {
        "python": platform.python_version(), "postgresql": pg_version, "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(), "platform": platform.platform(),
        "django": django.get_version(), "psycopg": psycopg.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_import")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from studies.importers import case_set_hash, check_file
    from studies.models import Case, CaseSet
    from studies.services.case_sets import case_set_import

    table = Case._meta.db_table

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.csv"
        make_csv(path, args.rows, args.seed)
        file_bytes = path.stat().st_size
        data = path.read_bytes()
        cases = check_file(data, filename=path.name, max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                           max_rows=settings.CASE_UPLOAD_MAX_ROWS).cases
        assert len(cases) == args.rows, "the generated file must be valid"
        set_hash = case_set_hash(c["content_hash"] for c in cases)

        def empty_tables():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table}, {CaseSet._meta.db_table} RESTART IDENTITY CASCADE")

        def run_service():
            start = time.perf_counter()
            result = case_set_import(file=path, name="bench")
            elapsed = time.perf_counter() - start
            assert result.added == args.rows and Case.objects.count() == args.rows
            return elapsed

        def run_service_orm():
            with orm_inserts():
                return run_service()

        def run_copy():
            start = time.perf_counter()
            with transaction.atomic():
                case_set = CaseSet.objects.create(name="bench-copy", content_hash=set_hash)
                now = timezone.now()
                raw = connection.connection  # the psycopg connection Django holds
                with raw.cursor() as cursor, cursor.copy(
                        f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
                    for c in cases:
                        copy.write_row((case_set.pk, c["external_id"], c["vignette"], c["question"], c["task_type"],
                                        c["care_setting"], c["reference_answer"], json.dumps(c["metadata"]),
                                        c["content_hash"], now, now))
            elapsed = time.perf_counter() - start
            assert Case.objects.count() == args.rows
            return elapsed

        def run_bulk_create():
            case_set = CaseSet.objects.create(name="bench-orm", content_hash=set_hash)
            objs = [Case(case_set=case_set, **case) for case in cases]
            start = time.perf_counter()
            with transaction.atomic():
                Case.objects.bulk_create(objs, batch_size=BATCH_SIZE)
            elapsed = time.perf_counter() - start
            assert Case.objects.count() == args.rows
            return elapsed

        def run_check():
            start = time.perf_counter()
            check_file(path.read_bytes(), filename=path.name, max_bytes=settings.CASE_UPLOAD_MAX_BYTES,
                       max_rows=settings.CASE_UPLOAD_MAX_ROWS)
            return time.perf_counter() - start

        def reupload_noop():
            empty_tables()
            case_set_import(file=path, name="bench")
            start = time.perf_counter()
            assert case_set_import(file=path, name="bench").outcome == "unchanged"
            seconds = time.perf_counter() - start
            assert Case.objects.count() == args.rows
            return seconds

        runs = {"service": run_service, "copy": run_copy, "bulk_create": run_bulk_create,
                "service_orm": run_service_orm}
        timings = alternate(runs, args.repeats, empty_tables,
                            lambda: {"check_only": run_check(), "reupload_noop": reupload_noop()})
        env = environment(connection)

    write_result(import_result(
        "case_import", args.rows, file_bytes, args.repeats, BATCH_SIZE, timings, "reupload_noop", env,
        "service = case_set_import from the CSV file (parse, validate, hash, conflict check, COPY straight into the "
        "table batch by batch while the rest of the file is checked, in one transaction); service_orm = the same "
        "with bulk_create instead of COPY (the whole file checked first); copy/bulk_create insert the already "
        "normalised rows only. check_only = the service's read+validate+hash phase without the database. Medians "
        "over alternating runs, each from empty tables. The machine is shared: see load_average_at_end."),
        args.output)


if __name__ == "__main__":
    main()
