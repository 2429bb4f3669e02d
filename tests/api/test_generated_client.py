"""The schema is usable: a Python client generated from it (openapi-python-client, offline) drives a
study's setup, a responses import and a report through the real Django stack, and parses every answer
into the schema's models (a missing or mistyped field fails the parse)."""
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client as DjangoClient
from drf_spectacular.generators import SchemaGenerator

from tests import factories
from tests.api.test_contract import APP

UPLOADS = Path(__file__).resolve().parent.parent / "data" / "uploads"
PACKAGE = "lab_api_client"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, django_db_blocker):
    """The generated client package, imported."""
    generator = shutil.which("openapi-python-client") or str(Path(sys.executable).parent / "openapi-python-client")
    work = tmp_path_factory.mktemp("client")
    with django_db_blocker.unblock():
        (work / "schema.json").write_text(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
    (work / "config.yaml").write_text(f"post_hooks: []\nproject_name_override: {PACKAGE}\n"
                                      f"package_name_override: {PACKAGE}\n")
    done = subprocess.run([generator, "generate", "--path", str(work / "schema.json"), "--config",
                           str(work / "config.yaml"), "--output-path", str(work / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(work / "out"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work / "out"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _client(lab, user):
    session = DjangoClient()
    session.force_login(user)
    token = _get_new_csrf_string()
    return lab.AuthenticatedClient(
        base_url="http://localhost", token=token, prefix="", auth_header_name="X-CSRFToken",
        cookies={"sessionid": session.cookies["sessionid"].value, "csrftoken": token},
        httpx_args={"transport": httpx.WSGITransport(app=APP)}, raise_on_unexpected_status=True)


def _api(lab, module: str):
    return importlib.import_module(f"{PACKAGE}.api.{module}")


@pytest.mark.django_db
def test_a_generated_client_sets_up_a_study_imports_responses_and_fetches_a_report(lab):
    models, types = importlib.import_module(f"{PACKAGE}.models"), importlib.import_module(f"{PACKAGE}.types")
    admin = _client(lab, factories.admin())

    cases = types.File(payload=(UPLOADS / "valid.csv").open("rb"), file_name="valid.csv")
    upload = _api(lab, "case_sets.case_sets_upload_create").sync_detailed(
        client=admin, body=models.CaseSetUploadRequest(file=cases, name="Contract cases"))
    assert upload.status_code == 201 and isinstance(upload.parsed, models.CaseSetImportResult)
    case_set = upload.parsed.case_set_id

    persona = _api(lab, "personas.personas_create").sync(client=admin, body=models.PersonaRequest(
        slug="contract-nurse", name="Contract nurse", role="nurse", system_prompt_template="You are a nurse."))
    assert isinstance(persona, models.Persona)
    spec = _api(lab, "model_specs.model_specs_create").sync(client=admin, body=models.ModelSpecRequest(
        name="contract-model", model_path="contract/model", backend=models.BackendEnum("imported")))
    assert isinstance(spec, models.ModelSpec)

    study = _api(lab, "studies.studies_create").sync(client=admin, body=models.StudyWriteRequest(
        name="Contract study", case_sets=[case_set], personas=[persona.id], model_specs=[spec.id]))
    assert isinstance(study, models.Study) and study.grid.cases > 0

    exported = _api(lab, "studies.studies_export_retrieve").sync_detailed(client=admin, id=study.id)
    assert exported.status_code == 200

    wrong = _api(lab, "studies.studies_responses_import_create").sync_detailed(
        client=admin, study_id=study.id, body=models.ResponseImportInputRequest(
            file=types.File(payload=b'{"not": "a response"}\n', file_name="r.jsonl"), dry_run=True))
    assert wrong.status_code in (200, 400)
    assert isinstance(wrong.parsed, models.ResponseImportResult | models.Error)

    report = _api(lab, "reports.reports_create").sync_detailed(client=admin, body=models.ReportRequestRequest(
        study=study.id, format_=models.ReportFormatEnum("csv")))
    assert report.status_code in (202, 400), report.content
    if report.status_code == 202:
        fetched = _api(lab, "reports.reports_retrieve").sync(client=admin, id=report.parsed.id)
        assert isinstance(fetched, models.Report) and fetched.id == report.parsed.id
    else:
        assert isinstance(report.parsed, models.Error)
    reports = _api(lab, "reports.reports_list").sync(client=admin, study=study.id)
    assert isinstance(reports, models.PaginatedReportList)


@pytest.mark.django_db
def test_the_generated_client_reads_errors_in_the_error_shape(lab):
    clinician = _client(lab, factories.clinician())
    denied = _api(lab, "studies.studies_list").sync_detailed(client=clinician)
    assert denied.status_code == 403 and isinstance(denied.parsed, lab.models.Error)
    missing = _api(lab, "jobs.jobs_retrieve").sync_detailed(client=_client(lab, factories.admin()), job_id=999999)
    assert missing.status_code == 404 and isinstance(missing.parsed, lab.models.Error)
