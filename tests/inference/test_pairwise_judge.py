"""The pairwise judge: planning pairs, both orders, idempotent retries, the consistency rule, tolerant parsing,
blinding, and whole jobs through the loopback OpenAI-compatible server and the dry-run backend."""
import json
import re

import pytest
from django.urls import reverse

from config.exceptions import ApplicationError
from inference import services
from inference.backends.openai_server import OpenAIServerBackend
from inference.models import ItemStatus, JobKind, JobStatus, PairwiseVerdict
from inference.pairwise import (
    DEFAULT_PAIRWISE_RUBRIC,
    INCONSISTENT,
    PairwiseAnswerError,
    canonical_choice,
    chose_first,
    judge_pairs,
    pair_verdict,
    parse_pairwise_answer,
)
from inference.services.pairwise import study_response_pairs
from studies.leak import detect_persona_leak
from studies.models import Response
from tests import factories
from tests.inference.grid import dry_run_spec, grid_study
from tests.inference.openai_stub import Reply, StubOpenAIServer, last_user_message

pytestmark = pytest.mark.django_db

SECRET_ROLES = ("zanzibar-harbour pilot", "kestrel falconer")
SECRET_MODEL = "generator-model-qx7"
ROLES = {"clinician": factories.clinician, "researcher": factories.researcher}
MARKER = "give aspirin"  # the loopback judge below prefers the answer that says this

# Loopback server replies: test fixtures shaped like a judge's answer, not model output.
FIXTURE_FIRST = json.dumps({"better": "1"})
FIXTURE_SECOND = json.dumps({"better": "2"})
FIXTURE_TIE = json.dumps({"better": "tie"})
FIXTURE_INVALID = "[loopback fixture] not JSON at all"


class NoSleep:
    def __call__(self, seconds):
        pass


def shown(body) -> tuple[str, str]:
    """The texts shown as Answer 1 and Answer 2 in a request to the judge."""
    first, second = re.findall(r"Answer [12]:\n<<<\n(.*?)\n>>>", last_user_message(body), re.S)
    return first, second


def prefers_marker(body) -> Reply:
    """A position-fair loopback judge: the answer containing MARKER wins, whichever order it is shown in."""
    first, second = shown(body)
    if (MARKER in first) == (MARKER in second):
        return Reply(text=FIXTURE_TIE)
    return Reply(text=FIXTURE_FIRST if MARKER in first else FIXTURE_SECOND)


def always_first(body) -> Reply:
    return Reply(text=FIXTURE_FIRST)


@pytest.fixture
def cell():
    """A study with a judge, and one case answered by the baseline and two distinctive personas (one model)."""
    baseline = factories.PersonaFactory(baseline=True)
    personas = [factories.PersonaFactory(role=role, slug=role.split()[0], name=role.title(),
                                         system_prompt_template=f"You are a {role}.") for role in SECRET_ROLES]
    model = factories.ModelSpecFactory(name=SECRET_MODEL, model_path=f"org/{SECRET_MODEL}", revision="rev-qx7")
    judge = factories.ModelSpecFactory(name="pair-judge", model_path="served-judge", is_judge=True, backend="openai",
                                       temperature=0.0, max_tokens=50, seed=9)
    study = factories.StudyFactory(judge=judge, personas=[baseline, *personas], model_specs=[model])
    case = factories.CaseFactory(vignette="Vignette: chest pain for two hours.", question="What now?")
    texts = ["Rest at home and wait.", f"Call an ambulance, {MARKER} and get an ECG now.", "See your GP next week."]
    responses = [
        factories.ResponseFactory(study=study, case=case, persona=persona, model=model, text=text, seed=4321,
                                  prompt_messages=[{"role": "system", "content": persona.system_prompt_template}])
        for persona, text in zip([baseline, *personas], texts, strict=True)
    ]
    return study, judge, responses


def stub_backend(server):
    return OpenAIServerBackend(api_base=server.url, model="served-judge", sleep=NoSleep(), max_attempts=2)


def canonical(x, y):
    return (x, y) if x.pk < y.pk else (y, x)


# --- planning ------------------------------------------------------------------------------------------------


def test_baseline_pairs_each_persona_with_the_baseline_of_the_same_case_model_and_sample():
    study = grid_study(cases=2, personas=3, samples=2)
    services.job_run_in_process(job=services.generation_job_start(study=study, enqueue=False))
    pairs = study_response_pairs(study=study, pairs="baseline")
    assert len(pairs) == 2 * 2 * 2  # cases x samples x non-baseline personas
    for a, b in pairs:
        ra, rb = Response.objects.get(pk=a), Response.objects.get(pk=b)
        assert a < b and ra.persona_id != rb.persona_id
        assert (ra.case_id, ra.model_id, ra.sample_index) == (rb.case_id, rb.model_id, rb.sample_index)
        assert ra.persona.is_baseline != rb.persona.is_baseline
    everything = study_response_pairs(study=study, pairs="all")
    assert len(everything) == 2 * 2 * 3 and set(pairs) < set(everything)  # 3 persona pairs per cell


def test_a_job_plans_one_row_per_pair_carrying_the_judge(cell):
    study, judge, (base, first, second) = cell
    job = services.pairwise_judge_job_start(study=study, enqueue=False)
    rows = list(job.items.values_list("response_id", "response_b_id", "model_id"))
    assert job.kind == JobKind.JUDGE_PAIRWISE and job.status == JobStatus.QUEUED
    expected = [(x.pk, y.pk, judge.pk) for x, y in (canonical(base, first), canonical(base, second))]
    assert sorted(rows) == sorted(expected)
    job.delete()
    job = services.pairwise_judge_job_start(study=study, pairs="all", enqueue=False)
    assert job.items.count() == 3


@pytest.mark.parametrize("change, message", [
    ({"pairs": "some"}, "Unknown pairs 'some'"),
    ({"judge": "not-the-study's"}, "is not one of this study's judges"),
    ({"judge": "none"}, "no judge model"),
])
def test_bad_requests_are_refused_and_plan_nothing(cell, change, message):
    study, judge, _ = cell
    options = {"pairs": change.get("pairs", "baseline")}
    if change.get("judge") == "not-the-study's":
        options["judge"] = factories.ModelSpecFactory(judge=True)
    elif change.get("judge") == "none":
        study.judge = None
        study.save()
    with pytest.raises(ApplicationError, match=message):
        services.pairwise_judge_job_start(study=study, enqueue=False, **options)
    assert not study.jobs.exists()


def test_an_extra_judge_of_the_study_can_judge_the_pairs(cell):
    study, judge, _ = cell
    extra = factories.ModelSpecFactory(judge=True, name="second-judge")
    study.extra_judges.add(extra)
    job = services.pairwise_judge_job_start(study=study, judge=extra, enqueue=False)
    assert set(job.items.values_list("model_id", flat=True)) == {extra.pk}


def test_without_baseline_responses_only_all_pairs_can_be_planned(cell):
    study, judge, (base, *_rest) = cell
    base.delete()
    with pytest.raises(ApplicationError, match="no case has a baseline response"):
        services.pairwise_judge_job_start(study=study, enqueue=False)
    assert services.pairwise_judge_job_start(study=study, pairs="all", enqueue=False).items.count() == 1


def test_more_pairs_than_the_cap_are_refused_with_the_count_and_the_cap(cell, settings):
    study, judge, _ = cell
    settings.PAIRWISE_JUDGE_MAX_PAIRS = 2
    with pytest.raises(ApplicationError, match="3 pairs to judge .* exceed the cap of 2 pairs") as refused:
        services.pairwise_judge_job_start(study=study, pairs="all", enqueue=False)
    assert refused.value.extra == {"pairs": 3, "cap": 2}
    assert services.pairwise_judge_job_start(study=study, enqueue=False).items.count() == 2


def test_only_one_pairwise_job_runs_at_a_time(cell):
    study, *_ = cell
    services.pairwise_judge_job_start(study=study, enqueue=False)
    with pytest.raises(ApplicationError, match="already running"):
        services.pairwise_judge_job_start(study=study, pairs="all", enqueue=False)


# --- judging both orders -------------------------------------------------------------------------------------


def test_every_pair_is_asked_in_both_orders_and_stored_in_canonical_terms(cell):
    study, judge, (base, good, other) = cell
    pairs = [canonical(base, good), canonical(base, other)]
    with StubOpenAIServer(default=prefers_marker) as server:
        verdicts = judge_pairs(judge_spec=judge, pairs=pairs, backend=stub_backend(server), study=study)
    assert len(server.requests) == 4
    assert [(v.response_a_id, v.response_b_id, v.order) for v in verdicts] == [
        (a.pk, b.pk, order) for a, b in pairs for order in ("ab", "ba")]
    ab, ba = verdicts[:2]
    assert shown({"messages": ab.prompt_messages}) == (ab.response_a.text, ab.response_b.text)
    assert shown({"messages": ba.prompt_messages}) == (ab.response_b.text, ab.response_a.text)
    good_side = "a" if ab.response_a_id == good.pk else "b"
    assert ab.choice == ba.choice == good_side and ab.parse_ok and ba.raw_text in (FIXTURE_FIRST, FIXTURE_SECOND)
    assert [v.choice for v in verdicts[2:]] == ["tie", "tie"]
    assert ab.provenance["sampling"]["json_schema"]["properties"]["better"]["enum"] == ["1", "2", "tie"]
    assert ab.provenance["seed"] != ba.provenance["seed"]
    system = server.requests[0]["messages"][0]["content"]
    assert system.startswith(judge.rubric_prompt.strip() or DEFAULT_PAIRWISE_RUBRIC)


def test_a_position_biased_judge_gives_inconsistent_pairs(cell):
    study, judge, (base, good, _) = cell
    with StubOpenAIServer(default=always_first) as server:
        ab, ba = judge_pairs(judge_spec=judge, pairs=[canonical(base, good)], backend=stub_backend(server),
                             study=study)
    assert (ab.choice, ba.choice) == ("a", "b")
    assert chose_first(ab.order, ab.choice) and chose_first(ba.order, ba.choice)
    assert pair_verdict(ab.choice, ba.choice) == INCONSISTENT


def test_judging_again_asks_nothing_and_an_unparseable_order_is_retried_up_to_the_bound(cell):
    study, judge, (base, good, _) = cell
    pair = canonical(base, good)
    flaky = {}

    def first_order_unparseable(body):
        first, _ = shown(body)
        if first == pair[0].text:  # the "ab" order
            flaky["calls"] = flaky.get("calls", 0) + 1
            return Reply(text=FIXTURE_INVALID)
        return prefers_marker(body)

    with StubOpenAIServer(default=first_order_unparseable) as server:
        ab, ba = judge_pairs(judge_spec=judge, pairs=[pair], backend=stub_backend(server), study=study,
                             max_attempts=3)
        assert flaky["calls"] == 3 and len(server.requests) == 4
        again = judge_pairs(judge_spec=judge, pairs=[pair], backend=stub_backend(server), study=study,
                            max_attempts=3)
        assert len(server.requests) == 4  # nothing left to ask: one valid, one exhausted
    assert not ab.parse_ok and ab.choice is None and ab.attempts == 3 and "not a JSON object" in ab.error
    assert ab.raw_text == FIXTURE_INVALID and ba.parse_ok and ba.attempts == 1
    assert [(v.pk, v.attempts) for v in again] == [(ab.pk, 3), (ba.pk, 1)]
    assert PairwiseVerdict.objects.count() == 2
    assert pair_verdict(ab.choice, ba.choice) is None


def test_a_backend_row_error_counts_as_an_attempt(cell):
    study, judge, (base, good, _) = cell
    with StubOpenAIServer(default=lambda body: Reply(status=400, text="prompt is too long")) as server:
        verdicts = judge_pairs(judge_spec=judge, pairs=[canonical(base, good)], backend=stub_backend(server),
                               study=study, max_attempts=2)
    assert all(not v.parse_ok and v.attempts == 2 and "prompt is too long" in v.error for v in verdicts)


def test_a_judge_with_pairwise_verdicts_keeps_its_rubric(cell, settings):
    from studies.services.model_specs import model_spec_update

    settings.MODEL_API_BASE_ALLOWLIST = ["gpu"]
    study, judge, (base, good, _) = cell
    judge.api_base, judge.rubric_prompt = "http://gpu:8000/v1", "Compare the two answers."
    judge.save()
    assert model_spec_update(model_spec=judge, temperature=0.1).temperature == 0.1  # nothing judged yet
    with StubOpenAIServer(default=prefers_marker) as server:
        judge_pairs(judge_spec=judge, pairs=[canonical(base, good)], backend=stub_backend(server), study=study)
    with pytest.raises(ApplicationError, match="rubric_prompt cannot change"):
        model_spec_update(model_spec=judge, rubric_prompt="Prefer the longer answer.")


# --- blinding ------------------------------------------------------------------------------------------------


def test_the_judge_is_never_told_the_personas_or_the_generating_model(cell):
    study, judge, responses = cell
    with StubOpenAIServer(default=prefers_marker) as server:
        judge_pairs(judge_spec=judge, pairs=[canonical(responses[0], r) for r in responses[1:]],
                    backend=stub_backend(server), study=study)
    sent = (json.dumps(server.requests) + json.dumps(server.headers)).lower()
    stored = json.dumps([v.prompt_messages for v in PairwiseVerdict.objects.all()]).lower()
    secrets = [SECRET_MODEL, "org/", "rev-qx7", "qx7", "4321", "no persona", "no-persona", "zanzibar", "kestrel"]
    for response in responses:
        secrets += [response.persona.name, response.persona.slug, response.code]
    for secret in secrets:
        assert secret.lower() not in sent, secret
        assert secret.lower() not in stored, secret
    assert all(r.text.lower() in sent for r in responses) and responses[0].case.vignette.lower() in sent


def test_a_persona_revealing_phrase_is_redacted_for_the_judge_as_for_clinicians(cell):
    study, judge, (base, good, _) = cell
    good.text = f"As an ED physician, I would {MARKER} now."
    good.leaks_persona, good.leak_spans = True, [list(s) for s in detect_persona_leak(good.text, persona=good.persona)]
    good.save()
    with StubOpenAIServer(default=prefers_marker) as server:
        judge_pairs(judge_spec=judge, pairs=[canonical(base, good)], backend=stub_backend(server), study=study)
    sent = json.dumps(server.requests)
    assert "As an ED physician" not in sent and f"I would {MARKER} now." in sent


# --- whole jobs ----------------------------------------------------------------------------------------------


def test_a_job_through_the_loopback_server_judges_each_pair_once_even_when_a_chunk_runs_twice(cell, settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    study, judge, (base, good, other) = cell
    with StubOpenAIServer(default=prefers_marker) as server:
        judge.api_base = server.url
        judge.save()
        job = services.pairwise_judge_job_start(study=study, pairs="all", enqueue=False, chunk_size=2)
        assert sorted(job.items.values_list("chunk", flat=True)) == [0, 0, 1]
        services.job_chunk_run(job_id=job.pk, chunk=0)
        assert len(server.requests) == 4
        job.items.filter(chunk=0).update(status=ItemStatus.PENDING)  # a redelivered message: chunk 0 runs again
        services.job_chunk_run(job_id=job.pk, chunk=0)
        assert len(server.requests) == 4
        job = services.job_run_in_process(job=job)
        assert len(server.requests) == 6
    assert job.status == JobStatus.DONE and job.items.filter(status=ItemStatus.DONE).count() == 3
    assert PairwiseVerdict.objects.filter(judge=judge).count() == 6
    with pytest.raises(ApplicationError, match="Nothing to judge"):
        services.pairwise_judge_job_start(study=study, pairs="all", enqueue=False)


def test_a_dry_run_judge_gives_unparseable_verdicts_that_are_recorded_not_guessed(settings):
    settings.JUDGE_MAX_ATTEMPTS = 2
    study = grid_study(cases=1, personas=2, samples=1)
    study.judge = dry_run_spec(is_judge=True, rubric_prompt="Compare the two responses.")
    study.save()
    services.job_run_in_process(job=services.generation_job_start(study=study, enqueue=False))
    job = services.job_run_in_process(job=services.pairwise_judge_job_start(study=study, enqueue=False))
    assert job.status == JobStatus.DONE and job.items.count() == 1
    verdicts = PairwiseVerdict.objects.filter(judge=study.judge)
    assert verdicts.count() == 2
    assert all(not v.parse_ok and v.choice is None and v.attempts == 2 for v in verdicts)
    assert all(v.provenance["backend"]["engine"] == "dry-run" for v in verdicts)
    assert all(v.prompt_messages[0]["content"].startswith("Compare the two responses.") for v in verdicts)
    again = services.pairwise_judge_job_start(study=study, enqueue=False)  # unparseable pairs may be asked again
    assert services.job_run_in_process(job=again).status == JobStatus.DONE
    assert PairwiseVerdict.objects.filter(judge=study.judge, attempts=2).count() == 2  # but the bound holds


# --- the consistency rule and parsing --------------------------------------------------------------------------


@pytest.mark.parametrize("ab, ba, verdict", [
    ("a", "a", "a"), ("b", "b", "b"), ("tie", "tie", "tie"),
    ("a", "b", INCONSISTENT), ("a", "tie", INCONSISTENT), ("tie", "b", INCONSISTENT),
    (None, "a", None), ("b", None, None), (None, None, None),
])
def test_a_pair_counts_only_when_both_orders_agree(ab, ba, verdict):
    assert pair_verdict(ab, ba) == verdict


@pytest.mark.parametrize("answer, order, choice", [
    ("1", "ab", "a"), ("2", "ab", "b"), ("1", "ba", "b"), ("2", "ba", "a"), ("tie", "ab", "tie"), ("tie", "ba", "tie"),
])
def test_answers_map_back_to_the_canonical_pair(answer, order, choice):
    assert canonical_choice(answer, order) == choice


@pytest.mark.parametrize("text, answer", [
    (FIXTURE_FIRST, "1"),
    (f"```json\n{FIXTURE_SECOND}\n```", "2"),
    (f"Having compared both:\n{FIXTURE_TIE}", "tie"),
    ('{"better": 2}', "2"),
    ('{"Better": "Answer 1"}', "1"),
    ('{"winner": "answer_2"}', "2"),
    ('{"better": "Response 1", "reason": "safer"}', "1"),
    ('{"better": "second"}', "2"),
    ('{"better": "Tie"}', "tie"),
    ('{"better": "equal"}', "tie"),
    ('{"better": "no preference"}', "tie"),
])
def test_answers_are_read_tolerantly(text, answer):
    assert parse_pairwise_answer(text) == answer


@pytest.mark.parametrize("text, problem", [
    ("Answer 1 is better.", "not a JSON object"),
    ('{"reason": "both fine"}', 'no "better" key'),
    ('{"better": "3"}', "names neither answer"),
    ('{"better": "A"}', "names neither answer"),
    ('{"better": true}', "names neither answer"),
    ('{"better": ["1"]}', "names neither answer"),
    ('{"better": 1.5}', "names neither answer"),
    ("[1]", "not a JSON object"),
])
def test_answers_naming_neither_answer_are_errors_never_guesses(text, problem):
    with pytest.raises(PairwiseAnswerError, match=problem):
        parse_pairwise_answer(text)


# --- API and page --------------------------------------------------------------------------------------------


def test_admin_starts_a_pairwise_job_and_lists_its_verdicts_through_the_api(
        cell, admin_user, api_as, settings, django_capture_on_commit_callbacks):
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    study, judge, (base, good, other) = cell
    factories.study_member(study, admin_user)
    api = api_as(admin_user)
    with StubOpenAIServer(default=prefers_marker) as server:
        judge.api_base = server.url
        judge.save()
        with django_capture_on_commit_callbacks(execute=True):
            started = api.post(reverse("inference-api:pairwise-judge-start", args=[study.pk]), {"pairs": "all"},
                               format="json")
    assert started.status_code == 201, started.content
    body = started.json()
    assert (body["kind"], body["total"]) == ("judge_pairwise", 3)
    job = study.jobs.get(pk=body["job_id"])  # its chunks ran once the plan was committed
    assert job.status == JobStatus.DONE and job.items.filter(status=ItemStatus.DONE).count() == 3

    listed = api.get(reverse("inference-api:pairwise-verdicts", args=[study.pk])).json()
    assert listed["count"] == 6
    rows = {(r["response_a"]["id"], r["response_b"]["id"], r["order"]): r for r in listed["results"]}
    a, b = canonical(base, good)
    good_side = "a" if a == good else "b"
    assert rows[(a.pk, b.pk, "ab")]["pair_verdict"] == rows[(a.pk, b.pk, "ba")]["pair_verdict"] == good_side
    assert rows[(a.pk, b.pk, "ab")]["response_a"]["persona"] == a.persona.name
    assert {r["judge"] for r in listed["results"]} == {judge.name}
    x, y = canonical(base, other)
    assert rows[(x.pk, y.pk, "ba")]["pair_verdict"] == "tie"
    assert api.get(reverse("inference-api:pairwise-verdicts", args=[study.pk]),
                   {"judge": factories.ModelSpecFactory(judge=True).pk}).json()["count"] == 0


@pytest.mark.parametrize("payload, query, field", [
    ({"pairs": "some"}, None, "pairs"),
    ({"judge": "not-a-judge"}, None, "judge"),
    (None, {"judge": "abc"}, "judge"),
])
def test_bad_api_input_is_a_400_in_the_error_shape(cell, admin_user, api_as, payload, query, field):
    study, *_ = cell
    factories.study_member(study, admin_user)
    api = api_as(admin_user)
    if payload is not None:
        if payload.get("judge") == "not-a-judge":
            payload = {"judge": factories.ModelSpecFactory().pk}
        response = api.post(reverse("inference-api:pairwise-judge-start", args=[study.pk]), payload, format="json")
    else:
        response = api.get(reverse("inference-api:pairwise-verdicts", args=[study.pk]), query)
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"} and field in response.json()["extra"]["fields"]
    assert not study.jobs.exists()


def test_a_service_refusal_is_a_400_with_its_message(cell, admin_user, api_as):
    study, *_ = cell
    factories.study_member(study, admin_user)
    study.responses.filter(persona__is_baseline=True).delete()
    response = api_as(admin_user).post(reverse("inference-api:pairwise-judge-start", args=[study.pk]))
    assert response.status_code == 400 and "no case has a baseline response" in response.json()["message"]


@pytest.mark.parametrize("role", ["clinician", "researcher"])
def test_pairwise_endpoints_refuse_non_admins_and_other_studies_are_not_found(cell, api_as, admin_user, role):
    study, *_ = cell
    api = api_as(ROLES[role]())
    for method, name in (("post", "pairwise-judge-start"), ("get", "pairwise-verdicts")):
        assert getattr(api, method)(reverse(f"inference-api:{name}", args=[study.pk])).status_code == 403
        assert getattr(api_as(admin_user), method)(reverse(f"inference-api:{name}", args=[999999])).status_code == 404
    assert not study.jobs.exists()


def test_the_jobs_panel_starts_a_pairwise_job_and_shows_refusals_as_messages(cell, client, admin_user):
    study, *_ = cell
    factories.study_member(study, admin_user)
    client.force_login(admin_user)
    panel = client.get(reverse("inference:study_jobs", args=[study.pk])).content.decode()
    assert reverse("inference:study_judge_pairwise", args=[study.pk]) in panel and 'name="pairs"' in panel
    url = reverse("inference:study_judge_pairwise", args=[study.pk])
    refused = client.post(url, {"pairs": "some"}, follow=True).content.decode()
    assert "Choose which pairs to compare" in refused and not study.jobs.exists()
    outsider = factories.ModelSpecFactory(judge=True)
    refused = client.post(url, {"pairs": "all", "judge": outsider.pk}, follow=True).content.decode()
    assert "is not one of this study&#x27;s judges" in refused and not study.jobs.exists()
    started = client.post(url, {"pairs": "all", "next": "/studies/"})
    assert started.status_code == 302 and started.url == "/studies/"
    job = study.jobs.get()
    assert job.kind == JobKind.JUDGE_PAIRWISE and job.items.count() == 3
    assert "Judge pairs of responses</strong> (pair-judge)" in client.get(
        reverse("inference:study_jobs", args=[study.pk])).content.decode()
    extra = factories.ModelSpecFactory(judge=True, name="second-judge")
    study.extra_judges.add(extra)
    job.delete()
    panel = client.get(reverse("inference:study_jobs", args=[study.pk])).content.decode()
    assert f'<option value="{extra.pk}">second-judge</option>' in panel
    client.post(url, {"pairs": "baseline", "judge": extra.pk})
    assert set(study.jobs.get().items.values_list("model_id", flat=True)) == {extra.pk}
    client.force_login(factories.researcher())
    assert client.post(url, {"pairs": "all"}).status_code == 403
