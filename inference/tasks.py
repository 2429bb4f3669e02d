"""Celery tasks of the `gpu` queue: ids in, services do the work.

Run the GPU worker with the solo pool: `celery -A config worker -Q gpu --pool=solo --concurrency=1`. One
process owns the GPU and the vLLM engine, which is created on the first task and reused; the prefork
pool would fork after CUDA is initialised (unsupported by CUDA) and its daemonic children may not
start vLLM's engine-core process. Tasks are acknowledged late (settings), so a chunk whose worker dies
is delivered again once Redis's visibility timeout passes; chunks are idempotent, so that is safe.
The solo pool cannot enforce time limits; keep chunks (GENERATION_CHUNK_SIZE) to minutes.
"""
from celery import Task, shared_task
from celery.signals import worker_shutdown
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services
from .backends import TransientBackendError

# Worth another try later; anything else is recorded on the rows by the services.
TRANSIENT_ERRORS = (TransientBackendError, OperationalError, InterfaceError)


class ChunkTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Retries exhausted or a time limit hit: the chunk's pending rows become failed rows."""
        job_id, chunk = args
        services.job_chunk_fail(job_id=job_id, chunk=chunk, error=f"{type(exc).__name__}: {exc}")


@shared_task(
    base=ChunkTask, ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS, max_retries=5, retry_backoff=10, retry_backoff_max=600, retry_jitter=True,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT, time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def job_chunk_run(job_id: int, chunk: int) -> int:
    return services.job_chunk_run(job_id=job_id, chunk=chunk)


@worker_shutdown.connect
def stop_engine(**kwargs):
    """Stop the vLLM engine (if this worker started one) so a warm shutdown (SIGTERM) ends the process:
    otherwise the engine's background threads and processes keep it alive until it is killed."""
    from .backends.vllm_engine import engine_shutdown

    engine_shutdown()


# Named outside "inference.tasks.*" (the gpu queue's route): it needs no GPU and runs on the default queue.
@shared_task(name="inference.imports.responses_import_task", acks_late=True, ignore_result=True)
def responses_import_task(run_id: int) -> None:
    """Check or import one stored responses upload; the outcome is recorded on its ImportRun."""
    from studies.services.imports import import_run_execute

    from .services.response_uploads import responses_runner

    import_run_execute(run_id=run_id, runner=responses_runner)
