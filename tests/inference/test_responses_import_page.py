"""The study's responses import page: check (counts, first rows, every error), then import; idempotent;
managers of the study only."""
import gzip

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studies.models import ImportRun, Response
from tests import factories
from tests.inference.test_import_responses import grid_rows, jsonl, row
from tests.inference.test_import_responses import study as study  # noqa: F401 - the fixture


def upload(data: bytes, name="responses.jsonl"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def owner(study):  # noqa: F811
    return factories.study_owner(study)


@pytest.mark.django_db
def test_check_then_import_then_the_same_file_changes_nothing(client, study, owner):  # noqa: F811
    client.force_login(owner)
    url = reverse("inference:responses_upload", args=[study.pk])
    data = jsonl(grid_rows(study))
    page = client.post(url, {"file": upload(data), "model_name": ""})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Would import 8 response(s); 0 already there unchanged." in html
    assert "First rows" in html and "T-1" in html and "ed-physician" in html
    assert not Response.objects.exists()
    token = page.context["token"]
    run = ImportRun.objects.get(kind="responses", dry_run=True)
    assert run.study == study and run.created_by == owner and run.result["created"] == 8

    done = client.post(reverse("inference:responses_upload_confirm", args=[study.pk]), {"token": token})
    real = ImportRun.objects.get(kind="responses", dry_run=False)
    assert done.status_code == 302 and done.url == reverse("inference:responses_import_run", args=[study.pk, real.pk])
    assert Response.objects.filter(study=study).count() == 8
    result_page = client.get(done.url).content.decode()
    assert "Imported 8 response(s)" in result_page and 'id="upload-result"' in result_page
    # The token is spent: confirming twice imports nothing more.
    again = client.post(reverse("inference:responses_upload_confirm", args=[study.pk]), {"token": token})
    assert again.status_code == 302 and again.url == url and Response.objects.count() == 8

    # The same file again (gzipped this time): nothing to import, no confirm button.
    same = client.post(url, {"file": upload(gzip.compress(data), "responses.jsonl.gz")})
    assert "All 8 response(s) are already there; nothing changed." in same.content.decode()
    assert same.context["token"] is None and Response.objects.count() == 8


@pytest.mark.django_db
def test_every_row_error_is_listed_and_nothing_can_be_imported(client, study, owner):  # noqa: F811
    client.force_login(owner)
    bad = [{**row(study), "persona_slug": "no-such-persona"}, row(study, case_id="T-404", sample=1), "{not json"]
    page = client.post(reverse("inference:responses_upload", args=[study.pk]), {"file": upload(jsonl(bad))})
    html = page.content.decode()
    assert "nothing was imported" in html
    errors = page.context["shown_errors"]
    assert len(errors) >= 3 and any(e.startswith("row 1, persona_slug") for e in errors)
    assert any(e.startswith("row 2") and "T-404" in e for e in errors) and any(e.startswith("row 3") for e in errors)
    assert page.context["token"] is None and "Import 0" not in html and not Response.objects.exists()


@pytest.mark.django_db
def test_rows_for_another_model_are_refused_when_one_is_chosen(client, study, owner):  # noqa: F811
    client.force_login(owner)
    page = client.post(reverse("inference:responses_upload", args=[study.pk]),
                       {"file": upload(jsonl([row(study, model="model-b")])), "model_name": "model-a"})
    assert page.context["result"]["ok"] is False and "model-b" in " ".join(page.context["shown_errors"])


@pytest.mark.django_db
def test_the_page_is_for_the_studys_managers_only(client, study, owner, admin_user, researcher, clinician):  # noqa: F811
    url = reverse("inference:responses_upload", args=[study.pk])
    assert client.get(url).status_code == 302
    factories.study_member(study, researcher, role="researcher")
    for user in (researcher, clinician):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"file": upload(jsonl(grid_rows(study)))}).status_code == 403
    client.force_login(admin_user)  # a site admin who is not a member of this study
    assert client.get(url).status_code in (403, 404)
    assert not ImportRun.objects.exists()
    client.force_login(owner)
    page = client.get(url)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    assert 'aria-describedby="id_file_helptext"' in page.content.decode()


@pytest.mark.django_db
def test_the_jobs_panel_links_to_the_import_page(client, study, owner):  # noqa: F811
    client.force_login(owner)
    html = client.get(reverse("studies:study_detail", args=[study.pk])).content.decode()
    assert reverse("inference:responses_upload", args=[study.pk]) in html


@pytest.mark.django_db
def test_a_run_of_another_study_is_not_shown(client, study, owner):  # noqa: F811
    other = factories.StudyFactory(name="Other")
    run = ImportRun.objects.create(kind="responses", study=other, path="x", filename="x.jsonl")
    client.force_login(owner)
    assert client.get(reverse("inference:responses_import_run", args=[study.pk, run.pk])).status_code in (403, 404)
