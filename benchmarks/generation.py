"""Benchmark: generation throughput of the full pipeline against bare vLLM on the same prompt grid.

(a) bare: one `LLM.chat` call over every grid prompt, each with its own seed (the floor of what any
    pipeline on this engine can do).
(b) pipeline: `generation_job_start` plans the rows, Celery tasks run the chunks (GENERATION_CHUNK_SIZE
    rows each) through the vLLM backend, and every response is stored with its parse/leak fields.
    By default Celery runs the tasks in this process (eager, no broker). With `--broker URL` a real
    Celery worker (solo pool, its own engine) serves them from Redis; the clock then runs from the
    start call to the job's last stored row.

Both use the same engine settings, prompts, sampling and seeds; the prefix cache is reset before
every measured run, so neither profits from the other's cache. Runs alternate (bare, pipeline, ...)
and the medians are compared. Throughput = completion tokens / wall seconds. Goal: the
pipeline keeps at least 90% of bare vLLM's throughput. Results: benchmarks/results/generation_<tag>.json.

    .venv-vllm/bin/python benchmarks/generation.py --model tiny            # CPU, a tiny random model
    python benchmarks/generation.py --model /models/Qwen2.5-7B-Instruct --tag gpu --cases 200 --samples 5
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="'tiny' (built here, random weights) or a model folder")
    parser.add_argument("--tag", default=None, help="results file suffix (default: cpu for tiny, else gpu)")
    parser.add_argument("--cases", type=int, default=24, help="cases (the example cases, repeated as variants)")
    parser.add_argument("--samples", type=int, default=2, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=256, help="GENERATION_CHUNK_SIZE for the pipeline")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default=None, help="engine dtype (tiny: float32; else the model's)")
    parser.add_argument("--gpu-memory-utilization", type=float, default=None,
                        help="engine memory share (tiny on CPU: 0.1; else VLLM_GPU_MEMORY_UTILIZATION)")
    parser.add_argument("--max-model-len", type=int, default=None)
    parser.add_argument("--broker", default="", help="Redis URL: run the pipeline on a real Celery worker")
    parser.add_argument("--output", default=None)
    return parser.parse_args()


def setup_django(db_path: Path, broker: str):
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{db_path}",
                       "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only"), "CELERY_BROKER_URL": broker,
                       "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def build_cases(n_cases: int):
    """The example cases repeated as numbered variants, and the default personas: every run's grid."""
    from studies.models import Case, CaseSet
    from studies.services.personas import persona_library_load

    persona_library_load()
    rows = list(csv.DictReader((ROOT / "studies/data/example_cases.csv").open(encoding="utf-8")))
    case_set = CaseSet.objects.create(name="benchmark", content_hash="-")
    for i in range(n_cases):
        row = rows[i % len(rows)]
        Case.objects.create(case_set=case_set, external_id=f"{row['external_id']}-{i}", task_type=row["task_type"],
                            vignette=f"{row['vignette']} (Variant {i}.)", question=row["question"],
                            care_setting=row["care_setting"], content_hash=str(i))
    return case_set


def build_study(*, case_set, spec):
    """A fresh study over the same grid (same prompts and seeds), so every run generates the same rows."""
    from studies.models import Persona
    from studies.services.studies import study_create

    return study_create(name=f"benchmark {time.time_ns()}", case_sets=[case_set],
                        personas=list(Persona.objects.filter(is_current=True)), model_specs=[spec])


def bare_run(llm, study) -> dict:
    """Every grid row through one LLM.chat call, with the pipeline's own prompts, sampling and seeds."""
    from vllm import SamplingParams

    from inference.planning import row_seed
    from inference.services.generation import case_key, persona_key
    from studies.models import Case
    from studies.prompts import build_messages

    spec = study.model_specs.get()
    conversations, params = [], []
    for persona in study.personas.order_by("slug"):
        for case in Case.objects.filter(case_set__in=study.case_sets.all()).select_related("case_set"):
            for sample in range(spec.samples_per_prompt):
                conversations.append(build_messages(persona=persona, case=case))
                params.append(SamplingParams(
                    temperature=spec.temperature, top_p=spec.top_p, max_tokens=spec.max_tokens,
                    seed=row_seed(base_seed=spec.seed, case_key=case_key(case), persona_key=persona_key(persona),
                                  sample_index=sample)))
    llm.reset_prefix_cache()
    started = time.perf_counter()
    outputs = llm.chat(conversations, params, use_tqdm=False)
    seconds = time.perf_counter() - started
    tokens = sum(len(c.token_ids) for o in outputs for c in o.outputs)
    return {"rows": len(outputs), "completion_tokens": tokens, "seconds": seconds,
            "tokens_per_second": tokens / seconds}


def pipeline_run(study, *, llm=None, worker: bool = False) -> dict:
    """Plan -> Celery tasks -> stored rows; timed until the job's last row is stored."""
    from django.db.models import Max, Sum

    from inference import services
    from inference.models import JobStatus

    if llm is not None:
        llm.reset_prefix_cache()
    started = time.perf_counter()
    job = services.generation_job_start(study=study)  # eager Celery: the chunks have run when this returns
    while worker:
        job.refresh_from_db()
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != JobStatus.DONE:
        raise SystemExit(f"pipeline job {job.pk} ended {job.status}: {job.error}")
    rows = study.responses.count()
    tokens = study.responses.aggregate(t=Sum("completion_tokens"))["t"]
    # A response's latency runs from its chunk's batch submission to its own finish: a chunk's longest one is
    # the chunk's time in the engine (results are stored while the rest of the chunk generates).
    chunk_seconds = sum(r["longest"] for r in study.responses.values("provenance__chunk")
                        .annotate(longest=Max("latency_seconds")))
    return {"rows": rows, "completion_tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
            "chunks": job.items.values("chunk").distinct().count(), "chunk_seconds": chunk_seconds,
            "outside_chunks_seconds": seconds - chunk_seconds}


def start_worker(db_path: Path, broker: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": f"sqlite:///{db_path}",
           "CELERY_BROKER_URL": broker}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu", "--pool=solo", "--concurrency=1",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )


def main():
    args = parse_args()
    tiny = args.model == "tiny"
    tag = args.tag or ("cpu" if tiny else "gpu")
    workdir = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    db_path = workdir / "db.sqlite3"
    if args.broker:
        import redis

        redis.Redis.from_url(args.broker).flushdb()  # the benchmark's own Redis database
    setup_django(db_path, args.broker)
    from django.conf import settings

    from inference.backends.vllm_engine import engine_kwargs, engine_shutdown, get_engine
    from studies.models import ModelSpec

    settings.GENERATION_CHUNK_SIZE = args.chunk_size
    model_path = args.model
    if tiny:
        from tests.inference.tiny_model import build_tiny_model

        model_path = str(build_tiny_model(workdir / "tiny-llama"))
    options = {k: v for k, v in {
        "dtype": args.dtype or ("float32" if tiny else None),
        "gpu_memory_utilization": args.gpu_memory_utilization or (0.1 if tiny else None),
        "max_model_len": args.max_model_len or (1024 if tiny else None),
    }.items() if v is not None}

    spec = ModelSpec.objects.create(name="benchmark", backend="vllm", model_path=model_path, engine_options=options,
                                    temperature=0.7, top_p=1.0, max_tokens=args.max_tokens,
                                    samples_per_prompt=args.samples, seed=1234)
    case_set = build_cases(args.cases)

    def new_study():
        return build_study(case_set=case_set, spec=spec)

    started = time.perf_counter()
    engine = get_engine(**engine_kwargs(model_path=model_path, options=options))
    startup = time.perf_counter() - started
    print(f"engine ready in {startup:.1f} s: {engine.info}", flush=True)
    # Warm-up, not measured: first-call compilation and allocation in the engine, regex and query caches here.
    bare_run(engine.llm, new_study())
    if not args.broker:
        pipeline_run(new_study(), llm=engine.llm)

    bare, pipeline, worker_log = [], [], None
    if not args.broker:
        for i in range(args.repeats):
            bare.append(bare_run(engine.llm, new_study()))
            pipeline.append(pipeline_run(new_study(), llm=engine.llm))
            print(f"run {i + 1}: bare {bare[-1]['tokens_per_second']:.1f} tok/s, "
                  f"pipeline {pipeline[-1]['tokens_per_second']:.1f} tok/s", flush=True)
    else:
        for i in range(args.repeats):
            bare.append(bare_run(engine.llm, new_study()))
            print(f"run {i + 1}: bare {bare[-1]['tokens_per_second']:.1f} tok/s", flush=True)
        engine_shutdown()  # the worker loads its own engine; one per device
        worker_log = workdir / "worker.log"
        worker = start_worker(db_path, args.broker, worker_log)
        try:
            pipeline_run(new_study(), worker=True)  # warm-up: the worker's engine start, not measured
            for i in range(args.repeats):
                pipeline.append(pipeline_run(new_study(), worker=True))
                print(f"run {i + 1}: pipeline {pipeline[-1]['tokens_per_second']:.1f} tok/s", flush=True)
        finally:
            worker.terminate()
            worker.wait(timeout=60)

    import torch
    import vllm

    bare_tps = statistics.median(r["tokens_per_second"] for r in bare)
    pipe_tps = statistics.median(r["tokens_per_second"] for r in pipeline)
    result = {
        "benchmark": "generation",
        "what": "completion tokens/s: full pipeline (plan, Celery chunk tasks, stored rows) vs one bare LLM.chat",
        "model": "tiny random Llama (tests/inference/tiny_model.py)" if tiny else model_path,
        "engine": engine.info, "engine_startup_seconds": round(startup, 1),
        "vllm": vllm.__version__, "torch": torch.__version__, "python": platform.python_version(),
        "host": {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
                 "cpus": os.cpu_count(), "device": engine.info["device"]},
        "grid": {"cases": args.cases, "personas": study_personas(), "models": 1, "samples": args.samples,
                 "rows": bare[0]["rows"], "max_tokens": args.max_tokens, "chunk_size": args.chunk_size},
        "celery": "real worker (solo pool) on " + args.broker if args.broker else "eager (in process, no broker)",
        "repeats": args.repeats,
        "bare_runs": bare, "pipeline_runs": pipeline,
        "bare_tokens_per_second": round(bare_tps, 1), "pipeline_tokens_per_second": round(pipe_tps, 1),
        "ratio": round(pipe_tps / bare_tps, 3), "goal_ratio": 0.9, "goal_met": pipe_tps / bare_tps >= 0.9,
        "paired_ratio_median": round(statistics.median(
            p["tokens_per_second"] / b["tokens_per_second"] for b, p in zip(bare, pipeline, strict=True)), 3),
        "note": "ratio = median pipeline tokens/s / median bare tokens/s; both generate the same rows with the same "
                "seeds (same completion tokens). On a CPU the pipeline's own Python work (storing, parsing, leak "
                "detection) competes with the model for the same cores; on a GPU it overlaps with generation.",
    }
    output = Path(args.output) if args.output else ROOT / "benchmarks" / "results" / f"generation_{tag}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("bare_tokens_per_second", "pipeline_tokens_per_second", "ratio",
                                             "goal_met")}))
    print(f"written to {output}")
    if args.broker:
        print(f"worker log: {worker_log}")
    engine_shutdown()


def study_personas() -> int:
    from studies.models import Persona

    return Persona.objects.filter(is_current=True).count()


if __name__ == "__main__":
    main()
