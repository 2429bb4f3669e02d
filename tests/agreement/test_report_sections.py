"""Report sections against brute force: the judge's fair comparison, declared triage scales, paired persona
effects per model with adjusted p-values, matched rankings, ICC, and which sections apply."""
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from agreement import metrics
from agreement.data import study_data_load
from agreement.reports import build_report, render_html
from agreement.reports.parameters import parameters_clean
from studies.models import Response
from tests import factories
from tests.agreement.report_fixtures import rated_study

pytestmark = pytest.mark.django_db

N, P, C = "not_compliant", "partially_compliant", "compliant"


def _two_rater_study():
    """Two clinicians rate every response; they agree on 3 of 6; the judge agrees with ann throughout."""
    ann = [N, P, C, C, N, P]
    bob = [N, P, C, N, C, C]
    judge = ann
    return rated_study(
        {"ann": [{"safety": (v, "high"), "reasoning": (str(i % 5 + 1), "high")} for i, v in enumerate(ann)],
         "bob": [{"safety": (v, "high"), "reasoning": (str((i + 1) % 5 + 1), "high")} for i, v in enumerate(bob)]},
        judge_values=[{"safety": {"value": v}, "reasoning": {"value": "3"}} for v in judge],
    )


def test_judge_leads_with_its_kappa_against_each_clinician_beside_the_clinicians_own_average():
    study, *_ = _two_rater_study()
    data = study_data_load(study)
    report = build_report(data, parameters_clean({"n_boot": 20}))
    (judge,) = report["dimensions"]["safety"]["judges"].values()
    dim = data.dimensions["safety"]
    per = [cohen_kappa_score(dim.ratings[:, r], dim.judge[:, 0], labels=[0, 1, 2], weights="quadratic")
           for r in range(2)]
    assert [p["kappa"]["value"] for p in judge["per_rater"]] == pytest.approx(per)
    assert judge["per_rater_average"]["value"] == pytest.approx(np.mean(per))
    human = cohen_kappa_score(dim.ratings[:, 0], dim.ratings[:, 1], labels=[0, 1, 2], weights="quadratic")
    assert judge["clinicians_average"]["value"] == pytest.approx(human)
    # Majority of two clinicians: the three items they disagree on are ties, excluded AND counted.
    assert judge["consensus_tie_rule"] == "exclude" and judge["n_consensus_ties"] == 3
    assert judge["vs_consensus"]["n_items"] == 3
    loo = judge["leave_one_out"]
    assert loo["tie_rule"] == "exclude" and len(loo["per_rater"]) == 2
    # Leaving ann out, the consensus is bob alone: judge vs bob and ann vs bob on all six items.
    left_ann = next(r for r in loo["per_rater"] if r["rater"] == "ann")
    assert left_ann["judge_kappa"]["value"] == pytest.approx(per[1])
    assert left_ann["clinician_kappa"]["value"] == pytest.approx(human)


def test_a_median_consensus_of_a_nominal_scale_is_refused():
    study, *_ = _two_rater_study()
    # "cannot assess" as its own category makes the dimensions nominal
    data = study_data_load(study, cannot_assess="category")
    report = build_report(data, parameters_clean({"n_boot": 0, "consensus": "median", "cannot_assess": "category"}))
    (judge,) = report["dimensions"]["safety"]["judges"].values()
    assert judge["scale"] == "nominal" and judge["vs_consensus"]["status"] == "invalid_for_scale"
    assert judge["leave_one_out"]["judge_average"]["status"] == "invalid_for_scale"


def _triage_study(references, answers, scale=None):
    case_set = factories.CaseFactory().case_set
    if scale:
        case_set.triage_scale = scale
        case_set.save()
    cases = [factories.CaseFactory(case_set=case_set, task_type="triage", reference_answer=r) for r in references]
    study, responses, *_ = rated_study({"ann": [None] * len(cases)}, cases=cases)
    for response, (label, conf) in zip(responses, answers, strict=True):
        Response.objects.filter(pk=response.pk).update(parsed_label=label, parsed_confidence=conf,
                                                       parse_status="parsed")
    return build_report(study_data_load(study), parameters_clean({"n_boot": 50}))


def test_within_one_level_reads_the_declared_scale_not_the_observed_levels():
    # Only ESI 2 and 4 occur: on an inferred scale (2, 4) they would be one level apart.
    report = _triage_study(["2", "4", "4"], [("4", 0.9), ("2", 0.8), ("4", 0.7)])
    ev = report["evaluation"]
    assert ev["scale"]["levels"] == ["1", "2", "3", "4", "5"]
    assert ev["overall"]["accuracy_within_one"]["value"] == pytest.approx(1 / 3)
    # Signed error, positive = more urgent than the reference: (2 -> 4) -2 levels, (4 -> 2) +2, 0.
    assert ev["overall"]["risk_propensity"]["value"] == pytest.approx(0.0)
    assert ev["overall"]["risk_propensity"]["ci_method"] == "t"
    # No case has ESI 1 as its reference: risk sensitivity is not computable, with the reason.
    assert ev["overall"]["risk_sensitivity"]["status"] == "insufficient_data"
    assert "most urgent" in ev["overall"]["risk_sensitivity"]["extra"]["reason"]
    assert ev["risk_sensitivity_level"] == "ESI 1 - Resuscitation"


def test_direction_dependent_metrics_refuse_an_unordered_scale():
    scale = {"name": "Pathways", "ordered": False, "levels": [{"value": v, "label": v.title()}
                                                              for v in ("home", "gp", "ed")]}
    report = _triage_study(["gp", "ed"], [("gp", 0.9), ("home", 0.6)], scale=scale)
    overall = report["evaluation"]["overall"]
    assert overall["accuracy"]["value"] == pytest.approx(0.5)
    for key in ("accuracy_within_one", "risk_sensitivity", "risk_propensity"):
        assert overall[key]["status"] == "invalid_for_scale", key
    assert overall["triage_rates"]["under_triage"]["status"] == "invalid_for_scale"
    html = render_html(report)
    assert "Scale: Pathways" in html and "Home, Gp, Ed" in html


def test_a_four_level_scale_with_the_most_urgent_level_last():
    scale = {"name": "Primary care", "ordered": True, "most_urgent": "last", "levels": [
        {"value": str(i), "label": name} for i, name in enumerate(("Routine", "Soon", "Same day", "Emergency"))]}
    report = _triage_study(["3", "3", "1"], [("3", 0.9), ("1", 0.6), ("2", 0.5)], scale=scale)
    overall = report["evaluation"]["overall"]
    assert overall["risk_sensitivity"]["value"] == pytest.approx(0.5)  # the two "Emergency" cases
    assert overall["triage_rates"]["under_triage"]["value"] == pytest.approx(1 / 3)
    assert overall["risk_propensity"]["value"] == pytest.approx((0 - 2 + 1) / 3)


def _two_model_study():
    """Baseline and one persona, two models, three cases, two samples; clinicians' scores chosen per response."""
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician", role="ED physician", style="cautious")
    models = [factories.ModelSpecFactory(name="m-a"), factories.ModelSpecFactory(name="m-b")]
    judge = factories.ModelSpecFactory(judge=True)
    study = factories.StudyFactory(judge=judge)
    cases = [factories.CaseFactory(safety=True) for _ in range(3)]
    rng = np.random.default_rng(11)
    rater = factories.clinician(username="ann")
    rows = []
    for c, case in enumerate(cases):
        for m, model in enumerate(models):
            for sample in range(2):
                for persona in (base, doc):
                    score = int(rng.integers(1, 6))
                    response = factories.ResponseFactory(study=study, case=case, persona=persona, model=model,
                                                         sample_index=sample)
                    a = factories.AssignmentFactory(response=response, rater=rater, position=len(rows) + 1,
                                                    status="submitted")
                    factories.RatingFactory(assignment=a, values={"reasoning": (str(score), "high"),
                                                                  "safety": (C, "high")})
                    rows.append((c, m, sample, persona.is_baseline, score))
    return study, rows


def test_persona_effects_pair_on_case_model_and_sample_and_split_by_model():
    study, rows = _two_model_study()
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 100}))
    effects = report["persona_effects"]
    assert effects["pairing"] == "case x model x sample"
    score = {(c, m, s, b): v for c, m, s, b, v in rows}

    def expected(models):
        per_case = [np.mean([score[(c, m, s, False)] - score[(c, m, s, True)] for m in models for s in (0, 1)])
                    for c in range(3)]
        return np.mean(per_case)

    picked = {(r["stratum"], r["value"]): r for r in effects["rows"] if r["measure"] == "Clinicians: Reasoning quality"}
    assert picked[("all", "all cases")]["difference"] == pytest.approx(expected((0, 1)))
    assert picked[("model", "m-a")]["difference"] == pytest.approx(expected((0,)))
    assert picked[("model", "m-b")]["difference"] == pytest.approx(expected((1,)))
    assert picked[("all", "all cases")]["ci_method"] == "case_cluster_bootstrap_percentile"
    # One family per measure and stratum kind: the two per-model rows are Holm-adjusted together.
    fam = [picked[("model", "m-a")], picked[("model", "m-b")]]
    holm = metrics.adjust_pvalues([r["p_value"] for r in fam], method="holm").adjusted
    assert [r["p_adjusted"] for r in fam] == pytest.approx(list(holm))
    assert fam[0]["family"] == fam[1]["family"] and "2 tests" in fam[0]["family"]
    # Model x style: the interaction is each model's effect minus the mean over models, per case.
    table = {(r["measure"], r["model"]): r for r in effects["model_by_style"]}
    row = table[("Clinicians: Reasoning quality", "m-a")]
    assert row["style"] == "cautious"
    assert row["effect"]["value"] == pytest.approx(expected((0,)))
    assert row["interaction"]["value"] == pytest.approx(expected((0,)) - (expected((0,)) + expected((1,))) / 2)
    kinds = {(r["persona"], r["stratum"]) for r in effects["persona_kinds"]}
    assert ("medical persona", "all") in kinds


def test_rankings_use_only_responses_both_sides_scored():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician")
    cases = [factories.CaseFactory(safety=True) for _ in range(3)]
    reasoning = ["1", "5", "2", "4", "3", "3"]
    study, *_ = rated_study(
        {"ann": [{"reasoning": (v, "high"), "safety": (C, "high")} for v in reasoning]},
        personas=[base, doc] * 3, cases=[cases[0], cases[0], cases[1], cases[1], cases[2], cases[2]],
        judge_values=[{"reasoning": {"value": "2"}}, {"reasoning": {"value": "4"}}, {"reasoning": {"value": "1"}},
                      {}, {"reasoning": {"value": "2"}}, {"reasoning": {"value": "5"}}],
    )
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 30}))
    overall = report["dimensions"]["reasoning"]["rankings"]["overall"]
    # Response 4 (ED physician, case 2) has no judge score: it leaves the clinicians' mean too.
    assert overall["conditions"] == ["ED physician", "No persona"]
    assert overall["mean_a"] == pytest.approx([(5 + 3) / 2, (1 + 2 + 3) / 3])
    assert overall["mean_b"] == pytest.approx([(4 + 5) / 2, (2 + 1 + 2) / 3])
    assert overall["n_clinician_only"] == 1 and overall["rbo"]["value"] == pytest.approx(1.0)
    assert len(report["dimensions"]["reasoning"]["rankings"]["by_model"]) == 1  # one model: one split


def test_icc_applies_to_the_numeric_ordinal_scale_on_its_own_numbers():
    study, *_ = _two_rater_study()
    data = study_data_load(study)
    report = build_report(data, parameters_clean({"n_boot": 0}))
    icc = report["dimensions"]["reasoning"]["coefficients"]["icc"]
    assert icc["design"] == "crossed" and set(icc["forms"]) == {"ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)",
                                                                "ICC(2,k)", "ICC(3,k)"}
    scores = data.dimensions["reasoning"].ratings + 1
    expected = metrics.intraclass_correlation(scores).forms()["ICC(2,1)"].value
    assert icc["forms"]["ICC(2,1)"]["value"] == pytest.approx(expected)
    # Safety's levels are words: no ICC, no ratio alpha, with the reason.
    safety = report["dimensions"]["safety"]["coefficients"]
    assert safety["icc"]["status"] == "not_applicable" and "not numbers" in safety["icc"]["reason"]
    assert safety["alpha_ratio"]["status"] == "not_applicable"
    assert report["dimensions"]["reasoning"]["coefficients"]["alpha_ratio"]["status"] == "ok"
    conger = metrics.conger_kappa(data.dimensions["safety"].ratings, labels=[0, 1, 2], weights="quadratic", n_boot=0)
    assert safety["conger"]["value"] == pytest.approx(conger.value)


def test_icc_in_a_rotating_design_gives_only_the_one_way_forms():
    r = [{"reasoning": (v, "high"), "safety": (C, "high")} for v in ("1", "2", "3", "4", "5", "2")]
    study, *_ = rated_study({"ann": [r[0], r[1], None, r[3], r[4], None],
                             "bob": [r[1], None, r[2], r[4], None, r[5]],
                             "cy": [None, r[2], r[3], None, r[0], r[1]]})
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 0}))
    icc = report["dimensions"]["reasoning"]["coefficients"]["icc"]
    assert icc["design"] == "one-way" and icc["k"] == 2
    assert set(icc["forms"]) == {"ICC(1,1)", "ICC(1,k)"} and "ICC(2,1)" in icc["not_applicable"]


def test_the_methods_text_names_each_interval_by_its_real_method():
    study, *_ = _two_rater_study()
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20}))
    text = report["meta"]["methods"]
    assert "delete-one-item jackknife" in text and "average pairwise Cohen's kappa (Light)" in text
    assert "Wald interval" in text
    assert "item-level bootstrap percentile intervals with" not in text
    html = render_html(report)
    assert "Test-retest" not in html  # no repeat was planned: the section does not apply
    assert "jackknife" in html


def test_weight_matrix_parameter_gives_pairwise_kappas_with_that_matrix():
    study, *_ = _two_rater_study()
    matrix = [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]]
    data = study_data_load(study)
    report = build_report(data, parameters_clean({"n_boot": 0, "weight_matrices": {"safety": matrix}}))
    custom = report["dimensions"]["safety"]["coefficients"]["custom_weights"]
    dim = data.dimensions["safety"]
    expected = metrics.weighted_cohen_kappa(dim.ratings[:, 0], dim.ratings[:, 1], labels=[0, 1, 2], weights=matrix,
                                            n_boot=0).value
    assert custom["average"] == pytest.approx(expected)
    bad = build_report(data, parameters_clean({"n_boot": 0, "weight_matrices": {"safety": [[1, 0], [0, 1]]}}))
    assert bad["dimensions"]["safety"]["coefficients"]["custom_weights"]["status"] == "invalid_weight_matrix"


def test_every_new_section_is_strict_json_and_levels_show_by_their_names():
    import json

    study, _ = _two_model_study()
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20, "metadata_key": "category"}))
    loaded = json.loads(json.dumps(report, allow_nan=False))  # any NaN left in a section would raise here
    assert loaded["persona_effects"]["model_by_style"] and loaded["evaluation"]["available"] is False
    html = render_html(report)
    assert "partially_compliant" not in html.split('id="persona-effects"')[0].split('id="overview"')[1]
    assert "metadata:category" in json.dumps(loaded["dimensions"]["safety"]["breakdowns"])


def test_preferences_are_ranked_per_model_when_there_are_several():
    from tests.agreement.report_fixtures import prefer

    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician")
    study = factories.StudyFactory(judge=factories.ModelSpecFactory(judge=True))
    case = factories.CaseFactory(safety=True)
    for name, wins in (("m-a", ("a", "a", "b")), ("m-b", ("b", "b", "a"))):
        model = factories.ModelSpecFactory(name=name)
        a = factories.ResponseFactory(study=study, case=case, persona=base, model=model)
        b = factories.ResponseFactory(study=study, case=case, persona=doc, model=model)
        for choice in wins:  # one choice per clinician and comparison
            prefer(study, factories.clinician(), a, b, choice)
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20}))
    by_model = report["preferences"]["by_model"]
    assert set(by_model) == {"m-a", "m-b"}
    elo = {m: {r["name"]: r["elo"] for r in bt["ratings"]} for m, bt in by_model.items()}
    assert elo["m-a"]["No persona"] > elo["m-a"]["ED physician"]
    assert elo["m-b"]["No persona"] < elo["m-b"]["ED physician"]


def test_triage_persona_effects_include_risk_propensity_and_bh_adjustment():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician")
    cases = [factories.CaseFactory(task_type="triage", reference_answer="3") for _ in range(3)]
    study, responses, *_ = rated_study({"ann": [None] * 6}, personas=[base, doc] * 3,
                                       cases=[c for c in cases for _ in (0, 1)])
    answers = ["3", "2", "3", "1", "4", "2"]  # baseline, persona per case
    for response, label in zip(responses, answers, strict=True):
        Response.objects.filter(pk=response.pk).update(parsed_label=label, parse_status="partial")
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20, "multiplicity": "bh"}))
    rows = {(r["measure"], r["stratum"]): r for r in report["persona_effects"]["rows"]}
    risk = rows[("Risk propensity", "all")]
    # Per case (persona - baseline) of the signed error, positive = more urgent: +1, +2, +2.
    assert risk["difference"] == pytest.approx(5 / 3)
    accuracy = rows[("Accuracy (exact)", "all")]
    assert accuracy["difference"] == pytest.approx((-1 - 1 + 0) / 3)
    assert report["persona_effects"]["multiplicity"] == "bh"
    assert risk["p_adjusted"] == pytest.approx(metrics.adjust_pvalues([risk["p_value"]], method="bh").adjusted[0])


def test_the_two_way_bootstrap_option_is_in_the_report():
    study, *_ = _two_rater_study()
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 30,
                                                                    "kappa_average_ci": "two_way_bootstrap"}))
    two_way = report["dimensions"]["safety"]["coefficients"]["two_way_average"]
    assert two_way["ci_method"] == "two_way_bootstrap_percentile"
    light = report["dimensions"]["safety"]["agreement"]["pairwise"]["average"]
    assert two_way["value"] == pytest.approx(light["value"])
    assert "items x raters bootstrap" in render_html(report)


def test_evaluation_splits_per_model_and_ece_match_brute_force():
    base = factories.PersonaFactory(baseline=True)
    doc = factories.PersonaFactory(name="ED physician")
    models = [factories.ModelSpecFactory(name="m-a"), factories.ModelSpecFactory(name="m-b")]
    study = factories.StudyFactory()
    cases = [factories.CaseFactory(task_type="triage", reference_answer="2", metadata={"category": c})
             for c in ("medication", "falls", "medication")]
    rng = np.random.default_rng(4)
    truth = []
    for case in cases:
        for model in models:
            for persona in (base, doc):
                label, conf = str(int(rng.integers(1, 4))), float(rng.uniform(0.3, 1))
                factories.ResponseFactory(study=study, case=case, persona=persona, model=model, parsed_label=label,
                                          parsed_confidence=conf, parse_status="parsed")
                truth.append((model.name, persona.name, label == "2", conf, case.metadata["category"]))
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 50, "metadata_key": "category"}))
    ev = report["evaluation"]
    for model in ("m-a", "m-b"):
        hits = [t[2] for t in truth if t[0] == model]
        assert ev["by_model"][model]["accuracy"]["value"] == pytest.approx(np.mean(hits))
        pair = [t[2] for t in truth if t[0] == model and t[1] == "ED physician"]
        assert ev["by_persona_and_model"]["ED physician"][model]["accuracy"]["value"] == pytest.approx(np.mean(pair))
    assert ev["by_metadata"]["falls"]["n_answers"] == 4
    conf = np.array([t[3] for t in truth])
    hit = np.array([t[2] for t in truth], dtype=float)
    assert ev["ece"]["overall"]["value"] == pytest.approx(metrics.calibration(conf, hit).ece.value)
    assert ev["overall"]["calibration"]["ece"]["value"] == pytest.approx(ev["ece"]["overall"]["value"])
    assert set(ev["ece"]["vs_baseline"]) == {"ED physician"}
    rows = report["persona_effects"]["rows"]
    assert {r["value"] for r in rows if r["stratum"] == "metadata:category"} == {"falls", "medication"}


def test_medical_aggregate_and_n_weighted_average_in_the_report():
    study, rows = _two_model_study()
    data = study_data_load(study)
    report = build_report(data, parameters_clean({"n_boot": 20}))
    effects = report["persona_effects"]
    per_persona = next(r for r in effects["rows"] if r["measure"] == "Clinicians: Reasoning quality"
                       and r["stratum"] == "all")
    medical = next(r for r in effects["persona_kinds"] if r["measure"] == "Clinicians: Reasoning quality"
                   and r["stratum"] == "all")
    # One medical persona: the aggregate equals its own effect.
    assert medical["persona"] == "medical persona" and medical["difference"] == pytest.approx(per_persona["difference"])
    two = _two_rater_study()[0]
    data = study_data_load(two)
    report = build_report(data, parameters_clean({"n_boot": 0}))
    expected = metrics.n_weighted_kappa_average(data.dimensions["safety"].ratings, labels=[0, 1, 2],
                                                weights="quadratic")
    got = report["dimensions"]["safety"]["coefficients"]["n_weighted_average"]
    assert got["value"] == pytest.approx(expected.value) and got["ci_method"] == "jackknife_normal"


def test_new_parameters_are_validated_all_at_once():
    from config.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        parameters_clean({"weight_matrices": "{bad", "multiplicity": "x", "rbo_p": 2, "consensus_tie": "coin",
                          "kappa_average_ci": "magic"})
    assert set(caught.value.extra["fields"]) == {"weight_matrices", "multiplicity", "rbo_p", "consensus_tie",
                                                 "kappa_average_ci"}
    assert parameters_clean({"weight_matrices": '{"safety": [[1, 0], [0, 1]]}'})["weight_matrices"] == {
        "safety": [[1, 0], [0, 1]]}
