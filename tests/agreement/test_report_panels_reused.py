"""Confidence thresholds that keep every rating, or the same ratings as the threshold before, show the panel
computed for those ratings: each row equals the panel computed afresh on that threshold's ratings."""
import numpy as np
import pytest

from agreement import metrics
from agreement.data import study_data_load
from agreement.reports import build_report
from agreement.reports.parameters import parameters_clean
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

N, P, C = "not_compliant", "partially_compliant", "compliant"


@pytest.mark.parametrize("confidences", [("low", "high"), ("high", "high"), ("medium", "low")])
def test_every_threshold_row_is_the_panel_of_its_ratings(confidences):
    """No "medium" ratings (first case): the medium and high thresholds keep the same ratings; every rating
    meets the lowest threshold, which keeps the whole matrix."""
    values = [N, P, C, C, N, P, C, N]
    study, *_ = rated_study({
        "ann": [{"safety": (v, confidences[i % 2]), "reasoning": (str(i % 5 + 1), "high")}
                for i, v in enumerate(values)],
        "bob": [{"safety": (v, "high"), "reasoning": (str((i * 2) % 5 + 1), confidences[i % 2])}
                for i, v in enumerate(values[::-1])],
        "cy": [{"safety": (values[(i + 1) % 8], confidences[(i + 1) % 2]), "reasoning": (str(i % 3 + 1), "high")}
               for i in range(8)],
    })
    data = study_data_load(study)
    params = parameters_clean({"n_boot": 30})
    report = build_report(data, params)
    for key, dim in data.dimensions.items():
        rows = report["dimensions"][key]["confidence"]["by_threshold"]
        assert [r["min_level"] for r in rows] == list(data.confidence_levels)
        for i, row in enumerate(rows):
            masked = metrics.mask_below_confidence(dim.ratings, dim.confidence, i)
            panel = metrics.agreement_summary(
                masked, labels=dim.dimension.labels, ordinal=dim.dimension.is_ordinal, pairs=False,
                rater_ids=list(data.raters.username), n_boot=30, seed=params["seed"], confidence=params["ci_level"],
            ).to_dict()
            assert row == {**panel, "min_level": data.confidence_levels[i],
                           "n_ratings": int(np.count_nonzero(~np.isnan(masked)))}
        assert report["dimensions"][key]["confidence"]["by_threshold"][0]["fleiss_kappa"] == \
            report["dimensions"][key]["agreement"]["fleiss_kappa"]
