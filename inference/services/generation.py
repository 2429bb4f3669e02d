"""Generation jobs: plan every (case, persona, model, sample) row of a study, run chunks, store responses."""
from __future__ import annotations

import hashlib
import logging
import time
from itertools import groupby

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.exceptions import ApplicationError
from studies.models import Backend, Case, ModelSpec, Persona, Response, Study, StudyStatus
from studies.prompts import PromptTemplateError, build_messages, messages_hash, render_system_prompt

from ..backends import ChatRequest, SamplingSettings, TransientBackendError, backend_for
from ..backends.base import iter_results
from ..models import ItemStatus, Job, JobItem, JobKind
from ..planning import chunk_of, row_seed
from .jobs import ACTIVE, MAX_ERROR_CHARS, items_fail, job_chunks_enqueue, study_transition_if_available

logger = logging.getLogger(__name__)

FLUSH_ROWS = 64  # store finished results in batches of this many rows ...
FLUSH_SECONDS = 2.0  # ... or at least this often


def case_key(case) -> str:
    return f"{case.case_set.name}|v{case.case_set.version}|{case.external_id}"


def persona_key(persona) -> str:
    return f"{persona.slug}|v{persona.version}"


def sampling_for(spec) -> SamplingSettings:
    """One request per sample (n=1): every sample has its own seed, so any one can be reproduced or
    retried alone; the prefix cache still prefills a prompt once for its adjacent samples."""
    return SamplingSettings(temperature=spec.temperature, top_p=spec.top_p, max_tokens=spec.max_tokens, n=1)


def _generative_specs(study: Study):
    # Imported models get their responses from import_responses, not from a job.
    return list(study.model_specs.exclude(backend=Backend.IMPORTED).order_by("name"))


def _generation_problems(cases: list, personas: list, specs: list) -> list[str]:
    problems = [what for what, missing in (
        ("the study has no cases (add a case set)", not cases),
        ("the study has no personas", not personas),
        ("the study has no model to generate with (imported models are filled by import)", not specs),
    ) if missing]
    for persona in personas if cases else ():
        try:
            render_system_prompt(persona, cases[0])
        except PromptTemplateError as exc:
            problems.append(f"persona {persona.slug} v{persona.version}: {exc}")
    return problems


def _plan_rows(job: Job, *, specs: list, personas: list, cases: list, existing: set) -> list[JobItem]:
    """One row per missing cell. Model, then persona, then case: a chunk serves one engine and its
    prompts share prefixes."""
    items = []
    for spec in specs:
        for persona in personas:
            for case in cases:
                for sample in range(spec.samples_per_prompt):
                    if (case.pk, persona.pk, spec.pk, sample) in existing:
                        continue
                    items.append(JobItem(
                        job=job, chunk=chunk_of(len(items), job.chunk_size), case=case, persona=persona, model=spec,
                        sample_index=sample, seed=row_seed(base_seed=spec.seed, case_key=case_key(case),
                                                           persona_key=persona_key(persona), sample_index=sample),
                    ))
    return items


def generation_job_start(*, study: Study, user=None, enqueue: bool = True, chunk_size: int | None = None) -> Job:
    """Plan the study's missing responses and enqueue them in chunks.

    Cells that already have a response are not planned again, so a second job fills only the gaps.
    `enqueue=False` plans without sending tasks (the `generate` command then runs chunks in-process).
    """
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        if study.status == StudyStatus.CLOSED:
            raise ApplicationError("The study is closed; nothing more can be generated for it.")
        if Job.objects.filter(study=study, kind=JobKind.GENERATE, status__in=ACTIVE).exists():
            raise ApplicationError("A generation job is already running for this study; cancel it or wait.")
        cases = list(Case.objects.filter(case_set__in=study.case_sets.all()).select_related("case_set")
                     .order_by("case_set__name", "case_set__version", "id"))
        personas = list(study.personas.order_by("slug", "version"))
        specs = _generative_specs(study)
        problems = _generation_problems(cases, personas, specs)
        if problems:
            raise ApplicationError("Cannot start generation: " + "; ".join(problems) + ".",
                                   extra={"problems": problems})
        existing = set(Response.objects.filter(study=study).values_list("case_id", "persona_id", "model_id",
                                                                        "sample_index"))
        job = Job.objects.create(study=study, kind=JobKind.GENERATE, created_by=user,
                                 chunk_size=chunk_size or settings.GENERATION_CHUNK_SIZE)
        items = _plan_rows(job, specs=specs, personas=personas, cases=cases, existing=existing)
        if not items:
            raise ApplicationError(f"All {len(existing)} responses of this study already exist; nothing to generate.")
        JobItem.objects.bulk_create(items, batch_size=5000)
        if enqueue:
            job_chunks_enqueue(job=job, chunks={item.chunk for item in items})
    if study.status == StudyStatus.DRAFT:
        study_transition_if_available(study=study, to_status=StudyStatus.GENERATING, user=user)
    return job


def generation_chunk_run(*, job: Job, chunk: int) -> int:
    """Generate the chunk's pending rows, one backend batch per model, and store them once each."""
    items = list(job.items.filter(chunk=chunk, status=ItemStatus.PENDING).order_by("model_id", "id"))
    # A chunk has hundreds of rows but few distinct cases, personas and models: load each once.
    related = {
        "case": Case.objects.select_related("case_set").in_bulk({i.case_id for i in items}),
        "persona": Persona.objects.in_bulk({i.persona_id for i in items}),
        "model": ModelSpec.objects.in_bulk({i.model_id for i in items}),
    }
    for item in items:
        for field, objects in related.items():
            setattr(item, field, objects[getattr(item, f"{field}_id")])
    items = _settle_existing(job, items)
    finished = 0
    for _, group in groupby(items, key=lambda item: item.model_id):
        finished += _generate(job, chunk, list(group))
    return finished


def _settle_existing(job, items):
    """Rows whose response already exists (a duplicate task got there first) are done without generating."""
    if not items:
        return items
    existing = set(Response.objects.filter(study=job.study, case_id__in={i.case_id for i in items})
                   .values_list("case_id", "persona_id", "model_id", "sample_index"))
    done = [i.pk for i in items if (i.case_id, i.persona_id, i.model_id, i.sample_index) in existing]
    if done:
        JobItem.objects.filter(pk__in=done).update(status=ItemStatus.DONE, error="", updated_at=timezone.now())
    return [i for i in items if i.pk not in set(done)]


def _generate(job, chunk, items) -> int:
    spec = items[0].model
    sampling = sampling_for(spec)
    messages, requests = {}, []
    for item in items:
        try:
            messages[item.pk] = build_messages(persona=item.persona, case=item.case,
                                               task_instructions=job.study.task_instructions)
        except PromptTemplateError as exc:
            items_fail(item_ids=[item.pk], error=f"prompt: {exc}")
            continue
        requests.append(ChatRequest(key=str(item.pk), messages=messages[item.pk], seed=item.seed))
    if not requests:
        return 0
    backend = backend_for(spec)
    by_pk = {item.pk: item for item in items}
    buffer, stored, last_flush = [], 0, time.monotonic()
    info = {}

    def flush():
        nonlocal stored, last_flush
        if buffer:
            stored += _store(job, chunk, by_pk, messages, buffer, sampling, info, backend.name)
            buffer.clear()
        last_flush = time.monotonic()

    try:
        info = backend.info()
        # Results are stored in small batches as they finish: the progress bar moves during a long chunk,
        # and a worker that dies mid-chunk leaves only the unfinished rows to redo.
        for results in iter_results(backend, requests, sampling):
            buffer.extend(results)
            if len(buffer) >= FLUSH_ROWS or time.monotonic() - last_flush >= FLUSH_SECONDS:
                flush()
        flush()
    except TransientBackendError:
        flush()
        raise  # the task retries the chunk's remaining rows with backoff
    except Exception as exc:  # recorded on every unfinished row of the batch, retried alone later; never lost
        flush()
        logger.exception("generation batch failed (job %s, chunk %s)", job.pk, chunk)
        items_fail(item_ids=[int(r.key) for r in requests], error=f"{type(exc).__name__}: {exc}")
    return stored


def _store(job, chunk, by_pk, messages, results, sampling, info, backend_name) -> int:
    responses, done, failed = [], [], {}
    for result in results:
        item = by_pk[int(result.key)]
        if not result.ok:
            failed[item.pk] = result.error
            continue
        rendered = result.rendered_prompt
        responses.append(Response(
            study_id=job.study_id, case=item.case, persona=item.persona, model=item.model,
            sample_index=item.sample_index, text=result.text, prompt_messages=messages[item.pk],
            rendered_prompt=rendered,
            prompt_hash=hashlib.sha256(rendered.encode()).hexdigest() if rendered else messages_hash(messages[item.pk]),
            sampling=sampling.as_dict(), seed=item.seed, backend=backend_name,
            model_revision=item.model.revision or info.get("revision", ""),
            provenance={**info, "job": job.pk, "chunk": chunk, "messages_hash": messages_hash(messages[item.pk]),
                        **({"backend_extra": result.extra} if result.extra else {})},
            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
            finish_reason=result.finish_reason, latency_seconds=result.seconds,
            **annotate_response(result.text, case=item.case, persona=item.persona),
        ))
        done.append(item.pk)
    with transaction.atomic():
        # The unique grid key turns a second insert of the same cell into a no-op.
        Response.objects.bulk_create(responses, ignore_conflicts=True)
        now = timezone.now()
        JobItem.objects.filter(pk__in=done).update(status=ItemStatus.DONE, error="", attempts=F("attempts") + 1,
                                                   updated_at=now)
        for pk, error in failed.items():
            JobItem.objects.filter(pk=pk).update(status=ItemStatus.FAILED, error=error[:MAX_ERROR_CHARS],
                                                 attempts=F("attempts") + 1, updated_at=now)
    return len(done)


def annotate_response(text: str, *, case, persona) -> dict:
    """Response fields computed from the text: the parsed discrete answer and persona-revealing spans."""
    from studies.leak import detect_persona_leak

    from ..parsing import parse_discrete_answer

    label, confidence, status = parse_discrete_answer(text, task_type=case.task_type)
    spans = detect_persona_leak(text, persona=persona)
    return {
        "parsed_label": label or "", "parsed_confidence": confidence, "parse_status": status,
        "leaks_persona": bool(spans), "leak_spans": [list(span) for span in spans],
    }
