from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from inference import services
from inference.management.jobcli import add_run_arguments, follow, in_process, job_arg


class Command(BaseCommand):
    help = "Run a job's failed rows again, and only them."

    def add_arguments(self, parser):
        parser.add_argument("job", help="Job id")
        add_run_arguments(parser)

    def handle(self, *args, **options):
        run_here = in_process(options)
        try:
            job = services.generation_job_retry_failed(job=job_arg(options["job"]), enqueue=not run_here)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        follow(job, stdout=self.stdout, run_here=run_here, wait=options["wait"])
