"""Every GET operation that names an object answers a real one in its schema: a study in the rating phase
with cases, personas, models, responses, enrolled clinicians and their queues, read by an admin and by a
clinician, each answer checked with Schemathesis' default checks (the generated requests of
test_contract.py rarely hit an existing id)."""
import pytest

from studies.models import MemberRole, StudyMember
from tests import factories
from tests.annotation.rating_helpers import build_rating_study

from .test_contract import SIGNED_IN_CHECKS, session_of, signed_in_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    rs = build_rating_study(n_cases=2, n_raters=2)
    admin = factories.admin()
    StudyMember.objects.create(study=rs.study, user=admin, role=MemberRole.OWNER)
    persona, model, case = rs.personas[0], rs.models[0], rs.cases[0]
    return {
        "/api/case-sets/{id}/": {"id": case.case_set_id},
        "/api/cases/{id}/": {"id": case.pk},
        "/api/personas/{id}/": {"id": persona.pk},
        "/api/personas/{id}/preview/": ({"id": persona.pk}, {"case": case.pk, "study": rs.study.pk}),
        "/api/model-specs/{id}/": {"id": model.pk},
        "/api/studies/{id}/": {"id": rs.study.pk},
        "/api/studies/{id}/export/": {"id": rs.study.pk},
        "/api/studies/{id}/members/": {"id": rs.study.pk},
        "/api/studies/{study_id}/jobs/": {"study_id": rs.study.pk},
        "/api/rating/admin/studies/{id}/raters/": {"id": rs.study.pk},
        "rater": rs.raters[0],
        "admin": admin,
    }


def _get(path, session, path_parameters=None, query=None):
    case = signed_in_schema[path]["GET"].Case(path_parameters=path_parameters or {}, query=query or {})
    response = case.call_and_validate(**session, **SIGNED_IN_CHECKS)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])


def test_an_admin_reads_real_objects_in_their_schema(world):
    headers = session_of(world["admin"])
    for path in ("/api/case-sets/", "/api/cases/", "/api/personas/", "/api/model-specs/", "/api/studies/",
                 "/api/reports/"):
        _get(path, headers)
    for path, parameters in world.items():
        if path.startswith("/api/"):
            path_parameters, query = parameters if isinstance(parameters, tuple) else (parameters, {})
            _get(path, headers, path_parameters, query)


def test_a_clinician_reads_their_queue_and_items_in_their_schema(world):
    headers = session_of(world["rater"])
    _get("/api/rating/studies/", headers)
    _get("/api/rating/assignments/", headers)
    from annotation.selectors.rating import rater_all_tasks

    for task in list(rater_all_tasks(rater=world["rater"]))[:3]:
        _get("/api/rating/assignments/{code}/", headers, {"code": task.code})
