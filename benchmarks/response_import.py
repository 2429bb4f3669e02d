"""Benchmark: importing pre-generated responses (JSON Lines) through `responses_import` on PostgreSQL,
against a bare COPY of the same rows into the same table, in the same run.

The study: cases from benchmarks/case_import.py's generator, two personas and the no-persona
baseline, two models; one response per cell, its text from the dry-run backend (a labelled hash,
never model output). 12,000 rows by default (2,000 cases), about 12 MB: inside the default upload
limit (CASE_UPLOAD_MAX_BYTES), and the service's per-row answer parsing and leak detection keep a run
under a minute.

(a) service: `responses_import(study=..., file=...)`: read, parse, validate every row (grid key, the
    exact prompt the study sends, types and ranges), parse each answer and find persona leaks,
    then COPY straight into the table, in one transaction.
(b) bare COPY: `COPY studies_response (...) FROM STDIN` of the same rows with every column already
    computed: the floor for getting these rows into this table.
(c) bare bulk_create of the same rows as Response instances, batches of 1,000.
(d) service through the ORM: the service with COPY turned off (bulk_create, as on SQLite).
(e) re-import: the same file again through the service (it must change nothing).
check_only: parse + validate, no insert.

Runs alternate, each from an empty responses table; medians are reported. The database (default
`bench_response_import`) is dropped and recreated. Results: benchmarks/results/response_import.json.

    .venv/bin/python benchmarks/response_import.py
    .venv/bin/python benchmarks/response_import.py --cases 200 --repeats 1   # quick check
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.case_import import (  # noqa: E402
    alternate,
    environment,
    import_result,
    make_csv,
    orm_inserts,
    setup_django,
    write_result,
)

DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "response_import.json"
BATCH_SIZE = 1_000  # of the bare bulk_create


def build_study(tmp: Path, cases: int, seed: int):
    """A draft study over `cases` generated cases, 3 personas (baseline included) and 2 dry-run models."""
    from studies.models import ModelSpec, Study
    from studies.services.case_sets import case_set_import
    from studies.services.personas import persona_create

    path = tmp / "cases.csv"
    make_csv(path, cases, seed)
    case_set = case_set_import(file=path, name="bench responses").case_set
    personas = [
        persona_create(slug="ed-physician", name="ED physician", role="emergency physician", is_medical=True,
                       system_prompt_template="You are an {role} working in {care_setting}."),
        persona_create(slug="friend", name="A friend", role="friend", system_prompt_template="You are a {role}."),
        persona_create(slug="no-persona", name="No persona", is_baseline=True),
    ]
    models = [ModelSpec.objects.create(name=f"bench-{n}", model_path=f"bench/{n}", engine_options={"dry_run": True},
                                       max_tokens=48) for n in ("a", "b")]
    study = Study.objects.create(name="bench responses")
    study.case_sets.set([case_set])
    study.personas.set(personas)
    study.model_specs.set(models)
    return study


def write_jsonl(path: Path, study) -> int:
    """One response per (case, persona, model), as the documented JSON Lines rows; returns the row count."""
    from inference.backends import backend_for
    from inference.backends.base import ChatRequest, SamplingSettings
    from studies.models import Case
    from studies.prompts import build_messages

    cases = list(Case.objects.filter(case_set__in=study.case_sets.all()).order_by("id"))
    rows = 0
    with open(path, "w", encoding="utf-8") as fh:
        for model in study.model_specs.order_by("name"):
            backend, sampling = backend_for(model), SamplingSettings(max_tokens=model.max_tokens)
            for persona in study.personas.order_by("slug"):
                for n, case in enumerate(cases):
                    messages = build_messages(persona=persona, case=case, task_instructions=study.task_instructions)
                    [answer] = backend.chat([ChatRequest(key=str(n), messages=messages, seed=n)], sampling)
                    fh.write(json.dumps({
                        "case_external_id": case.external_id, "persona_slug": persona.slug,
                        "model_name": model.name, "sample_index": 0, "text": answer.text,
                        "prompt_messages": messages, "seed": n, "sampling": sampling.as_dict(),
                        "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
                        "finish_reason": answer.finish_reason, "provenance": backend.info(),
                    }, ensure_ascii=False) + "\n")
                    rows += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2_000, help="rows = cases x 3 personas x 2 models")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_response_import")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import JSONField
    from django.utils import timezone

    from inference.importers import responses_import
    from inference.importers.maker import RESPONSE_FIELDS, response_values
    from inference.importers.validator import StudyGrid, validate_rows
    from studies.importers.readers import parse_file
    from studies.models import Backend, Response
    from studies.models.base import opaque_code

    table = Response._meta.db_table

    with tempfile.TemporaryDirectory() as tmp:
        study = build_study(Path(tmp), args.cases, args.seed)
        path = Path(tmp) / "responses.jsonl"
        rows = write_jsonl(path, study)
        file_bytes = path.stat().st_size

        def check():
            parsed = parse_file(path.read_bytes(), filename=path.name, format="jsonl",
                                max_bytes=settings.CASE_UPLOAD_MAX_BYTES, max_rows=settings.CASE_UPLOAD_MAX_ROWS)
            checked, errors = validate_rows(parsed.records, grid=StudyGrid.of(study, None))
            assert not errors and not parsed.errors, "the generated file must be valid"
            return checked

        # What the service stores, computed once outside the timed runs (the JSON columns as JSON text).
        source = {"imported_from": path.name, "file_sha256": "bench"}
        values = [response_values(row, source) for row in check()]
        fields = [Response._meta.get_field(name) for name in RESPONSE_FIELDS]
        json_at = [i for i, field in enumerate(fields) if isinstance(field, JSONField)]
        columns = [field.column for field in fields]

        def empty_table():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")

        def run_service():
            start = time.perf_counter()
            result = responses_import(study=study, file=path)
            elapsed = time.perf_counter() - start
            assert result.created == rows and Response.objects.count() == rows
            return elapsed

        def run_service_orm():
            with orm_inserts():
                return run_service()

        def run_copy():
            start = time.perf_counter()
            with transaction.atomic():
                now = timezone.now()
                extra = ["study_id", "backend", "code", "created_at", "updated_at"]
                with connection.connection.cursor() as cursor, cursor.copy(
                        f"COPY {table} ({', '.join(columns + extra)}) FROM STDIN") as copy:
                    for row in values:
                        row = list(row)
                        for i in json_at:
                            row[i] = json.dumps(row[i])
                        copy.write_row((*row, study.pk, Backend.IMPORTED.value, opaque_code(), now, now))
            elapsed = time.perf_counter() - start
            assert Response.objects.count() == rows
            return elapsed

        def run_bulk_create():
            objs = [Response(study=study, backend=Backend.IMPORTED, **dict(zip(RESPONSE_FIELDS, row, strict=True)))
                    for row in values]
            start = time.perf_counter()
            with transaction.atomic():
                Response.objects.bulk_create(objs, batch_size=BATCH_SIZE)
            elapsed = time.perf_counter() - start
            assert Response.objects.count() == rows
            return elapsed

        def run_check():
            start = time.perf_counter()
            check()
            return time.perf_counter() - start

        def reimport_noop():
            start = time.perf_counter()
            assert responses_import(study=study, file=path).outcome == "unchanged"
            seconds = time.perf_counter() - start
            assert Response.objects.count() == rows
            return seconds

        runs = {"service": run_service, "copy": run_copy, "bulk_create": run_bulk_create,
                "service_orm": run_service_orm}
        timings = alternate(runs, args.repeats, empty_table,
                            lambda: {"check_only": run_check(), "reimport_noop": reimport_noop()})
        env = environment(connection)

    write_result(import_result(
        "response_import", rows, file_bytes, args.repeats, BATCH_SIZE, timings, "reimport_noop", env,
        "service = responses_import from the JSONL file (parse, validate every row against the study, answer "
        "parsing and leak detection, COPY straight into the table); service_orm = the same with bulk_create; "
        "copy/bulk_create insert the already computed rows only. check_only = parse + validate without inserting. "
        "Medians over alternating runs, each from an empty table. The machine is shared: see load_average_at_end."),
        args.output)


if __name__ == "__main__":
    main()
