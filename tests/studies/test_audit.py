"""The study audit log: who changed what and when (transitions, enrolments, model specs, rating schema,
personas, exports), append-only, shown on the study page newest first."""
import pytest
from django.urls import reverse

from annotation.services.assignments import study_rater_add, study_rater_remove
from studies.models import AuditEvent, Persona, StudyStatus
from studies.selectors import study_audit_events
from studies.services.audit import audit_record
from studies.services.model_specs import model_spec_update
from studies.services.personas import persona_update
from studies.services.studies import study_transition, study_update
from studies.services.study_files import study_export_text
from tests import factories
from tests.annotation.rating_helpers import build_rating_study
from tests.studies.test_setup_pages import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def actions(study):
    return [e.action for e in study_audit_events(study=study)]


def test_services_record_who_changed_the_study():
    admin_user = factories.admin(is_superuser=True)
    rs = build_rating_study(n_raters=2, plan=False, status=StudyStatus.GENERATING)
    study = rs.study
    study_update(study=study, actor=admin_user, description="Pilot")
    study_transition(study=study, to_status=StudyStatus.RATING, user=admin_user)
    newcomer = factories.clinician()
    study_rater_add(study=study, rater=newcomer, actor=admin_user)
    study_rater_remove(study=study, rater=newcomer, actor=admin_user)
    model_spec_update(model_spec=rs.models[0], actor=admin_user, name="renamed-model")
    persona = Persona.objects.get(slug="zanzibar-ed-doc")
    persona_update(persona=persona, actor=admin_user, description="Edited")
    study_export_text(study=study, actor=admin_user)
    events = list(study_audit_events(study=study))
    assert [e.action for e in events] == [
        "study_exported", "persona_updated", "model_spec_updated", "rater_withdrawn", "rater_enrolled",
        "study_transition", "study_updated"]
    assert all(e.actor == admin_user and e.created_at for e in events)
    by_action = {e.action: e.detail for e in events}
    assert by_action["study_transition"] == {"from": "generating", "to": "rating"}
    assert by_action["rater_enrolled"]["rater"] == newcomer.username
    assert by_action["model_spec_updated"]["changed"] == ["name"]
    assert by_action["persona_updated"]["slug"] == "zanzibar-ed-doc"
    assert by_action["study_updated"]["changed"] == ["description"]


def test_a_rating_schema_change_records_before_and_after(admin_user):
    rs = build_rating_study(n_raters=2, plan=False, status=StudyStatus.DRAFT)
    schema = {"dimensions": [{"key": "ok", "label": "OK?", "kind": "categorical",
                              "choices": [{"value": "y", "label": "Yes"}, {"value": "n", "label": "No"}]}]}
    study_update(study=rs.study, actor=admin_user, rating_schema=schema)
    event = AuditEvent.objects.get(study=rs.study, action="rating_schema_changed")
    assert event.detail == {"before": {}, "after": schema} and event.actor == admin_user


def test_events_are_append_only(admin_user):
    event = audit_record(study=None, actor=admin_user, action="study_exported", detail={})
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_the_pages_and_api_record_their_user_and_the_study_page_lists_events(world, client, api_as,  # noqa: F811
                                                                            admin_user):
    study = world["study"]
    client.force_login(admin_user)
    client.get(reverse("studies:study_export", args=[study.pk]))
    client.post(reverse("studies:study_edit", args=[study.pk]), {
        "name": "Pilot", "description": "Now with a description", "raters_per_response": 2, "anchor_items": 0,
        "retest_fraction": 0, "leak_policy": "redact", "assignment_seed": 7, "eligibility": "{}",
        "task_instructions": "{}", "rating_schema": "{}", "case_sets": [world["case_set"].pk],
        "model_specs": [world["model"].pk], "personas": [world["persona"].pk]})
    client.post(reverse("studies:study_transition", args=[study.pk]), {"to_status": "generating"})
    api = api_as(admin_user)
    api.get(reverse("studies-api:study-export", args=[study.pk]))
    api.patch(reverse("studies-api:study-detail", args=[study.pk]), {"description": "API edit"}, format="json")
    api.patch(reverse("studies-api:model-spec-detail", args=[world["model"].pk]), {"name": "m2"}, format="json")
    api.patch(reverse("studies-api:persona-detail", args=[world["persona"].pk]), {"description": "d"},
              format="json")
    clinician = factories.clinician()
    api.post(reverse("annotation-api:rating-study-raters", args=[study.pk]), {"username": clinician.username},
             format="json")
    api.delete(reverse("annotation-api:rating-study-rater", args=[study.pk, clinician.username]))
    events = list(study_audit_events(study=study))
    assert [e.action for e in events][:9] == [
        "rater_withdrawn", "rater_enrolled", "persona_updated", "model_spec_updated", "study_updated",
        "study_exported", "study_transition", "study_updated", "study_exported"]
    assert all(e.actor == admin_user for e in events[:9])
    html = client.get(reverse("studies:study_detail", args=[study.pk])).content.decode()
    assert 'id="audit-log"' in html and "rater_withdrawn" not in html  # shown by label
    assert html.index("Clinician withdrawn") < html.index("Exported")
    assert admin_user.username in html
