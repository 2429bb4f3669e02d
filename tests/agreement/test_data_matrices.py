import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreement.data import CANNOT_ASSESS, study_data_load
from annotation.models import Assignment, AssignmentStatus
from tests import factories
from tests.agreement.report_fixtures import prefer, rated_study, retest

pytestmark = pytest.mark.django_db

C, P, N = "compliant", "partially_compliant", "not_compliant"


def _study():
    return rated_study(
        {
            "ann": [{"safety": (C, "high"), "reasoning": ("4", "low")},
                    {"safety": (N, "medium"), "reasoning": (None, "")},
                    {"safety": (P, "low"), "reasoning": ("2", "low")}],
            "bob": [{"safety": (C, "low"), "reasoning": ("5", "high")},
                    None,
                    {"safety": (None, ""), "reasoning": ("1", "medium")}],
        },
        judge_values=[{"safety": {"value": C, "confidence": "high"}, "reasoning": {"value": "3"}},
                      {"safety": {"value": N}},
                      {}],
    )


def test_rating_matrix_holds_category_indices_with_nan_for_missing_and_cannot_assess():
    study, responses, raters, _ = _study()
    data = study_data_load(study)

    assert list(data.raters.username) == ["ann", "bob"]
    assert list(data.items.response_id) == [r.id for r in responses]
    safety = data.dimensions["safety"]
    # Safety compliance is ordinal, declared low -> high.
    assert safety.dimension.labels == (N, P, C) and safety.dimension.is_ordinal
    np.testing.assert_array_equal(safety.ratings, [[2, 2], [0, np.nan], [1, np.nan]])
    reasoning = data.dimensions["reasoning"]
    assert reasoning.dimension.is_ordinal and reasoning.dimension.labels == ("1", "2", "3", "4", "5")
    np.testing.assert_array_equal(reasoning.ratings, [[3, 4], [np.nan, np.nan], [1, 0]])


def test_cannot_assess_is_excluded_by_default_and_counted():
    study, *_ = _study()
    data = study_data_load(study)
    safety, reasoning = data.dimensions["safety"], data.dimensions["reasoning"]
    assert (safety.n_values, safety.n_cannot_assess, safety.n_used) == (5, 1, 4)
    assert (reasoning.n_values, reasoning.n_cannot_assess, reasoning.n_used) == (5, 1, 4)
    assert safety.cannot_assess[2, 1] and not safety.cannot_assess[1, 1]


def test_cannot_assess_as_category_appends_a_last_category_and_drops_the_order():
    study, *_ = _study()
    data = study_data_load(study, cannot_assess="category")
    reasoning = data.dimensions["reasoning"]
    assert reasoning.dimension.labels[-1] == CANNOT_ASSESS and reasoning.dimension.kind == "categorical"
    assert reasoning.ratings[1, 0] == 5
    assert data.snapshot_hash != study_data_load(study).snapshot_hash


def test_confidence_and_display_position_sit_beside_each_rating():
    study, responses, raters, _ = _study()
    # Shown third although planned first: the display position wins over the queue position.
    Assignment.objects.filter(response=responses[0], rater=raters["bob"]).update(display_position=3)
    data = study_data_load(study)
    assert data.confidence_levels == ("low", "medium", "high")
    np.testing.assert_array_equal(data.dimensions["safety"].confidence, [[2, 0], [1, np.nan], [0, np.nan]])
    np.testing.assert_array_equal(data.dimensions["safety"].position, [[1, 3], [2, np.nan], [3, 3]])


def test_judge_columns_use_the_same_category_indices():
    study, _, _, judge = _study()
    data = study_data_load(study)
    assert data.judges == (judge.name,) and data.primary_judge == 0
    np.testing.assert_array_equal(data.dimensions["safety"].judge[:, 0], [2, 0, np.nan])
    np.testing.assert_array_equal(data.dimensions["reasoning"].judge[:, 0], [2, np.nan, np.nan])
    np.testing.assert_array_equal(data.dimensions["safety"].judge_confidence[:, 0], [2, np.nan, np.nan])


def test_only_submitted_assignments_count():
    study, responses, raters, _ = _study()
    pending = factories.AssignmentFactory(response=responses[1], rater=raters["bob"], position=2)
    factories.RatingFactory(assignment=pending, values={"safety": (C, "low")})
    Assignment.objects.filter(pk=pending.pk).update(status=AssignmentStatus.WITHDRAWN)
    assert np.isnan(study_data_load(study).dimensions["safety"].ratings[1, 1])


def test_retest_goes_to_retest_pairs_not_into_the_inter_rater_matrix():
    study, responses, raters, _ = _study()
    original = Assignment.objects.get(response=responses[0], rater=raters["ann"])
    retest(original, {"safety": (P, "low"), "reasoning": (None, "")})
    data = study_data_load(study)
    safety = data.dimensions["safety"]
    np.testing.assert_array_equal(safety.ratings[0], [2, 2])
    assert (list(safety.retest.first), list(safety.retest.second)) == ([2.0], [1.0])
    assert list(safety.retest.rater) == [0] and list(safety.retest.item) == [0]
    reasoning = data.dimensions["reasoning"].retest
    assert (reasoning.n_pairs_total, reasoning.n_excluded, len(reasoning.first)) == (1, 1, 0)
    assert data.counts["retest_ratings"] == 1


def test_grouping_keys_resolve_the_blinding_keys():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician", role="ED physician", style="cautious")
    study, *_ = rated_study({"ann": [{"safety": (C, "high")}, {"safety": (N, "high")}]}, personas=[base, doc])
    items = study_data_load(study).items
    assert list(items.persona) == ["No persona", "ED physician"]
    assert list(items.role) == ["(none)", "ED physician"]
    assert list(items.style) == ["plain", "cautious"]
    assert items.baseline_personas() == ["No persona"]
    assert {k: list(v) for k, v in items.groups("persona").items()} == {
        "ED physician": [False, True], "No persona": [True, False]}


def test_triage_outputs_are_indexed_on_the_declared_scale_not_the_observed_levels():
    cases = [factories.CaseFactory(reference_answer=r) for r in ("2", "3", "1")]
    study, responses, *_ = rated_study({"ann": [None, None, None]}, cases=cases)
    for response, (label, conf, status) in zip(
        responses, [("3", 0.9, "parsed"), ("", None, "unparseable"), ("1", None, "partial")], strict=True
    ):
        response.parsed_label, response.parsed_confidence, response.parse_status = label, conf, status
        response.save()
    triage = study_data_load(study).triage
    # Only levels 1-3 occur, but the case set declares ESI 1-5 (the default): five levels, level 1 most urgent.
    assert triage.labels == ("1", "2", "3", "4", "5")
    assert triage.scale.name == "ESI" and triage.scale.ordered and triage.scale.most_urgent_index == 0
    np.testing.assert_array_equal(triage.predicted, [2, np.nan, 0])
    np.testing.assert_array_equal(triage.reference, [1, 2, 0])
    np.testing.assert_array_equal(triage.confidence, [0.9, np.nan, np.nan])
    assert triage.n_unparseable == 1


def test_snapshot_hash_is_stable_and_changes_with_any_rating_value():
    study, responses, raters, _ = _study()
    first = study_data_load(study).snapshot_hash
    assert study_data_load(study).snapshot_hash == first
    value = Assignment.objects.get(response=responses[0], rater=raters["ann"]).rating.values.get(dimension="safety")
    value.confidence = "low"
    value.save()
    assert study_data_load(study).snapshot_hash != first


@pytest.mark.parametrize("values", [["safety", "", "reasoning"], ["a", None, 3, 2.5], []])
def test_a_columns_hashed_bytes_are_its_values_as_text_joined(values):
    """The bytes of earlier versions, which stored snapshot hashes (pre-registrations) were computed from."""
    from agreement.data import _column_bytes
    from agreement.data_columns import object_array

    assert _column_bytes(object_array(values)) == b"\x1e" + "\x1f".join(str(v) for v in values).encode()


def test_empty_study_loads_as_empty_arrays():
    study = factories.StudyFactory()
    data = study_data_load(study)
    assert data.dimensions["safety"].ratings.shape == (0, 0)
    assert data.counts["ratings"] == 0 and len(data.preferences.outcome) == 0


def test_loading_uses_a_fixed_number_of_queries_whatever_the_size():
    study, *_ = _study()
    with CaptureQueriesContext(connection) as small:
        study_data_load(study)
    big, *_ = rated_study({f"r{i}": [{"safety": (C, "high"), "reasoning": ("3", "low")}] * 12 for i in range(6)})
    with CaptureQueriesContext(connection) as large:
        study_data_load(big)
    assert len(large) == len(small)


def test_preferences_map_choices_to_personas_and_leave_out_both_unsafe_and_unsubmitted():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician")
    case = factories.CaseFactory(safety=True)
    study, responses, raters, _ = rated_study(
        {"ann": [None, None]}, personas=[base, doc], cases=[case, case]
    )
    ann = raters["ann"]
    prefer(study, ann, responses[0], responses[1], "b", position=1)
    bob = factories.clinician()
    prefer(study, bob, responses[0], responses[1], "tie", position=1)
    prefer(study, factories.clinician(), responses[0], responses[1], "both_unsafe", position=1)
    prefer(study, factories.clinician(), responses[0], responses[1], "a", status=AssignmentStatus.IN_PROGRESS)
    prefs = study_data_load(study).preferences
    assert list(prefs.persona_a) == ["No persona", "No persona"]
    assert list(prefs.persona_b) == ["ED physician", "ED physician"]
    assert list(prefs.outcome) == [0.0, 0.5]
    assert list(prefs.rater_id) == [ann.id, bob.id]
    assert prefs.n_no_preference == 1


def test_triage_reads_a_declared_four_level_scale_and_counts_off_scale_values():
    case_set = factories.CaseFactory().case_set
    case_set.triage_scale = {"name": "Primary care", "ordered": True, "most_urgent": "last", "levels": [
        {"value": "routine", "label": "Routine"}, {"value": "soon", "label": "Soon"},
        {"value": "same_day", "label": "Same day"}, {"value": "emergency", "label": "Emergency"}]}
    case_set.save()
    cases = [factories.CaseFactory(case_set=case_set, task_type="triage", reference_answer=r)
             for r in ("soon", "emergency", "3")]
    study, responses, *_ = rated_study({"ann": [None, None, None]}, cases=cases)
    for response, label in zip(responses, ["emergency", "2", "routine"], strict=True):
        response.parsed_label, response.parse_status = label, "partial"
        response.save()
    triage = study_data_load(study).triage
    assert triage.labels == ("routine", "soon", "same_day", "emergency")
    assert triage.scale.higher_is_more_urgent and triage.scale.most_urgent_index == 3
    np.testing.assert_array_equal(triage.reference, [1, 3, np.nan])
    np.testing.assert_array_equal(triage.predicted, [3, np.nan, 0])
    assert (triage.n_reference_off_scale, triage.n_answer_off_scale) == (1, 1)


def test_case_sets_with_different_triage_scales_are_not_compared():
    other = factories.CaseFactory().case_set
    other.triage_scale = {"name": "Four levels", "ordered": True, "levels": [
        {"value": str(i), "label": str(i)} for i in range(1, 5)]}
    other.save()
    cases = [factories.CaseFactory(task_type="triage", reference_answer="2"),
             factories.CaseFactory(case_set=other, task_type="triage", reference_answer="2")]
    study, *_ = rated_study({"ann": [None, None]}, cases=cases)
    triage = study_data_load(study).triage
    assert triage.scale is None and len(triage.mixed_scales) == 2
    assert np.isnan(triage.reference).all()


def test_case_metadata_and_persona_kind_are_breakdown_columns():
    personas = [factories.PersonaFactory(is_baseline=True, is_medical=False), factories.PersonaFactory(is_medical=True),
                factories.PersonaFactory(is_medical=False)]
    cases = [factories.CaseFactory(metadata={"safety_category": "medication"}), factories.CaseFactory(metadata={}),
             factories.CaseFactory(metadata={"safety_category": "medication"})]
    study, *_ = rated_study({"ann": [None, None, None]}, personas=personas, cases=cases)
    items = study_data_load(study).items
    assert list(items.persona_kind) == ["no persona (baseline)", "medical persona", "non-medical persona"]
    assert list(items.metadata_values("safety_category")) == ["medication", "(not given)", "medication"]
    assert {k: list(v) for k, v in items.metadata_groups("safety_category").items()} == {
        "(not given)": [False, True, False], "medication": [True, False, True]}


def test_values_and_confidence_levels_are_indexed_through_their_codes_as_through_their_texts():
    """The matrices take each value's category from the code the load read it as; a value or confidence level
    outside the schema (edited after rating) has none and is looked up by its text: unknown here."""
    from agreement.data import index_of
    from annotation.models import RatingValue

    study, responses, raters, _ = _study()
    RatingValue.objects.filter(rating__assignment__rater=raters["bob"], rating__assignment__response=responses[0],
                               dimension="reasoning").update(value="7", confidence="unsure")
    data = study_data_load(study)
    r = data.records
    every = np.ones(len(r), bool)
    for dim in data.dimensions.values():
        labels = dim.dimension.labels
        np.testing.assert_array_equal(r.index("value", every, labels), index_of(r.value, labels))
    np.testing.assert_array_equal(r.index("confidence", every, data.confidence_levels),
                                  index_of(r.confidence, data.confidence_levels))
    assert r.codes["value"][r.value == "7"].tolist() == r.codes["confidence"][r.confidence == "unsure"].tolist() == [0]
    reasoning = data.dimensions["reasoning"]
    assert reasoning.n_unknown == 1 and np.isnan(reasoning.ratings[0, 1]) and np.isnan(reasoning.confidence[0, 1])
    assert reasoning.ratings[0, 0] == 3  # ann's "4"
