"""COPY writes a JSON value shared by several rows once, and never confuses distinct values."""
import pytest
from django.db import connection

from studies.importers.copy import copy_insert
from studies.models import Case
from tests import factories
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.django_db
FIELDS = ["external_id", "vignette", "question", "task_type", "care_setting", "metadata", "content_hash"]


def test_shared_and_fresh_json_values_are_each_stored_as_given():
    if connection.vendor != "postgresql":
        skip_or_fail("the COPY path runs on PostgreSQL only (set DATABASE_URL); SQLite takes bulk_create")
    case_set = factories.CaseSetFactory()
    shared = {"source": "ward audit"}

    def rows():
        for n, value in enumerate([shared, shared, {"source": "ward audit"}, {"other": 1}, shared]):
            yield (f"S-{n}", "v", "q", "triage", "other", value, "h")
        for n in range(50):  # fresh objects dropped row by row: an id may come round again for another value
            yield (f"F-{n}", "v", "q", "triage", "other", {"n": n}, "h")

    assert copy_insert(Case, FIELDS, rows(), constants={"case_set_id": case_set.pk}) == 55
    stored = dict(Case.objects.filter(case_set=case_set).values_list("external_id", "metadata"))
    assert [stored[f"S-{n}"] for n in range(5)] == [shared, shared, shared, {"other": 1}, shared]
    assert [stored[f"F-{n}"] for n in range(50)] == [{"n": n} for n in range(50)]
