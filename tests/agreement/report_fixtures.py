"""Small rated studies for the report-layer tests: built with the factories, values chosen by the test."""
from annotation.models import AssignmentStatus, Comparison, Preference, PreferenceAssignment
from tests import factories


def rated_study(ratings: dict, *, personas=None, judge_values=None, cases=None, **study_kw):
    """A study whose responses are rated as given.

    ratings: {rater_name: [per-response {dim: (value, confidence)} or None for "not assigned"]}.
    personas: one persona per response (default: all the same medical persona).
    judge_values: per-response {dim: {"value": ..., "confidence": ...}} for the study's judge.
    Returns (study, responses, raters, judge).
    """
    n = len(next(iter(ratings.values())))
    judge = factories.ModelSpecFactory(judge=True)
    study = factories.StudyFactory(judge=judge, **study_kw)
    model = factories.ModelSpecFactory()
    personas = personas or [factories.PersonaFactory()] * n
    cases = cases or [factories.CaseFactory(safety=True) for _ in range(n)]
    responses = [
        factories.ResponseFactory(study=study, case=cases[i], persona=personas[i], model=model) for i in range(n)
    ]
    raters = {}
    for name, row in ratings.items():
        raters[name] = factories.clinician(username=name)
        for position, (response, values) in enumerate(zip(responses, row, strict=True), start=1):
            if values is None:
                continue
            assignment = factories.AssignmentFactory(
                response=response, rater=raters[name], position=position, status=AssignmentStatus.SUBMITTED
            )
            factories.RatingFactory(assignment=assignment, values=values)
    for response, values in zip(responses, judge_values or [], strict=False):
        factories.JudgeScoreFactory(response=response, judge=judge, values=values)
    return study, responses, raters, judge


def retest(original_assignment, values, position=99):
    """The same rater sees the same response again (test-retest) and rates it."""
    repeat = factories.AssignmentFactory(
        response=original_assignment.response, rater=original_assignment.rater, position=position,
        repeat_of=original_assignment, status=AssignmentStatus.SUBMITTED,
    )
    return factories.RatingFactory(assignment=repeat, values=values)


def prefer(study, rater, response_a, response_b, choice, position=1, status=AssignmentStatus.SUBMITTED):
    """One side-by-side task of `rater` on (a, b), answered with `choice` ("a", "b", "tie", "both_unsafe")."""
    comparison, _ = Comparison.objects.get_or_create(
        study=study, response_a=response_a, response_b=response_b, defaults={"case": response_a.case}
    )
    task = PreferenceAssignment.objects.create(
        study=study, rater=rater, comparison=comparison, left_is_a=True, position=position, status=status
    )
    return Preference.objects.create(assignment=task, choice=choice, confidence="high")
