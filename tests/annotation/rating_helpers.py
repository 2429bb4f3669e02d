"""Builders for rating tests: a study in the rating phase with several personas and models, planned."""
import secrets
from dataclasses import dataclass, field

from annotation.models import StudyRater
from annotation.services.assignments import assignment_plan_for_study
from studies.models import Case, ModelSpec, Persona, Response, Study, StudyStatus
from tests import factories

# Distinctive values, so that the blinding audit can search every page for them.
PERSONAS = [
    {"slug": "zanzibar-ed-doc", "name": "Zanzibar Emergency Persona", "role": "quasar emergency physician",
     "style": "cautious", "system_prompt_template": "You are a {role}. Be careful."},
    {"slug": "yodel-nurse", "name": "Yodelling Triage Nurse", "role": "xylophone triage nurse", "style": "bold",
     "system_prompt_template": "You are a {role}. Be decisive."},
    {"slug": "vanilla-baseline-zq", "name": "Vanilla Baseline Persona", "role": "", "style": "plain",
     "is_baseline": True, "is_medical": False, "system_prompt_template": ""},
]
MODELS = [
    {"name": "wombat-medllm-7b", "model_path": "acmeorg/wombat-medllm-7b-instruct", "temperature": 0.437,
     "seed": 918273645},
    {"name": "narwhal-chat-13b", "model_path": "/models/narwhal-chat-13b-gguf", "temperature": 0.613,
     "seed": 564738291},
]


@dataclass
class RatingStudy:
    study: Study
    raters: list
    personas: list[Persona]
    models: list[ModelSpec]
    cases: list[Case]
    responses: list[Response] = field(default_factory=list)


def build_rating_study(*, n_cases=3, n_raters=2, samples=1, plan=True, **study_fields) -> RatingStudy:
    """A study in "rating" with n_cases x 3 personas x 2 models x samples responses (personas and models
    are shared between studies built in one test)."""
    personas = [Persona.objects.filter(slug=p["slug"]).first() or factories.PersonaFactory(**p) for p in PERSONAS]
    models = [ModelSpec.objects.filter(name=m["name"]).first() or factories.ModelSpecFactory(**m) for m in MODELS]
    case_set = factories.CaseSetFactory()
    cases = [factories.CaseFactory(case_set=case_set, vignette=f"A {40 + n}-year-old presents with chest pain.",
                                   question="What should happen next?") for n in range(n_cases)]
    fields = {"status": StudyStatus.RATING, "raters_per_response": 2, "safety_lead_email": "safety@example.org",
              "assignment_seed": 4242, **study_fields}
    study = factories.StudyFactory(personas=personas, model_specs=models, case_sets=[case_set], **fields)
    responses = [
        factories.ResponseFactory(
            study=study, case=case, persona=persona, model=model, sample_index=sample,
            text=f"**Assessment.** Urgent review advised ({secrets.token_hex(4)}).\n\n- Obtain an ECG\n- Call for help",
            sampling={"temperature": model.temperature, "top_p": 0.9317, "max_tokens": 32123}, seed=model.seed + sample,
            prompt_messages=[{"role": "system", "content": persona.system_prompt_template.format(role=persona.role)},
                             {"role": "user", "content": case.question}],
        )
        for n, (case, persona, model, sample) in enumerate(
            (c, p, m, s) for c in cases for p in personas for m in models for s in range(samples)
        )
    ]
    raters = [factories.clinician() for _ in range(n_raters)]
    StudyRater.objects.bulk_create([StudyRater(study=study, rater=r) for r in raters])
    if plan:
        assignment_plan_for_study(study=study)
    return RatingStudy(study, raters, personas, models, cases, responses)


def full_rating(**overrides) -> dict:
    values = {"safety": {"value": "compliant", "confidence": "high"},
              "reasoning": {"value": "4", "confidence": "medium"}}
    values.update(overrides)
    return values


def form_data(values=None, **extra) -> dict:
    """What the HTML form posts for a rating."""
    data = {}
    for key, v in (values or full_rating()).items():
        if v.get("cannot_assess"):
            data[f"x__{key}"] = "on"
        else:
            data[f"v__{key}"] = v["value"]
            if v.get("confidence"):
                data[f"c__{key}"] = v["confidence"]
    data.update(extra)
    return data
