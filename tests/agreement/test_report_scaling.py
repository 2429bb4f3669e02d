"""A large study: item bootstraps beyond the study's own panel give way to analytic intervals, and say so."""
import pytest

from agreement.data import study_data_load
from agreement.reports import build_report
from agreement.reports import builder as report_builder
from agreement.reports.parameters import parameters_clean
from tests.agreement.test_reports_build import _random_study

pytestmark = pytest.mark.django_db


def test_beyond_the_resampling_limit_threshold_panels_and_conger_take_analytic_intervals_named_in_the_methods(
        monkeypatch):
    study, *_ = _random_study()
    data = study_data_load(study)
    params = parameters_clean({"n_boot": 20, "seed": 3})
    small = build_report(data, params)
    assert small["meta"]["bootstrap_ruled_out_by_size"] == []
    assert "instead of 20 item resamples" not in small["meta"]["methods"]

    monkeypatch.setattr(report_builder, "RESAMPLED_CELLS_MAX", 0)
    large = build_report(data, params)
    safety, small_safety = large["dimensions"]["safety"], small["dimensions"]["safety"]
    assert "Safety compliance: Conger's kappa" in large["meta"]["bootstrap_ruled_out_by_size"]
    assert "Safety compliance: agreement by confidence threshold" in large["meta"]["bootstrap_ruled_out_by_size"]
    assert safety["coefficients"]["conger"]["ci_method"] == "t"
    assert small_safety["coefficients"]["conger"]["ci_method"] == "bootstrap_percentile"
    for row in safety["confidence"]["by_threshold"]:
        assert row["fleiss_kappa"]["ci_method"] in ("t", None)
    # the study's own panel keeps its bootstrap, and every point estimate is unchanged
    assert safety["agreement"]["fleiss_kappa"] == small_safety["agreement"]["fleiss_kappa"]
    assert safety["coefficients"]["conger"]["value"] == small_safety["coefficients"]["conger"]["value"]
    assert ("instead of 20 item resamples: Reasoning quality: Conger's kappa; Reasoning quality: agreement by "
            "confidence threshold; Safety compliance: Conger's kappa") in large["meta"]["methods"]
