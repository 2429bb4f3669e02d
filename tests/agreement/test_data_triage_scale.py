"""A case set's triage scale is declared at upload (default ESI 1-5) and read back by the report data."""
import io

import pytest

from agreement.data import study_data_load
from config.exceptions import ApplicationError
from studies.importers.triage_scale import triage_scale_read
from studies.models import CaseSet
from studies.services.case_sets import case_set_import
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

CSV = (b"external_id,vignette,question,task_type,care_setting,reference_answer\n"
       b"c1,Chest pain,Which level?,triage,critical_care,emergency\n")
FOUR = {"name": "Primary care", "ordered": True, "most_urgent": "last", "levels": [
    {"value": "routine", "label": "Routine"}, {"value": "soon", "label": "Soon"},
    {"value": "same_day", "label": "Same day"}, {"value": "emergency", "label": "Emergency"}]}


def test_the_default_scale_is_esi_one_to_five():
    assert [lv["value"] for lv in triage_scale_read(None)["levels"]] == ["1", "2", "3", "4", "5"]
    assert triage_scale_read("ESI")["most_urgent"] == "first"


def test_a_bad_declaration_is_refused_with_its_problems():
    with pytest.raises(ValueError, match="levels"):
        triage_scale_read('{"name": "x", "ordered": true, "levels": [{"value": "a", "label": "A"}]}')
    with pytest.raises(ValueError, match="own value"):
        triage_scale_read({"name": "x", "ordered": True, "levels": [{"value": "a", "label": "A"},
                                                                    {"value": "a", "label": "B"}]})


def test_an_upload_declares_its_scale_and_the_report_data_reads_it():
    owner = factories.UserFactory()
    result = case_set_import(file=io.BytesIO(CSV), filename="cases.csv", name="Primary", owner=owner,
                             triage_scale=FOUR)
    case_set = CaseSet.objects.get(pk=result.case_set.pk)
    assert case_set.triage_scale["name"] == "Primary care"
    study, *_ = rated_study({"ann": [None]}, cases=list(case_set.cases.all()))
    triage = study_data_load(study).triage
    assert triage.labels == ("routine", "soon", "same_day", "emergency") and list(triage.reference) == [3.0]
    with pytest.raises(ApplicationError, match="Triage scale"):
        case_set_import(file=io.BytesIO(CSV), filename="cases.csv", name="Other", triage_scale={"name": "x"})


def test_an_upload_without_a_scale_gets_esi():
    result = case_set_import(file=io.BytesIO(CSV.replace(b"emergency", b"2")), filename="c.csv", name="ESI set")
    assert CaseSet.objects.get(pk=result.case_set.pk).triage_scale["name"] == "ESI"


def test_a_case_set_checks_its_declared_scale():
    from django.core.exceptions import ValidationError

    case_set = factories.CaseFactory().case_set
    case_set.triage_scale = {"name": "x", "ordered": True, "levels": [{"value": "1", "label": "one"}]}
    with pytest.raises(ValidationError, match="triage_scale"):
        case_set.full_clean()
    case_set.triage_scale = FOUR
    case_set.full_clean()
    assert case_set.triage_scale["most_urgent"] == "last"
