"""What the job commands share: one base command that finds its study or job, calls one service, and
runs or follows the job with a progress bar."""
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from config.exceptions import ApplicationError
from studies.models import Study

from .. import selectors, services
from ..models import Job


def add_run_arguments(parser):
    parser.add_argument("--wait", action="store_true", help="Follow the job with a progress bar until it ends.")
    parser.add_argument("--in-process", action="store_true",
                        help="Run the chunks in this process instead of a worker (the default without a broker).")


def in_process(options) -> bool:
    return options["in_process"] or settings.CELERY_TASK_ALWAYS_EAGER


def study_arg(value: str) -> Study:
    study = Study.objects.filter(pk=int(value)).first() if value.isdigit() else None
    study = study or Study.objects.filter(name=value).first()
    if study is None:
        raise CommandError(f"No study with id or name {value!r}.")
    return study


def job_arg(value: str) -> Job:
    job = Job.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if job is None:
        raise CommandError(f"No job {value!r}.")
    return job


def follow(job: Job, *, stdout, run_here: bool, wait: bool, poll_seconds: float = 2.0) -> Job:
    """Run the job here, or follow a worker's progress, with a tqdm bar; then print a summary line."""
    progress = selectors.job_progress(job=job)
    if run_here or wait:
        with tqdm(total=progress.total, initial=progress.done + progress.failed, unit="row",
                  desc=f"{job.get_kind_display()} job {job.pk}", file=stdout._out) as bar:
            def update(job):
                current = selectors.job_progress(job=job)
                bar.update(current.done + current.failed - bar.n)
                bar.set_postfix(failed=current.failed)
                return current

            if run_here:
                job = services.job_run_in_process(job=job, on_chunk=update)
            else:
                while update(job).is_active:
                    time.sleep(poll_seconds)
                    job.refresh_from_db()
        progress = selectors.job_progress(job=job)
    stdout.write(f"job {job.pk}: {progress.status_display}; {progress.done}/{progress.total} done, "
                 f"{progress.failed} failed, {progress.pending} pending, {progress.cancelled} cancelled")
    return job


class JobCommand(BaseCommand):
    """A command that starts or moves a job: `target` is "study" or "job"; `act` calls the one service."""

    target = "study"

    def add_arguments(self, parser):
        parser.add_argument(self.target, help="Study id or name" if self.target == "study" else "Job id")
        add_run_arguments(parser)

    def act(self, subject, *, enqueue: bool) -> Job:
        raise NotImplementedError

    def handle(self, *args, **options):
        run_here = in_process(options)
        subject = study_arg(options["study"]) if self.target == "study" else job_arg(options["job"])
        try:
            job = self.act(subject, enqueue=not run_here)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if self.target == "study":
            self.stdout.write(f"job {job.pk} planned: {job.items.count()} rows in chunks of {job.chunk_size}")
        follow(job, stdout=self.stdout, run_here=run_here, wait=options["wait"])
