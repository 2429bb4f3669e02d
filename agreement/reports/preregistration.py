"""A report against the study's locked analysis plan: what it may name as outcomes, and where the report deviates.

The plan (agreement.models.Preregistration) snapshots the design with `study_design`; a report compares that
snapshot, the planned report parameters and the primary outcomes with the study as it is when the report is
built. Every difference is listed as {"what", "planned", "actual"}; a report follows the plan only when
there is none and the stored plan still verifies.
"""
from __future__ import annotations

import hashlib

from django.db.models import Count

from agreement.models import Preregistration, canonical_json, document_hash
from agreement.selectors_preregistration import preregistration_of
from annotation.models import Assignment, AssignmentStatus
from studies.models import Study
from studies.schema import study_schema

from .methods import FIGURE_NAMES
from .parameters import DEFAULTS

JUDGE = "judge"  # stands for the study's own judge in an outcome's path
# The outcomes a plan may name: coefficient -> where it sits in a report's dimension section. One list,
# read by the lock form, the service that validates a plan and the check below.
OUTCOMES: dict[str, tuple[str, ...]] = {
    "percent_agreement": ("agreement", "percent_agreement"),
    "average_cohen_kappa": ("agreement", "pairwise", "average"),
    "n_weighted_average_cohen_kappa": ("coefficients", "n_weighted_average"),
    "fleiss_kappa": ("agreement", "fleiss_kappa"),
    "conger_kappa": ("coefficients", "conger"),
    "gwet_ac1": ("agreement", "gwet_ac1"),
    "gwet_ac2": ("agreement", "gwet_ac2"),
    "brennan_prediger": ("agreement", "brennan_prediger"),
    "krippendorff_alpha_nominal": ("agreement", "alpha", "nominal"),
    "krippendorff_alpha_ordinal": ("agreement", "alpha", "ordinal"),
    "krippendorff_alpha_interval": ("agreement", "alpha", "interval"),
    "test_retest_kappa": ("intra_rater", "pooled"),
    "judge_average_cohen_kappa": (JUDGE, "per_rater_average"),
    "judge_vs_consensus_kappa": (JUDGE, "vs_consensus"),
    "judge_minus_clinician_kappa_average": (JUDGE, "leave_one_out", "difference"),
}
ORDINAL_ONLY = frozenset({"gwet_ac2", "krippendorff_alpha_ordinal", "krippendorff_alpha_interval"})
# Study settings that shape the data; a change after the lock is a deviation.
DESIGN_SETTINGS = ("raters_per_response", "anchor_items", "pairwise_overlap", "retest_fraction", "calibration_items",
                   "preference_mode", "leak_policy", "assignment_seed", "task_instructions")
DESIGN_LISTS = (("case_sets", "case set"), ("personas", "persona"), ("models", "model"),
                ("extra_judges", "extra judge"))


def outcome_label(coefficient: str) -> str:
    return FIGURE_NAMES.get(coefficient, coefficient.replace("_", " "))


def labelled_outcomes(outcomes: list[dict]) -> list[dict]:
    return [{**o, "label": outcome_label(o["coefficient"])} for o in outcomes]


def outcome_choices(schema: dict, *, has_judge: bool) -> list[tuple[str, str]]:
    """Every (dimension key, coefficient) a report of this schema can compute."""
    return [
        (dim["key"], name) for dim in schema.get("dimensions", []) for name, path in OUTCOMES.items()
        if (dim.get("kind") == "ordinal" or name not in ORDINAL_ONLY) and (has_judge or path[0] != JUDGE)
    ]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _model(spec) -> dict:
    return {"id": spec.pk, "label": spec.name, "backend": spec.backend, "model_path": spec.model_path,
            "revision": spec.revision, "temperature": spec.temperature, "top_p": spec.top_p,
            "max_tokens": spec.max_tokens, "seed": spec.seed, "samples_per_prompt": spec.samples_per_prompt}


def _judge(spec) -> dict:
    return {**_model(spec), "rubric_prompt_sha256": _sha256(spec.rubric_prompt)}


def study_design(study: Study) -> dict:
    """What the study is made of, as JSON: what the plan locks and what a report compares with it."""
    judge = study.judge
    return {
        "case_sets": [{"id": cs.pk, "label": str(cs), "content_hash": cs.content_hash, "cases": cs.n_cases}
                      for cs in study.case_sets.annotate(n_cases=Count("cases")).order_by("pk")],
        "personas": [{"id": p.pk, "label": str(p), "slug": p.slug, "version": p.version, "is_baseline": p.is_baseline,
                      "system_prompt_sha256": _sha256(p.system_prompt_template)}
                     for p in study.personas.order_by("pk")],
        "models": [_model(m) for m in study.model_specs.order_by("pk")],
        "judge": None if judge is None else _judge(judge),
        "extra_judges": [_judge(j) for j in study.extra_judges.order_by("pk")],
        "rating_schema": study_schema(study),
        **{name: getattr(study, name) for name in DESIGN_SETTINGS},
    }


def _deviation(what: str, planned, actual) -> dict:
    return {"what": what, "planned": planned, "actual": actual}


def _entry_deviations(noun: str, planned: list[dict], actual: list[dict]) -> list[dict]:
    """Entries (with an "id" and a "label") added, removed or changed since the lock."""
    before, after = {e["id"]: e for e in planned}, {e["id"]: e for e in actual}
    out = []
    for key in sorted(before.keys() | after.keys(), key=str):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if old is None:
            out.append(_deviation(f"{noun} added", None, new["label"]))
        elif new is None:
            out.append(_deviation(f"{noun} removed", old["label"], None))
        else:
            changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            out.append(_deviation(f"{noun} changed: {new['label']}", {k: old.get(k) for k in changed},
                                  {k: new.get(k) for k in changed}))
    return out


def _dimensions(schema: dict) -> list[dict]:
    return [{**d, "id": d["key"], "label": d.get("label", d["key"])} for d in schema.get("dimensions", [])]


def design_deviations(planned: dict, actual: dict) -> list[dict]:
    out = []
    for key, noun in DESIGN_LISTS:
        out += _entry_deviations(noun, planned.get(key) or [], actual.get(key) or [])
    out += _entry_deviations("judge", [planned["judge"]] if planned.get("judge") else [],
                             [actual["judge"]] if actual.get("judge") else [])
    plan_schema, schema = planned.get("rating_schema") or {}, actual.get("rating_schema") or {}
    out += _entry_deviations("rating dimension", _dimensions(plan_schema), _dimensions(schema))
    out += [_deviation(f"rating schema: {key}", plan_schema.get(key), schema.get(key))
            for key in sorted((plan_schema.keys() | schema.keys()) - {"dimensions"})
            if plan_schema.get(key) != schema.get(key)]
    out += [_deviation(name.replace("_", " "), planned.get(name), actual.get(name))
            for name in DESIGN_SETTINGS if planned.get(name) != actual.get(name)]
    return out


def parameter_deviations(planned: dict, actual: dict) -> list[dict]:
    """A parameter the plan predates is planned at its default (the behaviour before it existed)."""
    planned = {**DEFAULTS, **planned}
    return [_deviation(f"report parameter {key}", planned.get(key), actual.get(key))
            for key in sorted(planned.keys() | actual.keys()) if planned.get(key) != actual.get(key)]


def _primary_judge(dimension: dict) -> dict | None:
    return next((j for j in (dimension.get("judges") or {}).values() if j.get("is_primary")), None)


def outcome_status(report: dict, dimension: str, coefficient: str) -> str:
    """"ok" when the report computed the outcome, else why not (its status and reason)."""
    node = report.get("dimensions", {}).get(dimension)
    if node is None:
        return "dimension not in the report"
    path = OUTCOMES.get(coefficient)
    if path is None:
        return "not a coefficient reports compute"
    if path[0] == JUDGE:
        node, path = _primary_judge(node), path[1:]
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or "status" not in node:
        return "not computed"
    reason = (node.get("extra") or {}).get("reason") or node.get("reason")
    return node["status"] if node["status"] == "ok" or not reason else f"{node['status']}: {reason}"


def outcome_deviations(planned: list[dict], report: dict) -> list[dict]:
    out = []
    for outcome in planned:
        status = outcome_status(report, outcome["dimension"], outcome["coefficient"])
        if status != "ok":
            what = f"primary outcome not computable: {outcome['dimension']} {outcome_label(outcome['coefficient'])}"
            out.append(_deviation(what, "computed", status))
    return out


def _ratings_before(preregistration: Preregistration) -> int:
    return Assignment.objects.filter(study_id=preregistration.study_id, status=AssignmentStatus.SUBMITTED,
                                     submitted_at__lt=preregistration.locked_at).count()


def preregistration_section(study_id: int, params: dict, report: dict) -> dict:
    """The report's "preregistration" block: whether it follows the locked plan, and every deviation."""
    preregistration = preregistration_of(study=study_id)
    if preregistration is None:
        return {"preregistered": False, "follows_plan": False, "content_hash": None, "deviations": []}
    document = preregistration.document
    deviations = []
    if not preregistration.verify()["valid"]:
        deviations.append(_deviation("the locked plan no longer verifies", preregistration.content_hash,
                                     document_hash(document)))
    deviations += parameter_deviations(document.get("report_parameters") or {}, params)
    deviations += design_deviations(document.get("design") or {}, study_design(preregistration.study))
    deviations += outcome_deviations(document.get("primary_outcomes") or [], report)
    before = _ratings_before(preregistration)
    if before:
        deviations.append(_deviation("ratings submitted before the plan was locked", 0, before))
    return {
        "preregistered": True, "follows_plan": not deviations, "content_hash": preregistration.content_hash,
        "locked_at": preregistration.locked_at.isoformat(), "deviations": deviations,
    }


def preregistration_snapshot_hash(study: Study, data_hash: str) -> str:
    """The data hash a report is cached under, extended by the plan and the current design when there is a plan:
    a report built before the lock, or before a design change, is then not reused without its comparison."""
    preregistration = preregistration_of(study=study)
    if preregistration is None:
        return data_hash
    state = [data_hash, preregistration.content_hash, preregistration.signature,
             document_hash(preregistration.document), study_design(study)]
    return hashlib.sha256(canonical_json(state)).hexdigest()
