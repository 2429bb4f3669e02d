"""A small study grid for the job tests: cases x personas (baseline included) x models x samples."""
from tests import factories


def dry_run_spec(**kwargs):
    """A model served by the dry-run backend: deterministic, labelled non-model text."""
    options = {"dry_run": True, **kwargs.pop("engine_options", {})}
    return factories.ModelSpecFactory(backend="vllm", engine_options=options, **kwargs)


def grid_study(*, cases: int = 2, personas: int = 2, samples: int = 2, specs=None, **study_kwargs):
    case_set = factories.CaseSetFactory()
    case_list = [factories.CaseFactory(case_set=case_set) for _ in range(cases - 1)]
    if cases:
        case_list.append(factories.CaseFactory(case_set=case_set, safety=True))
    persona_list = [factories.PersonaFactory(baseline=True)] + [factories.PersonaFactory() for _ in range(personas - 1)]
    specs = specs if specs is not None else [dry_run_spec(samples_per_prompt=samples)]
    return factories.StudyFactory(case_sets=[case_set], personas=persona_list, model_specs=specs, **study_kwargs)


def grid_size(study) -> int:
    from studies.models import Case

    cases = Case.objects.filter(case_set__in=study.case_sets.all()).count()
    return cases * study.personas.count() * sum(
        s.samples_per_prompt for s in study.model_specs.exclude(backend="imported"))
