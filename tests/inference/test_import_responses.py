"""Importing pre-generated responses from JSONL: validated row by row, atomic, idempotent."""
import gzip
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from config.exceptions import ApplicationError
from inference.backends import backend_for
from inference.backends.base import ChatRequest, SamplingSettings
from inference.importers import responses_import
from studies.models import Response
from studies.prompts import build_messages
from tests import factories

# Response texts here are test fixtures (labelled as such), never model output.
FIXTURE_TRIAGE_TEXT = "[test fixture] ESI level: 2\nConfidence: 80%"
FIXTURE_LEAKING_TEXT = "[test fixture] As an ED physician, I would admit. ESI 1"


@pytest.fixture
def study(db):
    case_set = factories.CaseSetFactory(name="import-cases")
    factories.CaseFactory(case_set=case_set, external_id="T-1", vignette="Chest pain, BP 90/60.")
    factories.CaseFactory(case_set=case_set, external_id="S-1", safety=True, vignette="On warfarin, wants ibuprofen.")
    personas = [factories.PersonaFactory(slug="ed-physician", role="ED physician"),
                factories.PersonaFactory(baseline=True)]
    models = [factories.ModelSpecFactory(name="model-a", revision="abc123"), factories.ModelSpecFactory(name="model-b")]
    return factories.StudyFactory(name="Import study", case_sets=[case_set], personas=personas, model_specs=models)


def row(study, case_id="T-1", slug="ed-physician", model="model-a", sample=0, text=FIXTURE_TRIAGE_TEXT, **extra):
    cases = {c.external_id: c for cs in study.case_sets.all() for c in cs.cases.all()}
    case = cases.get(case_id, cases["T-1"])  # an unknown id gets some prompt: the id is what is wrong
    persona = study.personas.get(slug=slug)
    return {
        "case_external_id": case_id, "persona_slug": slug, "model_name": model, "sample_index": sample,
        "text": text, "prompt_messages": build_messages(persona=persona, case=case,
                                                        task_instructions=study.task_instructions),
        "rendered_prompt": "", "seed": 1000 + sample, "sampling": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 64},
        "prompt_tokens": 20, "completion_tokens": 8, "finish_reason": "stop",
        "provenance": {"engine": "test-fixture", "revision": "rev-1"}, **extra,
    }


def jsonl(rows) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode() + b"\n"


def grid_rows(study):
    return [row(study, case_id=c, slug=p, sample=s, text=f"{FIXTURE_TRIAGE_TEXT} ({c} {p} {s})")
            for c in ("T-1", "S-1") for p in ("ed-physician", "no-persona") for s in (0, 1)]


def test_a_valid_file_imports_every_row_with_parse_and_leak_fields(study, tmp_path):
    path = tmp_path / "responses.jsonl"
    path.write_bytes(jsonl([*grid_rows(study), row(study, model="model-b", text=FIXTURE_LEAKING_TEXT)]))

    result = responses_import(study=study, file=str(path))

    assert (result.ok, result.created, result.unchanged, result.rows) == (True, 9, 0, 9)
    assert Response.objects.filter(study=study).count() == 9
    triage = Response.objects.get(case__external_id="T-1", persona__slug="ed-physician", model__name="model-a",
                                  sample_index=0)
    assert (triage.parsed_label, triage.parsed_confidence, triage.parse_status) == ("2", 0.8, "parsed")
    assert triage.backend == "imported" and triage.seed == 1000 and triage.finish_reason == "stop"
    assert triage.model_revision == "rev-1" and triage.prompt_tokens == 20 and triage.completion_tokens == 8
    assert triage.provenance["engine"] == "test-fixture"
    assert triage.provenance["import"]["imported_from"] == "responses.jsonl" and triage.provenance["import"]["row"] == 1
    assert triage.prompt_messages[0]["content"] == "You are an ED physician."
    assert len(triage.prompt_hash) == 64
    safety = Response.objects.filter(case__external_id="S-1").first()
    assert safety.parse_status == "n/a"
    leaking = Response.objects.get(model__name="model-b")
    [[start, end]] = leaking.leak_spans
    assert leaking.leaks_persona and leaking.text[start:end] == "As an ED physician, "


def test_a_gzipped_file_and_an_upload_object_work(study):
    upload = SimpleUploadedFile("r.jsonl.gz", gzip.compress(jsonl(grid_rows(study))))
    result = responses_import(study=study, file=upload)
    assert result.ok and result.compressed and result.created == 8


def test_a_re_import_changes_nothing(study, tmp_path):
    path = tmp_path / "responses.jsonl"
    path.write_bytes(jsonl(grid_rows(study)))
    responses_import(study=study, file=str(path))
    before = list(Response.objects.order_by("id").values_list("id", "code", "updated_at"))

    again = responses_import(study=study, file=str(path))

    assert (again.ok, again.created, again.unchanged) == (True, 0, 8)
    assert "nothing changed" in again.message
    assert list(Response.objects.order_by("id").values_list("id", "code", "updated_at")) == before


def test_a_file_adding_to_earlier_rows_imports_only_the_new_ones(study):
    rows = grid_rows(study)
    responses_import(study=study, file=io.BytesIO(jsonl(rows[:3])), filename="part1.jsonl")
    result = responses_import(study=study, file=io.BytesIO(jsonl(rows)), filename="all.jsonl")
    assert (result.created, result.unchanged) == (5, 3)
    assert Response.objects.count() == 8


def test_every_error_is_reported_at_once_and_nothing_is_imported(study):
    good = row(study)
    mismatch = row(study, slug="no-persona", sample=3)
    mismatch["prompt_messages"] = row(study)["prompt_messages"]  # the ED physician's prompt filed as baseline
    rows = [
        good,                                                             # 1: valid, but must not be imported
        row(study, case_id="NOPE", sample=1),                              # 2
        {**row(study, sample=2), "persona_slug": "pirate"},                # 3
        {**row(study, sample=3), "model_name": "model-z"},                 # 4
        {**row(study, sample=4), "sample_index": -1},                      # 5
        {k: v for k, v in row(study, sample=5).items() if k != "text"},    # 6
        {**row(study, sample=6), "prompt_messages": [{"role": "robot", "content": "x"}]},  # 7
        {**row(study, sample=7), "temperature": 0.7},                      # 8
        row(study),                                                        # 9: same cell as row 1
        mismatch,                                                          # 10
        "{not json",                                                       # 11
        "[1, 2]",                                                          # 12
        {**row(study, sample=8), "seed": "abc", "finish_reason": "x" * 40, "sampling": [1]},  # 13
    ]
    with pytest.raises(ApplicationError) as info:
        responses_import(study=study, file=io.BytesIO(jsonl(rows)), filename="bad.jsonl")

    errors = {(e["row"], e["field"]) for e in info.value.extra["errors"]}
    assert errors == {
        (2, "case_external_id"), (3, "persona_slug"), (4, "model_name"), (5, "sample_index"), (6, "text"),
        (7, "prompt_messages"), (8, "temperature"), (9, None), (10, "prompt_messages"), (11, None), (12, None),
        (13, "seed"), (13, "finish_reason"), (13, "sampling"),
    }
    texts = " | ".join(e["text"] for e in info.value.extra["errors"])
    assert "row 2, case_external_id: 'NOPE' is not a case of this study's case sets" in texts
    assert "row 3, persona_slug: 'pirate' is not one of this study's personas" in texts
    assert "row 9: the same case, persona, model and sample_index as row 1" in texts
    assert "row 10, prompt_messages: not the prompt this study sends for this case and persona (the system" in texts
    assert "nothing was imported" in info.value.message and info.value.extra["error_count"] == 14
    assert Response.objects.count() == 0


def test_a_cell_that_already_has_a_different_text_is_refused(study):
    responses_import(study=study, file=io.BytesIO(jsonl(grid_rows(study))), filename="a.jsonl")
    before = list(Response.objects.values_list("id", "text", "updated_at"))
    changed = grid_rows(study)
    changed[2]["text"] = "[test fixture] a different text"
    changed.append(row(study, model="model-b"))  # new, but the file is refused as a whole
    with pytest.raises(ApplicationError, match="different text") as info:
        responses_import(study=study, file=io.BytesIO(jsonl(changed)), filename="b.jsonl")
    assert [(e["row"], e["field"]) for e in info.value.extra["errors"]] == [(3, "text")]
    assert list(Response.objects.values_list("id", "text", "updated_at")) == before


def test_the_model_option_names_the_model_every_row_must_have(study):
    rows = [row(study), row(study, model="model-b")]
    with pytest.raises(ApplicationError) as info:
        responses_import(study=study, file=io.BytesIO(jsonl(rows)), filename="r.jsonl", model_name="model-a")
    assert [e["text"] for e in info.value.extra["errors"]] == [
        "row 2, model_name: 'model-b' is not the model being imported ('model-a')"]
    with pytest.raises(ApplicationError, match="no model named 'ghost'"):
        responses_import(study=study, file=io.BytesIO(jsonl(rows)), model_name="ghost")
    factories.ModelSpecFactory(name="elsewhere")
    with pytest.raises(ApplicationError, match="not one of study 'Import study''s models"):
        responses_import(study=study, file=io.BytesIO(jsonl(rows)), model_name="elsewhere")
    assert Response.objects.count() == 0


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        ("caf\xe9".encode("latin-1") + b"\n", "not valid UTF-8"),
        (b"PK\x03\x04binary", "not a text file"),
        (b"\x1f\x8b\x08corrupt", "cannot be decompressed"),
    ],
)
def test_unreadable_files_are_refused_whole(study, data, message):
    with pytest.raises(ApplicationError, match=message):
        responses_import(study=study, file=io.BytesIO(data), filename="x.jsonl")
    assert Response.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(study, settings):
    settings.CASE_UPLOAD_MAX_BYTES = 100
    with pytest.raises(ApplicationError, match="limit"):
        responses_import(study=study, file=io.BytesIO(jsonl(grid_rows(study))), filename="x.jsonl")


def test_a_dry_run_reports_and_writes_nothing(study):
    result = responses_import(study=study, file=io.BytesIO(jsonl(grid_rows(study))), filename="x.jsonl",
                              dry_run=True)
    assert result.ok and result.created == 8 and result.message.startswith("Would import 8")
    bad = responses_import(study=study, file=io.BytesIO(jsonl([row(study, case_id="NOPE")])), dry_run=True)
    assert not bad.ok and bad.errors[0].field == "case_external_id"
    assert Response.objects.count() == 0


def test_the_command_imports_and_reports_every_error(study, tmp_path):
    good, bad = tmp_path / "good.jsonl.gz", tmp_path / "bad.jsonl"
    good.write_bytes(gzip.compress(jsonl(grid_rows(study))))
    bad.write_bytes(jsonl([row(study, case_id="NOPE"), {**row(study, sample=1), "persona_slug": "pirate"}]))
    out, err = io.StringIO(), io.StringIO()

    call_command("import_responses", str(good), "--study", "Import study", "--model", "model-a", stdout=out)
    assert "Imported 8 response(s)" in out.getvalue()
    with pytest.raises(CommandError, match="2 error"):
        call_command("import_responses", str(bad), "--study", str(study.pk), stdout=out, stderr=err)
    assert "row 1, case_external_id" in err.getvalue() and "row 2, persona_slug" in err.getvalue()
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_responses", str(tmp_path / "missing.jsonl"), "--study", "Import study")
    assert Response.objects.count() == 8


def test_the_api_is_for_admins_and_reports_errors(study, api_as, admin_user, researcher, clinician):
    url = f"/api/studies/{study.pk}/responses/import/"
    factories.study_member(study, admin_user)

    def upload(data, **extra):
        return {"file": SimpleUploadedFile("r.jsonl", data), **extra}

    for user in (researcher, clinician):
        assert api_as(user).post(url, upload(jsonl(grid_rows(study))), format="multipart").status_code == 403
    admin = api_as(admin_user)
    dry = admin.post(url, upload(jsonl(grid_rows(study)), dry_run="true"), format="multipart")
    assert dry.status_code == 200 and dry.json()["created"] == 8 and Response.objects.count() == 0
    created = admin.post(url, upload(jsonl(grid_rows(study)), model="model-a"), format="multipart")
    assert created.status_code == 201 and created.json()["created"] == 8
    again = admin.post(url, upload(jsonl(grid_rows(study))), format="multipart")
    assert again.status_code == 200 and again.json()["unchanged"] == 8
    bad = admin.post(url, upload(jsonl([row(study, case_id="NOPE")])), format="multipart")
    assert bad.status_code == 400
    assert bad.json()["extra"]["errors"][0]["field"] == "case_external_id"
    assert admin.post(url, {}, format="multipart").status_code == 400
    assert admin.post("/api/studies/999999/responses/import/", upload(b"{}"), format="multipart").status_code == 404
    assert Response.objects.count() == 8


def test_the_imported_backend_serves_a_files_rows_by_prompt(study, tmp_path, settings):
    settings.IMPORTED_RESPONSES_DIR = tmp_path
    path = tmp_path / "pregenerated.jsonl"
    rows = grid_rows(study)
    path.write_bytes(jsonl(rows))
    spec = study.model_specs.get(name="model-a")
    spec.backend, spec.engine_options = "imported", {"responses_file": str(path)}
    backend = backend_for(spec)

    known = ChatRequest(key="1", messages=rows[0]["prompt_messages"])
    unknown = ChatRequest(key="2", messages=[{"role": "user", "content": "never generated"}])
    results = backend.chat([known, unknown], SamplingSettings(n=2))

    assert [(r.key, r.sample_index, r.ok) for r in results] == [("1", 0, True), ("1", 1, True), ("2", 0, False),
                                                               ("2", 1, False)]
    assert results[0].text == rows[0]["text"] and results[1].text == rows[1]["text"]
    assert results[0].extra["seed"] == 1000 and results[0].completion_tokens == 8
    assert "no response of model-a" in results[2].error
    assert backend.info()["rows"] == 8 and backend.info()["engine"] == "imported"

    spec.engine_options = {}
    [missing] = backend_for(spec).chat([known], SamplingSettings())
    assert "no responses file" in missing.error
