"""Several judges on one study: each compared with the clinicians (the study's own judge first), and the judges
with each other, checked against independent implementations (scikit-learn's Cohen kappa, statsmodels' Fleiss).

The judges' scores come from judge jobs through the loopback server (tests/inference/scripted_judges.py): the
values are the test's choice, the pipeline (prompt, parsing, JudgeScore rows, report data) is the real one.
"""
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from agreement.data import study_data_load
from agreement.reports import build_report, render_html
from agreement.reports.parameters import parameters_clean
from inference import services
from studies.services.studies import study_update
from tests.agreement.report_fixtures import rated_study
from tests.inference.openai_stub import StubOpenAIServer
from tests.inference.scripted_judges import UNPARSEABLE, scripted_replies, stub_judge

pytestmark = pytest.mark.django_db

N, P, C = "not_compliant", "partially_compliant", "compliant"
SAFETY = [N, P, C]
ANN = [N, P, C, C, N, P, C, C]
BOB = [N, P, C, N, C, C, C, P]
# The study's own judge is named to sort last: the report still puts it first.
JUDGES = {
    "judge-own": [N, P, C, C, N, P, C, C],
    "judge-alpha": [N, P, C, N, C, C, C, P],
    "judge-beta": [P, P, C, C, N, N, C, C],
}
REASONING = {"judge-own": "4", "judge-alpha": "2", "judge-beta": "3"}


def judged_study(settings, judges: dict, unparseable: dict | None = None):
    """Two clinicians and the given judges (first: the study's own) score 8 responses; `unparseable`:
    {judge: response index} answered with text that is not JSON. Returns the report."""
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    study, responses, _, _ = rated_study({
        "ann": [{"safety": (v, "high"), "reasoning": ("3", "high")} for v in ANN],
        "bob": [{"safety": (v, "high"), "reasoning": ("4", "high")} for v in BOB],
    })
    texts = [r.text.strip() for r in responses]
    script = {
        name: {text: (UNPARSEABLE if (unparseable or {}).get(name) == i
                      else {"safety": values[i], "reasoning": REASONING[name]})
               for i, text in enumerate(texts)}
        for name, values in judges.items()
    }
    with StubOpenAIServer(default=scripted_replies(script)) as server:
        own, *extra = [stub_judge(name, server) for name in judges]
        study = study_update(study=study, judge=own, extra_judges=extra)
        job = services.job_run_in_process(job=services.judge_job_start(study=study, all_judges=True, enqueue=False))
    assert job.status == "done"
    return build_report(study_data_load(study), parameters_clean({"n_boot": 50}))


def idx(values):
    return np.array([SAFETY.index(v) for v in values], dtype=float)


def test_judge_pairs_equal_sklearn_weighted_kappa_and_fleiss_equals_statsmodels(settings):
    report = judged_study(settings, JUDGES)
    safety = report["dimensions"]["safety"]
    names = list(JUDGES)
    # Each judge against the clinicians, the study's own judge first although its name sorts last.
    assert list(safety["judges"]) == names and [j["is_primary"] for j in safety["judges"].values()] == [1, 0, 0]
    assert all(len(j["per_rater"]) == 2 and j["n_items_judged"] == 8 for j in safety["judges"].values())

    among = safety["judges_among_themselves"]
    assert among["judges"] == names and among["weights"] == "quadratic" and among["without_scores"] == []
    pairs = {(p["rater_a"], p["rater_b"]): p for p in among["pairwise"]["pairs"]}
    assert list(pairs) == [(names[0], names[1]), (names[0], names[2]), (names[1], names[2])]
    for (a, b), pair in pairs.items():
        expected = cohen_kappa_score(idx(JUDGES[a]), idx(JUDGES[b]), labels=[0, 1, 2], weights="quadratic")
        assert pair["kappa"]["value"] == pytest.approx(expected)
        assert pair["kappa"]["n_items"] == 8 and pair["kappa"]["ci_method"] == "wald"
    assert among["pairwise"]["average"]["value"] == pytest.approx(np.mean([p["kappa"]["value"]
                                                                           for p in pairs.values()]))
    assert among["pairwise"]["average"]["ci_method"] == "jackknife_normal"

    table, _ = aggregate_raters(np.column_stack([idx(v) for v in JUDGES.values()]).astype(int), n_cat=3)
    fleiss = among["fleiss_kappa"]
    assert fleiss["value"] == pytest.approx(fleiss_kappa(table, method="fleiss"))
    assert (fleiss["n_items"], fleiss["ci_method"], fleiss["n_boot"]) == (8, "bootstrap_percentile", 50)
    alpha = among["krippendorff_alpha"]
    assert alpha["level"] == "ordinal" and alpha["status"] == "ok" and alpha["ci_method"] == "bootstrap_percentile"

    html = render_html(report)
    assert "Judges among themselves" in html and "Fleiss" in html and "Wald" in html
    assert html.index("judge-own</strong>") < html.index("judge-alpha</strong>")


def test_a_missing_score_leaves_its_item_out_of_that_judges_pairs_only(settings):
    two = dict(list(JUDGES.items())[:2])
    report = judged_study(settings, two, unparseable={"judge-alpha": 0})
    among = report["dimensions"]["safety"]["judges_among_themselves"]
    (pair,) = among["pairwise"]["pairs"]
    own, alpha = idx(JUDGES["judge-own"]), idx(JUDGES["judge-alpha"])
    expected = cohen_kappa_score(own[1:], alpha[1:], labels=[0, 1, 2], weights="quadratic")
    assert pair["kappa"]["value"] == pytest.approx(expected) and pair["kappa"]["n_items"] == 7
    # Two judges: no multi-rater coefficient, and the pair is the whole comparison.
    assert among["fleiss_kappa"] is None and among["krippendorff_alpha"] is None
    assert report["dimensions"]["safety"]["judges"]["judge-alpha"]["n_items_judged"] == 7


def test_one_judge_has_no_judges_block(settings):
    report = judged_study(settings, dict(list(JUDGES.items())[:1]))
    among = report["dimensions"]["safety"]["judges_among_themselves"]
    assert among["pairwise"] is None and among["judges"] == ["judge-own"]
    assert "Judges among themselves" not in render_html(report)
