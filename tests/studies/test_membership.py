"""Per-study membership: researchers see and report only their studies, admins manage only theirs,
a site superuser sees all; the owner changes members; closing a study is confirmed by its name."""
import pytest
from django.urls import reverse

from agreement.models import Report
from studies.models import MemberRole, Study, StudyMember, StudyStatus
from studies.permissions import studies_for, study_can
from studies.services.members import study_member_remove, study_member_set
from studies.services.studies import study_create
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

C = "compliant"


@pytest.fixture
def two_studies():
    """Study A (rated, owned by admin_a, read by researcher_a) and study B (owned by admin_b)."""
    a = rated_study({"ann": [{"safety": (C, "high")}], "bob": [{"safety": (C, "low")}]})[0]
    b = rated_study({"cy": [{"safety": (C, "high")}], "di": [{"safety": ("not_compliant", "low")}]})[0]
    people = {"admin_a": factories.study_owner(a), "admin_b": factories.study_owner(b),
              "researcher_a": factories.study_member(a, factories.researcher(), role="researcher")}
    return a, b, people


def test_the_creator_of_a_study_is_its_owner(admin_user):
    study = study_create(name="Mine", owner=admin_user)
    assert StudyMember.objects.get(study=study).role == MemberRole.OWNER
    assert study_can(admin_user, study, "members")


def test_a_researcher_of_study_a_cannot_see_study_b(two_studies, api_as, client):
    a, b, people = two_studies
    api = api_as(people["researcher_a"])
    assert [s["id"] for s in api.get("/api/studies/").json()["results"]] == [a.pk]
    assert api.get(f"/api/studies/{a.pk}/").status_code == 200
    assert api.get(f"/api/studies/{b.pk}/").status_code == 404
    refused = api.post("/api/reports/", {"study": b.pk, "format": "csv"}, format="json")
    assert refused.status_code == 400 and Report.objects.filter(study=b).count() == 0
    client.force_login(people["researcher_a"])
    listing = client.get(reverse("agreement:report_list")).content.decode()
    assert a.name in listing and b.name not in listing
    assert client.get(reverse("agreement:study_report", args=[b.pk])).status_code == 404
    assert client.get(reverse("agreement:study_report", args=[a.pk])).status_code == 200


def test_reports_of_another_study_are_invisible(two_studies, api_as):
    from agreement import services

    a, b, people = two_studies
    report = services.report_generate(study=b, format="csv")
    api = api_as(people["researcher_a"])
    assert api.get(f"/api/reports/{report.pk}/").status_code == 404
    assert api.get(f"/api/reports/{report.pk}/download/").status_code == 404
    assert report.pk not in [r["id"] for r in api.get("/api/reports/").json()["results"]]


def test_an_admin_manages_only_their_own_studies(two_studies, api_as, client):
    a, b, people = two_studies
    before = b.status
    api = api_as(people["admin_a"])
    assert api.get(f"/api/studies/{b.pk}/").status_code == 404
    assert api.post(f"/api/studies/{b.pk}/transition/", {"to_status": "closed"}, format="json").status_code == 404
    assert api.post(f"/api/studies/{b.pk}/judge-jobs/").status_code == 404
    assert api.get(f"/api/rating/admin/studies/{b.pk}/raters/").status_code == 404
    client.force_login(people["admin_a"])
    page = client.get(reverse("studies:study_list")).content.decode()
    assert a.name in page and b.name not in page
    assert client.get(reverse("studies:study_detail", args=[b.pk])).status_code == 404
    b.refresh_from_db()
    assert b.status == before


def test_a_researcher_member_reads_but_cannot_write(two_studies, api_as):
    a, _b, people = two_studies
    api = api_as(people["researcher_a"])
    assert api.patch(f"/api/studies/{a.pk}/", {"description": "x"}, format="json").status_code == 403
    assert api.post(f"/api/studies/{a.pk}/transition/", {"to_status": "closed"}, format="json").status_code == 403


def test_a_site_superuser_sees_every_study(two_studies, api_as):
    a, b, _people = two_studies
    root = factories.admin(is_superuser=True)
    assert {s["id"] for s in api_as(root).get("/api/studies/").json()["results"]} == {a.pk, b.pk}
    assert set(studies_for(root, "manage")) == {a, b}


def test_the_owner_adds_and_removes_members_through_the_api(two_studies, api_as):
    a, _b, people = two_studies
    newcomer = factories.researcher()
    owner = api_as(people["admin_a"])
    added = owner.post(f"/api/studies/{a.pk}/members/", {"username": newcomer.username, "role": "researcher"},
                       format="json")
    assert added.status_code == 200 and added.json()["role"] == "researcher"
    assert newcomer.username in [m["username"] for m in owner.get(f"/api/studies/{a.pk}/members/").json()]
    assert api_as(newcomer).get(f"/api/studies/{a.pk}/").status_code == 200
    # A researcher member cannot change members; nor can a clinician become a study admin.
    assert api_as(people["researcher_a"]).post(f"/api/studies/{a.pk}/members/", {
        "username": newcomer.username, "role": "admin"}, format="json").status_code == 403
    refused = owner.post(f"/api/studies/{a.pk}/members/", {"username": factories.clinician().username,
                                                           "role": "admin"}, format="json")
    assert refused.status_code == 400 and "site admin" in refused.json()["message"]
    assert owner.delete(f"/api/studies/{a.pk}/members/{newcomer.username}/").status_code == 204
    assert api_as(newcomer).get(f"/api/studies/{a.pk}/").status_code == 404


def test_a_study_keeps_at_least_one_owner(two_studies):
    from config.exceptions import ApplicationError

    a, _b, people = two_studies
    with pytest.raises(ApplicationError, match="at least one owner"):
        study_member_remove(study=a, username=people["admin_a"].username, by=people["admin_a"])
    with pytest.raises(ApplicationError, match="at least one owner"):
        study_member_set(study=a, user=people["admin_a"], role="admin", by=people["admin_a"])
    assert a.members.get(user=people["admin_a"]).role == MemberRole.OWNER


def test_the_study_page_lists_members_and_the_owner_adds_one(two_studies, client):
    a, _b, people = two_studies
    newcomer = factories.admin()
    client.force_login(people["admin_a"])
    page = client.get(reverse("studies:study_detail", args=[a.pk])).content.decode()
    assert people["researcher_a"].username in page and "Add or change" in page
    client.post(reverse("studies:study_member_set", args=[a.pk]), {"username": newcomer.username, "role": "admin"})
    assert a.members.get(user=newcomer).role == MemberRole.ADMIN


def test_closing_a_study_asks_for_its_name_and_says_what_cannot_be_undone(two_studies, client):
    a, _b, people = two_studies
    Study.objects.filter(pk=a.pk).update(status=StudyStatus.RATING)
    client.force_login(people["admin_a"])
    url = reverse("studies:study_transition", args=[a.pk])
    asked = client.post(url, {"to_status": "closed"})
    assert asked.status_code == 200 and "cannot be reopened" in asked.content.decode()
    wrong = client.post(url, {"to_status": "closed", "confirm_name": "not it"})
    assert "not the study&#x27;s name" in wrong.content.decode() or "not the study's name" in wrong.content.decode()
    assert Study.objects.get(pk=a.pk).status == StudyStatus.RATING
    client.post(url, {"to_status": "closed", "confirm_name": a.name})
    assert Study.objects.get(pk=a.pk).status == StudyStatus.CLOSED
