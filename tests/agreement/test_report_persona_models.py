"""The persona-effect models in the report: inputs read from the study, the baseline as reference, the size
switch, and the HTML, JSON and methods text."""
import json

import numpy as np
import pytest

from agreement.data import BASELINE_KIND, study_data_load
from agreement.metrics.mixed import mixed_model
from agreement.reports import build_report, render_html, report_json
from agreement.reports import persona_models as section
from agreement.reports.parameters import parameters_clean
from annotation.models import AssignmentStatus, RatingValue
from config.exceptions import ApplicationError
from tests import factories

pytestmark = pytest.mark.django_db

SAFETY = ("not_compliant", "partially_compliant", "compliant")
EFFECT = {"plain": 0.8, "cautious": -0.6}


def _study(n_cases=6, seed=0):
    """Cases x (baseline + 3 personas, two sharing a style) x 2 models; 3 clinicians rate every response.

    Ratings are drawn from a latent score (persona style effect + case and clinician effects + noise)."""
    rng = np.random.default_rng(seed)
    judge = factories.ModelSpecFactory(judge=True)
    study = factories.StudyFactory(judge=judge)
    models = [factories.ModelSpecFactory(), factories.ModelSpecFactory()]
    personas = [factories.PersonaFactory(baseline=True), factories.PersonaFactory(style="plain"),
                factories.PersonaFactory(style="plain"), factories.PersonaFactory(style="cautious")]
    raters = [factories.clinician(username=f"clin{i}") for i in range(3)]
    bias = rng.normal(0, 0.4, len(raters))
    for c in range(n_cases):
        case = factories.CaseFactory(care_setting=("critical_care", "primary_care")[c % 2],
                                     reference_answer=str(1 + c % 5))
        level = rng.normal(0, 0.6)
        for persona in personas:
            for model in models:
                shift = 0.0 if persona.is_baseline else EFFECT[persona.style]
                answer = str(1 + (c + int(rng.integers(0, 2)) * (persona.style == "cautious")) % 5)
                response = factories.ResponseFactory(study=study, case=case, persona=persona, model=model,
                                                     parsed_label=answer, parse_status="parsed")
                for rater, b in zip(raters, bias, strict=True):
                    latent = 3 + shift + level + b + rng.normal(0, 0.7)
                    assignment = factories.AssignmentFactory(response=response, rater=rater,
                                                             status=AssignmentStatus.SUBMITTED)
                    factories.RatingFactory(assignment=assignment, values={
                        "safety": (SAFETY[int(np.clip(round(latent - 2), 0, 2))], "high"),
                        "reasoning": (str(int(np.clip(round(latent), 1, 5))), "medium")})
                factories.JudgeScoreFactory(response=response, judge=judge, values={
                    "safety": {"value": SAFETY[int(np.clip(round(2 + shift + level), 0, 2))]},
                    "reasoning": {"value": str(int(np.clip(round(3 + shift + level), 1, 5)))}})
    return study


def _report(study, **params):
    data = study_data_load(study, cannot_assess=params.get("cannot_assess", "exclude"))
    return data, build_report(data, parameters_clean({"n_boot": 0, **params}))


def _reasoning_fit(study, spec: str):
    """The ordinal model of the reasoning ratings about persona (by name) or style, fitted from the default
    start on rows read straight from the database."""
    rows = RatingValue.objects.filter(dimension="reasoning").values_list(
        "value", "rating__assignment__rater__username", "rating__assignment__response_id")
    responses = {r.id: r for r in study.responses.select_related("case", "persona", "model")}
    resp = [responses[rid] for _, _, rid in rows]
    return mixed_model(
        [float(v) - 1 for v, _, _ in rows], kind="ordinal", fixed={
            spec: [BASELINE_KIND if r.persona.is_baseline else getattr(r.persona, "name" if spec == "persona" else spec)
                   for r in resp],
            "care_setting": [r.case.care_setting for r in resp], "model": [r.model.name for r in resp]},
        random={"case": [r.case_id for r in resp], "clinician": [u for _, u, _ in rows],
                "response": [r.id for r in resp]},
        reference={spec: BASELINE_KIND})


def test_models_fit_every_measure_against_the_baseline_and_equal_a_direct_fit():
    study = _study()
    data, report = _report(study)
    pm = report["persona_models"]
    assert pm["available"] and pm["mode"] == "auto" and pm["reference"].startswith(BASELINE_KIND)
    assert pm["style_note"] == ""  # two personas share a style: the style model is fitted too
    assert [(m["measure"], m["spec"]) for m in pm["models"]] == [
        (measure, spec) for measure in ("Clinicians: Safety compliance", "Judge: Safety compliance",
                                        "Clinicians: Reasoning quality", "Judge: Reasoning quality",
                                        "Accuracy (exact)") for spec in ("persona", "style")]
    assert all(m["status"] == "ok" for m in pm["models"]), [m["detail"] for m in pm["models"]]
    by = {(m["measure"], m["spec"]): m for m in pm["models"]}

    # The reasoning ratings, read straight from the database, give the same persona model.
    direct = _reasoning_fit(study, "persona")
    model = by[("Clinicians: Reasoning quality", "persona")]
    assert model["kind"] == "ordinal" and model["n_obs"] == 144
    assert [e["value"] for e in model["effects"]] == pytest.approx([t.value for t in direct.effects], abs=1e-6)
    assert [e["reference"] for e in model["effects"][:3]] == [BASELINE_KIND] * 3
    assert {v["component"] for v in model["variance_components"]} == {"case", "clinician", "response", "residual"}
    assert model["effects"][0]["check"]["ci_method"] == "wald_cluster_robust"

    # The style model: plain above, cautious below the baseline on the judge's score.
    judge = by[("Judge: Reasoning quality", "style")]
    styles = {e["level"]: e for e in judge["effects"] if e["factor"] == "style"}
    assert judge["kind"] == "score" and styles["plain"]["value"] > 0 > styles["cautious"]["value"]
    assert {v["component"] for v in judge["variance_components"]} == {"case", "residual"}
    accuracy = by[("Accuracy (exact)", "persona")]
    assert accuracy["kind"] == "binary" and accuracy["n_obs"] == 48 and accuracy["check"]["status"] == "ok"


def test_the_style_model_starts_from_the_persona_model_and_equals_a_fit_from_the_default_start(monkeypatch):
    from agreement.reports import persona_models

    fitted = []

    def recorded(*args, **kwargs):
        fitted.append((kwargs["start"], mixed_model(*args, **kwargs)))
        return fitted[-1][1]

    monkeypatch.setattr(persona_models, "mixed_model", recorded)
    study = _study()
    data, report = _report(study)
    # every measure: the persona model from the default start, then the style model from its variance ratios
    assert [start for start, _ in fitted[::2]] == [{}] * (len(fitted) // 2)
    assert [start for start, _ in fitted[1::2]] == [fit.variance_ratios() for _, fit in fitted[::2]]
    assert fitted[1][0].keys() == {"case", "clinician", "response"}
    style = next(m for m in report["persona_models"]["models"]
                 if (m["measure"], m["spec"]) == ("Clinicians: Reasoning quality", "style"))
    cold = _reasoning_fit(study, "style")
    assert [e["value"] for e in style["effects"]] == pytest.approx([t.value for t in cold.effects], abs=1e-7)
    assert [e["se"] for e in style["effects"]] == pytest.approx([t.se for t in cold.effects], rel=1e-6)
    assert [v["variance"] for v in style["variance_components"]] == pytest.approx(
        [v.variance for v in cold.variance_components], rel=1e-5, abs=1e-9)


def test_outputs_carry_the_models_and_the_methods_name_their_intervals():
    _, report = _report(_study(n_cases=4))
    assert json.loads(report_json(report))["persona_models"]["models"]
    html = render_html(report)
    assert "Persona-effect models (cases and clinicians as random effects)" in html
    assert "Clinicians: Reasoning quality: persona model" in html and "Wald, model SE" in html
    methods = report["meta"]["methods"]
    assert "Persona-effect models (statsmodels)" in methods
    assert "Wald interval, estimate +/- z model-based standard error" in methods
    assert "persona-model effects (linear mixed model)" in methods
    assert report["meta"]["software"]["statsmodels"] != "not installed"


def test_categorical_dimensions_give_logistic_models_of_the_first_level():
    _, report = _report(_study(n_cases=4), cannot_assess="category")
    model = next(m for m in report["persona_models"]["models"] if m["measure"] == "Clinicians: Safety compliance")
    assert model["kind"] == "binary" and model["outcome"] == "rated Not compliant (1) or not (0)"
    assert model["status"] == "ok" and model["effects"][0]["ci_method"] == "vb_laplace"
    assert model["check"]["model"].startswith("GEE")
    residual = next(v for v in model["variance_components"] if v["component"] == "residual")
    assert residual["variance"] == pytest.approx(np.pi**2 / 3)


def test_size_switch_and_thin_studies(monkeypatch):
    study = _study(n_cases=2)
    off = _report(study, mixed_models="off")[1]["persona_models"]
    assert off == {"available": False, "reason": "not fitted (report parameter mixed_models = off)", "models": []}
    monkeypatch.setattr(section, "AUTO_MAX_ROWS", 20)
    pm = _report(study)[1]["persona_models"]
    skipped = {m["measure"]: m for m in pm["models"] if m["spec"] == "persona"}
    assert skipped["Clinicians: Safety compliance"]["status"] == "skipped"
    assert skipped["Clinicians: Safety compliance"]["detail"] == (
        "48 observations, above the 20 fitted under mixed_models = auto (set it to on to fit this model)")
    assert skipped["Accuracy (exact)"]["status"] == "ok"  # 16 responses
    assert _report(study, mixed_models="on")[1]["persona_models"]["models"][0]["status"] == "ok"
    with pytest.raises(ApplicationError) as caught:
        parameters_clean({"mixed_models": "sometimes"})
    assert caught.value.extra["fields"] == {"mixed_models": "must be one of auto, on, off"}


def test_a_study_with_one_persona_has_no_models():
    response = factories.ResponseFactory()
    report = build_report(study_data_load(response.study), parameters_clean({"n_boot": 0}))
    assert report["persona_models"] == {"available": False, "models": [],
                                        "reason": "the study has one persona: no persona effect to model"}
