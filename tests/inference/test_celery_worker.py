"""A real Celery worker on Redis runs a generation job; killed mid-job and restarted, it loses nothing
and duplicates nothing.

The worker is a subprocess on the test database (so PostgreSQL: an in-memory SQLite test database is
invisible to another process) and the Redis broker (`TEST_CELERY_BROKER_URL`, else Redis DB 2). It
serves a dry-run model that sleeps per request, so the job is still running when the worker dies.
"""
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from inference import services
from inference.models import ItemStatus, JobStatus
from studies.models import Response
from tests.conftest import skip_or_fail
from tests.inference.grid import dry_run_spec, grid_study

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
WAIT_SECONDS = 180
# The worker, with Redis transport options shortened for the test: a dead worker's unacknowledged chunk
# becomes visible again after 5 s (production: CELERY_VISIBILITY_TIMEOUT), checked every second.
WORKER_MAIN = """
from config.celery import app
app.conf.broker_transport_options = {**app.conf.broker_transport_options, "visibility_timeout": 5,
                                     "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
app.worker_main(["worker", "-Q", "gpu", "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "-n", "%s@%%h"])
"""


@pytest.fixture
def broker():
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis broker {BROKER_URL} unreachable: {exc}")
    client.flushdb()  # this test's own database number: stale messages of an earlier run go
    yield client
    client.flushdb()


def drop_producer_pools():
    """Eager calls in earlier tests opened producer pools on the default (empty) broker URL."""
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
    pools.reset()  # kombu keeps pools per broker URL globally: a closed one would be handed out again
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def send_to_broker(broker):
    """This process sends tasks to Redis instead of running them eagerly."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    drop_producer_pools()
    yield
    drop_producer_pools()
    app.conf.update(saved)


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        skip_or_fail("the real-worker test needs PostgreSQL (DATABASE_URL): the worker process must see "
                     "the test database")
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, log_dir: Path, db_url: str):
        self.log_dir, self.db_url, self.process, self.starts = log_dir, db_url, None, 0

    def start(self):
        self.starts += 1
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings", "DATABASE_URL": self.db_url,
               "CELERY_BROKER_URL": BROKER_URL}
        log = open(self.log_dir / f"worker-{self.starts}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_MAIN % f"gen-test-{uuid.uuid4().hex[:8]}"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def task_ids(self, start: int, event: str) -> list[str]:
        log = (self.log_dir / f"worker-{start}.log").read_text(errors="replace")
        return re.findall(r"job_chunk_run\[([0-9a-f-]+)\] " + event, log)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.log_dir.glob("worker-*.log")))


@pytest.fixture
def worker(tmp_path):
    worker = Worker(tmp_path, database_url())
    yield worker
    worker.stop()


def wait_for(condition, worker, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.process.poll() is None, f"the worker exited while waiting for {what}:\n{worker.logs()}"
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}:\n{worker.logs()}")


def test_a_worker_killed_mid_job_loses_nothing_and_duplicates_nothing(settings, worker, send_to_broker):
    settings.GENERATION_CHUNK_SIZE = 3
    study = grid_study(cases=3, personas=3, specs=[dry_run_spec(samples_per_prompt=2,
                                                                engine_options={"delay_s": 0.25})])
    responses = Response.objects.filter(study=study)
    worker.start()
    job = services.generation_job_start(study=study)  # committed: the chunks are on the gpu queue now
    total = job.items.count()
    assert total == 18 and len(set(job.items.values_list("chunk", flat=True))) == 6

    def mid_chunk():  # some chunks stored and one received but not finished: kill it there, not between chunks
        in_flight = len(worker.task_ids(1, "received")) > len(worker.task_ids(1, "succeeded"))
        return in_flight and responses.count() >= 4

    wait_for(mid_chunk, worker, "the worker to be in the middle of a chunk after storing some")
    worker.kill()  # SIGKILL: no shutdown, no acknowledgement of the chunk it was generating
    job.refresh_from_db()
    stored_before = set(responses.values_list("pk", "text"))
    assert job.status == JobStatus.RUNNING and 4 <= len(stored_before) < total
    assert job.items.filter(status=ItemStatus.PENDING).exists()

    worker.start()
    wait_for(lambda: job.__class__.objects.get(pk=job.pk).status != JobStatus.RUNNING, worker, "the job to end")
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, worker.logs()
    # The chunk the first worker was generating when it died was delivered again to the second.
    interrupted = set(worker.task_ids(1, "received")) - set(worker.task_ids(1, "succeeded"))
    assert len(interrupted) == 1 and interrupted <= set(worker.task_ids(2, "succeeded")), worker.logs()
    cells = list(responses.values_list("case_id", "persona_id", "model_id", "sample_index"))
    assert len(cells) == len(set(cells)) == total  # every grid cell exactly once
    assert stored_before <= set(responses.values_list("pk", "text"))  # nothing stored earlier was replaced
    assert not job.items.exclude(status=ItemStatus.DONE).exists()
    assert {r.provenance["job"] for r in responses} == {job.pk}


def test_two_gpu_workers_share_one_jobs_chunks_and_each_chunk_is_done_once(settings, tmp_path, send_to_broker):
    """How a deployment scales out: a second `gpu` worker (another GPU host on the same Redis) takes chunks
    of the same job; acks_late and prefetch 1 keep each chunk with one worker."""
    settings.GENERATION_CHUNK_SIZE = 2
    study = grid_study(cases=4, personas=3, specs=[dry_run_spec(samples_per_prompt=1,
                                                                engine_options={"delay_s": 0.2})])
    responses = Response.objects.filter(study=study)
    workers = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        workers.append(Worker(tmp_path / name, database_url()))
    try:
        for worker in workers:
            worker.start()
        for worker in workers:  # both consume the queue before the job is sent: neither finds it drained
            wait_for(lambda w=worker: " ready." in (w.log_dir / "worker-1.log").read_text(errors="replace"), worker,
                     "the worker to be ready")
        job = services.generation_job_start(study=study)
        chunks = len(set(job.items.values_list("chunk", flat=True)))
        assert chunks == 6
        # One read of the status: two reads could see "queued" and then "running", neither of them the end.
        wait_for(lambda: job.__class__.objects.get(pk=job.pk).status not in (JobStatus.RUNNING, JobStatus.QUEUED),
                 workers[0], "the job to end")
    finally:
        for worker in workers:
            worker.stop()
    job.refresh_from_db()
    logs = "\n".join(worker.logs() for worker in workers)
    assert job.status == JobStatus.DONE, logs
    done = [set(worker.task_ids(1, "succeeded")) for worker in workers]
    assert all(done), f"both workers took chunks:\n{logs}"
    assert not done[0] & done[1] and len(done[0] | done[1]) == chunks, logs  # every chunk once, by one worker
    cells = list(responses.values_list("case_id", "persona_id", "model_id", "sample_index"))
    assert len(cells) == len(set(cells)) == job.items.count()
