"""The four ways in (management command, REST API, upload page with preview, Django admin) share one service:
same outcomes, same messages, nothing written on a dry run or a refusal."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from studies.models import Case, CaseSet
from tests.studies.test_case_import_malformed import EXAMPLE, UPLOADS, db_state

EXAMPLE_HASH_CASES = 8


def example_upload(name="example_cases.csv"):
    return SimpleUploadedFile(name, EXAMPLE.read_bytes(), content_type="text/csv")


def sample(name):
    return SimpleUploadedFile(name, (UPLOADS / name).read_bytes())


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# ------------------------------------------------------------------------------------------ management command

@pytest.mark.django_db
def test_import_cases_command_imports_then_reports_an_unchanged_re_upload(capsys, admin_user):
    call_command("import_cases", str(EXAMPLE), "--set", "Ward", "--owner", admin_user.username)
    assert "Created case set Ward v1 with 8 cases." in capsys.readouterr().out
    assert CaseSet.objects.get(name="Ward").owner == admin_user
    before = db_state()
    call_command("import_cases", str(EXAMPLE), "--set", "Ward")
    assert "This file holds exactly the cases of Ward v1; nothing changed." in capsys.readouterr().out
    assert db_state() == before


@pytest.mark.django_db
def test_import_cases_command_dry_run_writes_nothing_and_can_print_json(capsys):
    call_command("import_cases", str(EXAMPLE), "--set", "Ward", "--dry-run", "--json")
    result = json.loads(capsys.readouterr().out)
    assert (result["outcome"], result["dry_run"], result["added"]) == ("created", True, 8)
    assert not CaseSet.objects.exists()


@pytest.mark.django_db
def test_import_cases_command_prints_every_error_and_fails(capsys):
    with pytest.raises(CommandError, match=r"^The file has 6 error\(s\) in 3 row\(s\); nothing was imported"):
        call_command("import_cases", str(UPLOADS / "many_errors.csv"), "--set", "Ward")
    err = capsys.readouterr().err
    assert "row 2, care_setting: 'ICU ward' is not one of critical_care, primary_care, other" in err
    assert err.count("\n") == 6
    assert not CaseSet.objects.exists()


@pytest.mark.django_db
def test_import_cases_command_new_version_and_missing_file():
    call_command("import_cases", str(UPLOADS / "valid.csv"), "--set", "Ward")
    call_command("import_cases", str(EXAMPLE), "--set", "Ward", "--new-version")
    assert list(CaseSet.objects.filter(name="Ward").values_list("version", flat=True).order_by("version")) == [1, 2]
    with pytest.raises(CommandError, match="No such file: nowhere.csv"):
        call_command("import_cases", "nowhere.csv", "--set", "Ward")


# ------------------------------------------------------------------------------------------ REST API

@pytest.mark.django_db
def test_api_upload_dry_run_then_import_then_unchanged(api_as, admin_user):
    api = api_as(admin_user)
    url = reverse("studies-api:case-set-upload")
    dry = api.post(url, {"file": example_upload(), "name": "Ward", "dry_run": "true"}, format="multipart")
    assert dry.status_code == 200, dry.content
    assert (dry.json()["outcome"], dry.json()["added"], len(dry.json()["preview"])) == ("created", 8, 8)
    assert not CaseSet.objects.exists()
    created = api.post(url, {"file": example_upload(), "name": "Ward"}, format="multipart")
    assert created.status_code == 201
    assert created.json()["message"] == "Created case set Ward v1 with 8 cases."
    again = api.post(url, {"file": example_upload(), "name": "Ward"}, format="multipart")
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")


@pytest.mark.django_db
def test_api_upload_of_a_malformed_file_answers_400_with_every_error(api_as, admin_user):
    response = api_as(admin_user).post(reverse("studies-api:case-set-upload"),
                                       {"file": sample("many_errors.csv"), "name": "Ward"}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("The file has 6 error(s) in 3 row(s)")
    assert body["extra"]["error_count"] == 6
    assert {"row": 2, "field": "care_setting", "message": "'ICU ward' is not one of critical_care, primary_care, "
            "other", "text": "row 2, care_setting: 'ICU ward' is not one of critical_care, primary_care, other"} in \
        body["extra"]["errors"]
    dry = api_as(admin_user).post(reverse("studies-api:case-set-upload"), {
        "file": sample("many_errors.csv"), "name": "Ward", "dry_run": "true"}, format="multipart")
    assert dry.status_code == 400 and dry.json()["message"] == body["message"]
    assert dry.json()["extra"]["errors"] == body["extra"]["errors"] and dry.json()["extra"]["dry_run"] is True
    assert not CaseSet.objects.exists()


@pytest.mark.django_db
def test_api_upload_conflict_answers_409_with_the_ids(api_as, admin_user):
    api = api_as(admin_user)
    url = reverse("studies-api:case-set-upload")
    api.post(url, {"file": sample("valid.csv"), "name": "Ward"}, format="multipart")
    changed = (UPLOADS / "valid.csv").read_text().replace("A 2-year-old", "A 3-year-old").encode()
    before = db_state()
    response = api.post(url, {"file": SimpleUploadedFile("v.csv", changed), "name": "Ward"}, format="multipart")
    assert response.status_code == 409
    assert response.json()["extra"]["conflicting_ids"] == ["C-2"]
    assert db_state() == before
    new = api.post(url, {"file": SimpleUploadedFile("v.csv", changed), "name": "Ward", "new_version": "true"},
                   format="multipart")
    assert (new.status_code, new.json()["version"]) == (201, 2)


# ------------------------------------------------------------------------------------------ upload page

@pytest.mark.django_db
def test_upload_page_previews_then_imports_on_confirmation(client, admin_user):
    client.force_login(admin_user)
    page = client.post(reverse("studies:case_set_upload"), {"file": example_upload(), "name": "Ward"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Would create case set Ward v1 with 8 cases." in html and "T-CC-01" in html
    assert not CaseSet.objects.exists()
    token = page.context["token"]
    done = client.post(reverse("studies:case_set_upload_confirm"), {"token": token})
    case_set = CaseSet.objects.get(name="Ward")
    assert done.status_code == 302 and done.url == reverse("studies:case_set_detail", args=[case_set.pk])
    assert case_set.cases.count() == EXAMPLE_HASH_CASES and case_set.owner == admin_user
    # The token is spent: confirming twice imports nothing more.
    again = client.post(reverse("studies:case_set_upload_confirm"), {"token": token})
    assert again.status_code == 302 and Case.objects.count() == EXAMPLE_HASH_CASES


@pytest.mark.django_db
def test_upload_page_lists_every_error_and_offers_no_import(client, admin_user):
    client.force_login(admin_user)
    page = client.post(reverse("studies:case_set_upload"), {"file": sample("many_errors.csv"), "name": "Ward"})
    html = page.content.decode()
    assert "The file has 6 error(s) in 3 row(s)" in html
    assert "row 2, care_setting: &#x27;ICU ward&#x27; is not one of critical_care, primary_care, other" in html
    assert "token" not in page.context and not CaseSet.objects.exists()


@pytest.mark.django_db
def test_upload_page_refuses_a_binary_file_with_its_message(client, admin_user):
    client.force_login(admin_user)
    page = client.post(reverse("studies:case_set_upload"), {"file": sample("spreadsheet.csv"), "name": "Ward"})
    assert "it looks like a ZIP archive (an Excel .xlsx workbook is one)" in page.content.decode()
    assert not CaseSet.objects.exists()


# ------------------------------------------------------------------------------------------ Django admin

@pytest.mark.django_db
def test_django_admin_upload_dry_runs_by_default_and_imports_when_asked(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:studies_caseset_upload")
    assert client.get(url).status_code == 200
    dry = client.post(url, {"file": example_upload(), "name": "Ward", "dry_run": "on"})
    assert "Would create case set Ward v1 with 8 cases." in dry.content.decode()
    assert not CaseSet.objects.exists()
    real = client.post(url, {"file": example_upload(), "name": "Ward"})
    case_set = CaseSet.objects.get(name="Ward")
    assert real.status_code == 302 and real.url == reverse("admin:studies_caseset_change", args=[case_set.pk])
    assert case_set.cases.count() == EXAMPLE_HASH_CASES


@pytest.mark.django_db
def test_django_admin_upload_shows_every_error_and_writes_nothing(client, admin_user):
    client.force_login(admin_user)
    page = client.post(reverse("admin:studies_caseset_upload"), {"file": sample("many_errors.csv"), "name": "W"})
    html = page.content.decode()
    assert "6 errors" in html and "row 4, metadata: is not valid JSON" in html
    assert not CaseSet.objects.exists()


@pytest.mark.django_db
def test_every_entry_point_stores_the_same_case_set(client, admin_user, api_as):
    call_command("import_cases", str(EXAMPLE), "--set", "cmd")
    api_as(admin_user).post(reverse("studies-api:case-set-upload"), {"file": example_upload(), "name": "api"},
                            format="multipart")
    client.force_login(admin_user)
    client.post(reverse("admin:studies_caseset_upload"), {"file": example_upload(), "name": "admin"})
    token = client.post(reverse("studies:case_set_upload"), {"file": example_upload(), "name": "page"}
                        ).context["token"]
    client.post(reverse("studies:case_set_upload_confirm"), {"token": token})
    hashes = dict(CaseSet.objects.values_list("name", "content_hash"))
    assert set(hashes) == {"cmd", "api", "admin", "page"} and len(set(hashes.values())) == 1


# ------------------------------------------------------------------------------------------ triage scale

SCALE = {"name": "Five-level local scale", "ordered": True, "most_urgent": "first",
         "levels": [{"value": str(n), "label": f"Level {n}"} for n in range(1, 6)]}


@pytest.mark.django_db
def test_every_entry_point_declares_the_triage_scale(client, api_as, admin_user):
    call_command("import_cases", str(EXAMPLE), "--set", "Command", "--triage-scale", json.dumps(SCALE))
    api_as(admin_user).post(reverse("studies-api:case-set-upload"), {
        "file": example_upload(), "name": "Api", "triage_scale": json.dumps(SCALE)}, format="multipart")
    client.force_login(admin_user)
    page = client.post(reverse("studies:case_set_upload"), {"file": example_upload(), "name": "Page",
                                                            "triage_scale": json.dumps(SCALE)})
    client.post(reverse("studies:case_set_upload_confirm"), {"token": page.context["token"]})
    for name in ("Command", "Api", "Page"):
        assert CaseSet.objects.get(name=name).triage_scale["name"] == "Five-level local scale", name
    default = client.post(reverse("studies:case_set_upload"), {"file": example_upload(), "name": "Default"})
    client.post(reverse("studies:case_set_upload_confirm"), {"token": default.context["token"]})
    assert CaseSet.objects.get(name="Default").triage_scale["levels"][0]["value"] == "1"


@pytest.mark.django_db
def test_a_malformed_triage_scale_is_refused_with_its_reason(api_as, admin_user):
    response = api_as(admin_user).post(reverse("studies-api:case-set-upload"), {
        "file": example_upload(), "name": "Bad", "triage_scale": '{"name": "x"}'}, format="multipart")
    assert response.status_code == 400 and "Triage scale" in response.json()["message"]
    assert not CaseSet.objects.filter(name="Bad").exists()
