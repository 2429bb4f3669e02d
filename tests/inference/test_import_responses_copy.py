"""Response imports on PostgreSQL's COPY path store exactly what the ORM path stores, NULLs and JSON included."""
import io

import pytest
from django.db import connection

from config.exceptions import ApplicationError
from inference.importers import responses_import
from studies.importers import copy
from studies.models import Response
from tests import factories
from tests.conftest import skip_or_fail
from tests.inference.test_import_responses import FIXTURE_LEAKING_TEXT, jsonl, row
from tests.inference.test_import_responses import study as study  # noqa: F401 - the fixture

AWKWARD = 'tab\there, new\nline, back\\slash, \\N, \\., "double" and \'single\' quotes, ü 日本 🩺'
COMPARED = [f.attname for f in Response._meta.concrete_fields
            if f.name not in {"id", "study", "code", "created_at", "updated_at"}]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        skip_or_fail("the COPY path runs on PostgreSQL only (set DATABASE_URL); SQLite takes bulk_create")


def rows(study) -> list[dict]:
    return [
        row(study, text=f"[test fixture] {AWKWARD}", sampling={"stop": [AWKWARD], "temperature": 0.7},
            provenance={"engine": "test-fixture", "note": AWKWARD, "nested": {"none": None}}),
        row(study, sample=1, seed=None, prompt_tokens=None, completion_tokens=None, finish_reason=None,
            sampling=None, provenance=None, rendered_prompt=f"<|user|>{AWKWARD}"),
        row(study, model="model-b", text=FIXTURE_LEAKING_TEXT),
    ]


def stored(study) -> list[dict]:
    return list(Response.objects.filter(study=study).order_by("id").values(*COMPARED))


def test_copy_stores_every_field_as_the_orm_path_does(study, monkeypatch):
    other = factories.StudyFactory(name="Same grid", case_sets=list(study.case_sets.all()),
                                   personas=list(study.personas.all()), model_specs=list(study.model_specs.all()))
    data = jsonl(rows(study))
    with monkeypatch.context() as patch:
        patch.setattr(copy, "uses_copy", lambda connection: False)  # bulk_create, as on SQLite
        responses_import(study=other, file=io.BytesIO(data), filename="r.jsonl")
    result = responses_import(study=study, file=io.BytesIO(data), filename="r.jsonl")

    assert result.created == 3 and stored(study) == stored(other)
    fancy, sparse, leaking = Response.objects.filter(study=study).order_by("id")
    assert fancy.text == f"[test fixture] {AWKWARD}" and fancy.sampling["stop"] == [AWKWARD]
    assert fancy.provenance["note"] == AWKWARD and fancy.provenance["nested"] == {"none": None}
    assert (sparse.seed, sparse.prompt_tokens, sparse.completion_tokens, sparse.latency_seconds) == (None,) * 4
    assert sparse.rendered_prompt == f"<|user|>{AWKWARD}" and sparse.sampling == {} and sparse.finish_reason == ""
    assert leaking.leaks_persona and leaking.leak_spans and leaking.backend == "imported"
    codes = Response.objects.values_list("code", flat=True)
    assert len(set(codes)) == 6 and all(codes)  # a fresh public code per row, as model instances get
    assert all(r.created_at and r.created_at == r.updated_at for r in (fancy, sparse, leaking))


def test_a_re_import_changes_nothing_and_a_bad_row_leaves_nothing(study):
    data = jsonl(rows(study))
    responses_import(study=study, file=io.BytesIO(data), filename="r.jsonl")
    before = list(Response.objects.order_by("id").values_list("id", "code", "updated_at"))
    again = responses_import(study=study, file=io.BytesIO(data), filename="r.jsonl")
    assert (again.created, again.unchanged) == (0, 3)
    assert list(Response.objects.order_by("id").values_list("id", "code", "updated_at")) == before

    fresh = [row(study, sample=s) for s in range(5, 50)] + [{**row(study, sample=60), "persona_slug": "pirate"}]
    with pytest.raises(ApplicationError):
        responses_import(study=study, file=io.BytesIO(jsonl(fresh)), filename="more.jsonl")
    assert list(Response.objects.order_by("id").values_list("id", "code", "updated_at")) == before
