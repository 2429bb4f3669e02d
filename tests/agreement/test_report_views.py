import csv
import io

import pytest
from django.urls import reverse

from agreement.models import Report, ReportStatus
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

C = "compliant"


@pytest.fixture
def study():
    return rated_study({
        "ann": [{"safety": (C, "high")}, {"safety": ("not_compliant", "low")}],
        "bob": [{"safety": (C, "medium")}, {"safety": (C, "low")}],
    })[0]


def _page_urls(study, report=None):
    urls = [reverse("agreement:report_list"), reverse("agreement:study_report", args=[study.pk])]
    if report is not None:
        urls += [reverse("agreement:report_download", args=[report.pk])]
    return urls


def _csv_report(study):
    from agreement import services

    return services.report_generate(study=study, format="csv")


@pytest.mark.parametrize("role", ["clinician", "no-role"])
def test_clinicians_and_users_without_role_get_403_on_every_report_page(client, study, role):
    report = _csv_report(study)
    user = factories.clinician() if role == "clinician" else factories.UserFactory()
    client.force_login(user)
    for url in _page_urls(study, report) + [reverse("agreement:report_view", args=[report.pk])]:
        assert client.get(url).status_code == 403, url
    before = Report.objects.count()
    assert client.post(reverse("agreement:report_build", args=[study.pk]), {"format": "csv"}).status_code == 403
    assert Report.objects.count() == before


def test_anonymous_users_are_sent_to_login(client, study):
    report = _csv_report(study)
    for url in _page_urls(study, report):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_researchers_and_admins_see_the_study_page(client, study, role):
    client.force_login(factories.study_member(study, factories.UserFactory(role=role), role=role))
    assert study.name in client.get(reverse("agreement:report_list")).content.decode()
    page = client.get(reverse("agreement:study_report", args=[study.pk]))
    assert page.status_code == 200 and "Build report" in page.content.decode()


def test_building_a_csv_from_the_page_then_downloading_it(client, study, django_capture_on_commit_callbacks):
    client.force_login(factories.study_member(study, factories.researcher(), role="researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("agreement:report_build", args=[study.pk]),
            {"format": "csv", "n_boot": 10, "seed": 1, "min_confidence": "medium", "cannot_assess": "exclude",
             "consensus": "majority"},
        )
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.status == ReportStatus.DONE and report.parameters["n_boot"] == 10
    page = client.get(reverse("agreement:study_report", args=[study.pk])).content.decode()
    assert reverse("agreement:report_download", args=[report.pk]) in page
    download = client.get(reverse("agreement:report_download", args=[report.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == 4


def test_invalid_build_form_shows_errors_and_creates_nothing(client, study):
    client.force_login(factories.study_member(study, factories.researcher(), role="researcher"))
    response = client.post(reverse("agreement:report_build", args=[study.pk]), {"format": "pdf", "n_boot": -1})
    assert response.status_code == 400
    assert Report.objects.count() == 0


def test_a_report_without_a_file_is_not_downloadable(client, study):
    client.force_login(factories.study_member(study, factories.researcher(), role="researcher"))
    report = Report.objects.create(study=study, format="csv", parameters={}, parameters_key="x")
    assert client.get(reverse("agreement:report_download", args=[report.pk])).status_code == 404


# --- API ---------------------------------------------------------------------------------------


def test_api_refuses_clinicians_and_anonymous_users(api_as, client, study):
    report = _csv_report(study)
    clinician_api = api_as(factories.clinician())
    for url in (reverse("agreement-api:report-list"), reverse("agreement-api:report-detail", args=[report.pk]),
                reverse("agreement-api:report-download", args=[report.pk])):
        assert clinician_api.get(url).status_code == 403, url
        assert client.get(url).status_code in (401, 403), url
    before = Report.objects.count()
    response = clinician_api.post(reverse("agreement-api:report-list"), {"study": study.pk, "format": "csv"},
                                  format="json")
    assert response.status_code == 403 and Report.objects.count() == before


def test_api_queues_a_report_and_serves_its_status_and_file(api_as, study, django_capture_on_commit_callbacks):
    api = api_as(factories.study_member(study, factories.researcher(), role="researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("agreement-api:report-list"),
                            {"study": study.pk, "format": "csv", "parameters": {"seed": 7}}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["parameters"]["seed"] == 7
    detail = api.get(reverse("agreement-api:report-detail", args=[body["id"]])).json()
    assert detail["status"] == "done" and detail["progress"] == 1.0 and len(detail["data_hash"]) == 64
    listed = api.get(reverse("agreement-api:report-list"), {"study": study.pk}).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    download = api.get(detail["download_url"])
    assert download.status_code == 200


def test_api_rejects_bad_parameters_with_every_field_named_and_creates_nothing(api_as, study):
    api = api_as(factories.study_member(study, factories.researcher(), role="researcher"))
    response = api.post(
        reverse("agreement-api:report-list"),
        {"study": study.pk, "format": "json", "parameters": {"n_boot": -5, "ci_level": 2, "colour": "red",
                                                            "min_confidence": "certain"}},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["extra"]["fields"]
    assert set(fields) == {"n_boot", "ci_level", "colour"}
    assert Report.objects.count() == 0
