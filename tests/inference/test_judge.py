"""The LLM judge, with the loopback OpenAI-compatible server (tests/inference/openai_stub.py) as its backend."""
import json

import pytest

from inference.backends import backend_for
from inference.backends.base import TransientBackendError
from inference.backends.openai_server import OpenAIServerBackend
from inference.judge import (
    DEFAULT_RUBRIC,
    JudgeAnswerError,
    build_judge_messages,
    judge_json_schema,
    judge_responses,
    judge_text,
    parse_judge_answer,
)
from inference.models import JudgeScore
from studies.leak import detect_persona_leak
from studies.schema import default_rating_schema
from tests import factories
from tests.inference.openai_stub import Reply, StubOpenAIServer, last_user_message

# Loopback server replies: test fixtures shaped like a judge's answer, not model output.
FIXTURE_VALID_ANSWER = json.dumps({"safety": {"value": "compliant", "confidence": "high"},
                                   "reasoning": {"value": "4", "confidence": "medium"}})
FIXTURE_INVALID_ANSWER = "[loopback fixture] not JSON at all"
FIXTURE_OUT_OF_SCALE_ANSWER = json.dumps({"safety": {"value": "mostly fine", "confidence": "high"},
                                          "reasoning": {"value": "9", "confidence": "medium"}})

SECRET_ROLE = "zanzibar-harbour pilot"
SECRET_SYSTEM_PROMPT = "You are a zanzibar-harbour pilot. Be bold."
SECRET_MODEL = "generator-model-qx7"


def valid_judge(body):
    return Reply(text=FIXTURE_VALID_ANSWER)


class NoSleep:
    def __call__(self, seconds):
        pass


@pytest.fixture
def grid(db):
    """A study with a judge and two responses from a distinctive persona and model."""
    persona = factories.PersonaFactory(role=SECRET_ROLE, slug="zanzibar-pilot", name="Zanzibar pilot",
                                       system_prompt_template=SECRET_SYSTEM_PROMPT)
    model = factories.ModelSpecFactory(name=SECRET_MODEL, model_path=f"org/{SECRET_MODEL}", revision="rev-qx7")
    judge = factories.ModelSpecFactory(name="judge-model", model_path="served-judge", is_judge=True,
                                       backend="openai", temperature=0.0, max_tokens=300, seed=5)
    study = factories.StudyFactory(judge=judge, personas=[persona], model_specs=[model])
    cases = [factories.CaseFactory(vignette=f"Vignette {i}: chest pain for {i} hours.", question="Triage level?")
             for i in range(2)]
    responses = [
        factories.ResponseFactory(
            study=study, case=case, persona=persona, model=model, text=f"Response text {i}: give aspirin, ECG now.",
            prompt_messages=[{"role": "system", "content": SECRET_SYSTEM_PROMPT},
                             {"role": "user", "content": case.vignette}],
            sampling={"temperature": 0.7, "seed": 1234}, seed=1234, model_revision="rev-qx7",
        )
        for i, case in enumerate(cases)
    ]
    return study, judge, responses


def judge_backend(server, **kw):
    return OpenAIServerBackend(api_base=server.url, model="served-judge", sleep=NoSleep(), max_attempts=2, **kw)


def user_prompt(response, study):
    schema = default_rating_schema()
    return build_judge_messages(rubric=DEFAULT_RUBRIC, schema=schema, case=response.case,
                                response_text=judge_text(response, study))[1]["content"]


def test_valid_answers_are_stored_with_structured_output_requested(grid):
    study, judge, responses = grid
    with StubOpenAIServer(default=valid_judge) as server:
        scores = judge_responses(judge_spec=judge, responses=responses, backend=judge_backend(server), study=study)

    assert [s.response_id for s in scores] == [r.pk for r in responses]
    score = JudgeScore.objects.get(response=responses[0], judge=judge)
    assert score.parse_ok and score.attempts == 1 and score.error == ""
    assert score.values == {"safety": {"value": "compliant", "confidence": "high", "cannot_assess": False},
                            "reasoning": {"value": "4", "confidence": "medium", "cannot_assess": False}}
    assert score.raw_text == FIXTURE_VALID_ANSWER
    assert score.prompt_messages[1]["content"] == user_prompt(responses[0], study)
    assert score.provenance["sampling"]["temperature"] == 0.0 and score.provenance["seed"] is not None
    assert score.provenance["backend"]["engine"] == "openai-compatible"

    body = server.requests[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema == judge_json_schema(default_rating_schema())
    assert schema["properties"]["safety"]["properties"]["value"]["enum"] == [  # the ordered scale, low to high
        "not_compliant", "partially_compliant", "compliant", "cannot_assess"]
    assert schema["properties"]["reasoning"]["properties"]["confidence"]["enum"] == ["low", "medium", "high"]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 300 and body["model"] == "served-judge"


def test_the_judge_is_never_told_the_persona_or_the_generating_model(grid):
    study, judge, responses = grid
    with StubOpenAIServer(default=valid_judge) as server:
        judge_responses(judge_spec=judge, responses=responses, backend=judge_backend(server), study=study)

    persona, model = responses[0].persona, responses[0].model
    secrets = [SECRET_ROLE, SECRET_SYSTEM_PROMPT, persona.slug, persona.name, SECRET_MODEL, model.model_path,
               model.revision, "zanzibar", "qx7", "1234"]
    sent = json.dumps(server.requests) + json.dumps(server.headers)
    stored = json.dumps([s.prompt_messages for s in JudgeScore.objects.all()])
    for secret in secrets:
        assert secret.lower() not in sent.lower(), secret
        assert secret.lower() not in stored.lower(), secret
    # ... while the case and the response text are there.
    assert responses[0].case.vignette in sent and responses[0].text in sent


def test_a_response_revealing_its_persona_is_shown_to_the_judge_as_clinicians_see_it(grid):
    study, judge, responses = grid
    response = responses[0]
    response.text = "As an ED physician, I would give aspirin and get an ECG now."
    spans = detect_persona_leak(response.text, persona=response.persona)
    response.leaks_persona, response.leak_spans = True, [list(s) for s in spans]
    response.save()

    study.leak_policy = "redact"
    assert "As an ED physician" not in user_prompt(response, study)
    assert "I would give aspirin and get an ECG now." in user_prompt(response, study)
    study.leak_policy = "hide"
    assert "As an ED physician" not in user_prompt(response, study)
    study.leak_policy = "show"
    assert "As an ED physician, I would" in user_prompt(response, study)


def test_invalid_answers_are_retried_up_to_the_bound_then_recorded_as_unparseable(grid):
    study, judge, (bad, fixed) = grid
    script = {
        user_prompt(bad, study): [Reply(text=FIXTURE_INVALID_ANSWER)] * 10,
        user_prompt(fixed, study): [Reply(text=FIXTURE_OUT_OF_SCALE_ANSWER)],  # then the valid default
    }
    with StubOpenAIServer(script, default=valid_judge) as server:
        scores = judge_responses(judge_spec=judge, responses=[bad, fixed], backend=judge_backend(server),
                                 study=study, max_attempts=3)
        assert server.calls_for(user_prompt(bad, study)) == 3
        assert server.calls_for(user_prompt(fixed, study)) == 2

    bad_score, fixed_score = scores
    assert not bad_score.parse_ok and bad_score.attempts == 3 and bad_score.values == {}
    assert bad_score.raw_text == FIXTURE_INVALID_ANSWER and "not a JSON object" in bad_score.error
    assert fixed_score.parse_ok and fixed_score.attempts == 2 and fixed_score.error == ""
    assert JudgeScore.objects.count() == 2
    seeds = [b["seed"] for b in server.requests if last_user_message(b) == user_prompt(bad, study)]
    assert len(set(seeds)) == 3  # each retry samples afresh


def test_judging_is_idempotent_and_an_exhausted_score_is_not_asked_again(grid):
    study, judge, responses = grid
    script = {user_prompt(responses[0], study): [Reply(text=FIXTURE_INVALID_ANSWER)] * 10}
    with StubOpenAIServer(script, default=valid_judge) as server:
        first = judge_responses(judge_spec=judge, responses=responses, backend=judge_backend(server), study=study,
                                max_attempts=2)
        calls = len(server.requests)
        again = judge_responses(judge_spec=judge, responses=responses, backend=judge_backend(server), study=study,
                                max_attempts=2)
        assert len(server.requests) == calls
    assert [(s.pk, s.attempts, s.parse_ok) for s in again] == [(s.pk, s.attempts, s.parse_ok) for s in first]
    assert JudgeScore.objects.count() == 2


def test_an_unparseable_score_with_attempts_left_is_resumed_and_a_valid_one_kept(grid):
    study, judge, (unfinished, done) = grid
    factories.JudgeScoreFactory(response=unfinished, judge=judge, parse_ok=False, attempts=1, raw_text="junk")
    kept = factories.JudgeScoreFactory(response=done, judge=judge, parse_ok=True, values={"safety": {"value": "x"}})
    with StubOpenAIServer(default=valid_judge) as server:
        scores = judge_responses(judge_spec=judge, responses=[unfinished, done], backend=judge_backend(server),
                                 study=study, max_attempts=3)
        assert len(server.requests) == 1
    assert scores[0].parse_ok and scores[0].attempts == 2
    assert scores[1].pk == kept.pk and scores[1].values == {"safety": {"value": "x"}}


def test_a_backend_row_error_counts_as_an_attempt_and_is_recorded(grid):
    study, judge, (rejected, fine) = grid
    script = {user_prompt(rejected, study): [Reply(status=400, text="prompt is too long")] * 5}
    with StubOpenAIServer(script, default=valid_judge) as server:
        scores = judge_responses(judge_spec=judge, responses=[rejected, fine], backend=judge_backend(server),
                                 study=study, max_attempts=2)
    assert not scores[0].parse_ok and scores[0].attempts == 2
    assert "backend error" in scores[0].error and "prompt is too long" in scores[0].error
    assert scores[1].parse_ok


def test_a_server_that_is_down_raises_for_a_later_retry_and_records_nothing(grid):
    study, judge, responses = grid
    with StubOpenAIServer(default=lambda body: Reply(status=503, text="loading model")) as server:
        with pytest.raises(TransientBackendError):
            judge_responses(judge_spec=judge, responses=responses, backend=judge_backend(server), study=study)
    assert JudgeScore.objects.count() == 0


def test_the_backend_factory_builds_the_judge_from_its_model_spec(grid, settings):
    settings.MODEL_API_BASE_ALLOWLIST = ["127.0.0.1"]
    study, judge, responses = grid
    with StubOpenAIServer(default=valid_judge) as server:
        judge.api_base = server.url
        judge.save()
        scores = judge_responses(judge_spec=judge, responses=responses, backend=backend_for(judge), study=study)
    assert all(s.parse_ok for s in scores)


def test_a_study_rubric_replaces_the_default(grid):
    study, judge, responses = grid
    judge.rubric_prompt = "Rate strictly for a paediatric ED."
    with StubOpenAIServer(default=valid_judge) as server:
        judge_responses(judge_spec=judge, responses=responses[:1], backend=judge_backend(server), study=study)
    system = server.requests[0]["messages"][0]["content"]
    assert system.startswith("Rate strictly for a paediatric ED.") and DEFAULT_RUBRIC not in system
    assert '"safety" (Safety compliance)' in system and '"1" = 1 - Very poor' in system


# --- parsing and validating answers (no server) --------------------------------------------------------

SCHEMA = default_rating_schema()


@pytest.mark.parametrize(
    "text",
    [
        FIXTURE_VALID_ANSWER,
        f"```json\n{FIXTURE_VALID_ANSWER}\n```",
        f"Here is my rating:\n{FIXTURE_VALID_ANSWER}",
        '{"safety": {"value": "Compliant", "confidence": "High"}, "reasoning": {"value": 4, "confidence": "MEDIUM"}}',
        '{"safety": {"value": "compliant", "confidence": "high"}, "reasoning": {"value": "4", "confidence": "medium"},'
        ' "comment": "extra keys are ignored"}',
    ],
)
def test_answers_are_normalised_onto_the_scales(text):
    assert parse_judge_answer(text, SCHEMA) == {
        "safety": {"value": "compliant", "confidence": "high", "cannot_assess": False},
        "reasoning": {"value": "4", "confidence": "medium", "cannot_assess": False},
    }


def test_a_label_maps_to_its_value_and_cannot_assess_is_its_own_state():
    answer = parse_judge_answer('{"safety": {"value": "Partially compliant", "confidence": "low"}, '
                                '"reasoning": {"value": "cannot_assess", "confidence": "low"}}', SCHEMA)
    assert answer["safety"]["value"] == "partially_compliant"
    assert answer["reasoning"] == {"value": "", "confidence": "low", "cannot_assess": True}


@pytest.mark.parametrize(
    "text, problem",
    [
        ("no json here", "not a JSON object"),
        ('{"safety": {"value": "compliant", "confidence": "high"}}', "'reasoning' is a required property"),
        (FIXTURE_OUT_OF_SCALE_ANSWER, "safety/value"),
        ('{"safety": {"value": "compliant", "confidence": "very"}, "reasoning": {"value": "4", "confidence": "low"}}',
         "safety/confidence"),
        ('{"safety": {"value": "compliant"}, "reasoning": {"value": "4", "confidence": "low"}}',
         "'confidence' is a required property"),
        ('{"safety": "compliant", "reasoning": {"value": "4", "confidence": "low"}}', "safety"),
        ('{"safety": {"value": true, "confidence": "high"}, "reasoning": {"value": "4", "confidence": "low"}}',
         "safety/value"),
        ('{"safety": {"value": "compliant", "confidence": "high"}, "reasoning": {"value": 3.5, "confidence": "low"}}',
         "reasoning/value"),
    ],
)
def test_answers_off_the_scales_are_errors_never_guesses(text, problem):
    with pytest.raises(JudgeAnswerError, match=problem.replace("'", ".")):
        parse_judge_answer(text, SCHEMA)


def test_json_schema_follows_a_custom_rating_schema():
    schema = {
        "dimensions": [{"key": "helpful", "label": "Helpfulness", "kind": "ordinal",
                        "choices": [{"value": "1", "label": "Low"}, {"value": "2", "label": "High"}],
                        "confidence": False, "cannot_assess": False}],
        "confidence_levels": ["unsure", "sure"],
    }
    json_schema = judge_json_schema(schema)
    assert json_schema["properties"]["helpful"] == {
        "type": "object", "properties": {"value": {"type": "string", "enum": ["1", "2"]}},
        "required": ["value"], "additionalProperties": False}
    assert parse_judge_answer('{"helpful": {"value": 2, "confidence": "sure"}}', schema) == {
        "helpful": {"value": "2", "confidence": "", "cannot_assess": False}}
    with pytest.raises(JudgeAnswerError):
        parse_judge_answer('{"helpful": {"value": "cannot_assess"}}', schema)
