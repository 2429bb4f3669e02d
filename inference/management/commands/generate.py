from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from inference import services
from inference.management.jobcli import add_run_arguments, follow, in_process, study_arg


class Command(BaseCommand):
    help = "Generate the study's missing responses (every case x persona x model x sample)."

    def add_arguments(self, parser):
        parser.add_argument("study", help="Study id or name")
        add_run_arguments(parser)

    def handle(self, *args, **options):
        run_here = in_process(options)
        try:
            job = services.generation_job_start(study=study_arg(options["study"]), enqueue=not run_here)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"job {job.pk} planned: {job.items.count()} rows in chunks of {job.chunk_size}")
        follow(job, stdout=self.stdout, run_here=run_here, wait=options["wait"])
