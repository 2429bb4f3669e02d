"""factory_boy factories for every model tests need. Traits select roles and variants."""
import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import RaterProfile, Specialty
from accounts.roles import ADMIN, CLINICIAN, RESEARCHER
from annotation.models import Assignment, AssignmentStatus, Rating, RatingValue
from inference.models import JudgeScore
from studies.models import Case, CaseSet, ModelSpec, Persona, Response, Study

PASSWORD = "pass-for-tests-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        """UserFactory(role="clinician") puts the user in that role's group."""
        if extracted:
            obj.groups.add(Group.objects.get_or_create(name=extracted)[0])
            obj.is_staff = extracted == ADMIN
            if extracted == CLINICIAN:
                RaterProfile.objects.get_or_create(
                    user=obj, defaults={"specialty": Specialty.EMERGENCY, "years_in_practice": 5}
                )
        obj.save()


def clinician(**kw):
    return UserFactory(role=CLINICIAN, **kw)


def researcher(**kw):
    return UserFactory(role=RESEARCHER, **kw)


def admin(**kw):
    return UserFactory(role=ADMIN, **kw)


class CaseSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseSet

    name = factory.Sequence(lambda n: f"case-set-{n}")
    content_hash = factory.Faker("sha256")


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    case_set = factory.SubFactory(CaseSetFactory)
    external_id = factory.Sequence(lambda n: f"C{n:04d}")
    vignette = factory.Faker("paragraph")
    question = "What is the appropriate triage level (ESI 1-5)?"
    task_type = "triage"
    care_setting = "critical_care"
    reference_answer = "2"
    content_hash = factory.Faker("sha256")

    class Params:
        safety = factory.Trait(task_type="patient_safety", care_setting="primary_care", reference_answer="",
                               question="Is it safe to double my dose?")


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Persona

    slug = factory.Sequence(lambda n: f"persona-{n}")
    name = factory.Sequence(lambda n: f"Persona {n}")
    role = "ED physician"
    style = "plain"
    is_medical = True
    system_prompt_template = "You are an {role}."

    class Params:
        baseline = factory.Trait(slug="no-persona", name="No persona", role="", is_medical=False,
                                 is_baseline=True, system_prompt_template="")


class ModelSpecFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelSpec

    name = factory.Sequence(lambda n: f"model-{n}")
    backend = "imported"
    model_path = factory.LazyAttribute(lambda m: f"org/{m.name}")
    max_tokens = 64

    class Params:
        judge = factory.Trait(is_judge=True, rubric_prompt="Rate the response.")


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Study {n}")

    @factory.post_generation
    def personas(obj, create, extracted, **kwargs):
        if extracted:
            obj.personas.set(extracted)

    @factory.post_generation
    def model_specs(obj, create, extracted, **kwargs):
        if extracted:
            obj.model_specs.set(extracted)

    @factory.post_generation
    def case_sets(obj, create, extracted, **kwargs):
        if extracted:
            obj.case_sets.set(extracted)


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    study = factory.SubFactory(StudyFactory)
    case = factory.SubFactory(CaseFactory)
    persona = factory.SubFactory(PersonaFactory)
    model = factory.SubFactory(ModelSpecFactory)
    text = factory.Faker("paragraph")
    prompt_messages = factory.LazyAttribute(lambda r: [{"role": "user", "content": r.case.question}])
    backend = "imported"


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    response = factory.SubFactory(ResponseFactory)
    study = factory.LazyAttribute(lambda a: a.response.study)
    rater = factory.LazyFunction(clinician)
    position = factory.Sequence(lambda n: n + 1)


class RatingFactory(factory.django.DjangoModelFactory):
    """A submitted rating. `values={dim: (value, confidence)}`; value None means "cannot assess"."""

    class Meta:
        model = Rating
        skip_postgeneration_save = True

    assignment = factory.SubFactory(AssignmentFactory, status=AssignmentStatus.SUBMITTED)

    @factory.post_generation
    def values(obj, create, extracted, **kwargs):
        for dimension, (value, confidence) in (extracted or {}).items():
            RatingValue.objects.create(
                rating=obj, dimension=dimension, value=value or "", confidence=confidence or "",
                cannot_assess=value is None,
            )
        if obj.assignment.status != AssignmentStatus.SUBMITTED:
            obj.assignment.status = AssignmentStatus.SUBMITTED
            obj.assignment.save(update_fields=["status"])


class JudgeScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JudgeScore

    response = factory.SubFactory(ResponseFactory)
    judge = factory.SubFactory(ModelSpecFactory, judge=True)
    values = factory.LazyFunction(dict)
    parse_ok = True


def study_member(study, user, *, role: str = "owner"):
    """Make `user` a member of `study` (studies.permissions: owners and admins run it, researchers read it)."""
    from studies.models import StudyMember

    StudyMember.objects.update_or_create(study=study, user=user, defaults={"role": role})
    return user


def study_owner(study, **kw):
    """A new site admin who owns `study`."""
    return study_member(study, admin(**kw), role="owner")
