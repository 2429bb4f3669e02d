from django.core.management.base import CommandError

from inference import services
from inference.management.jobcli import JobCommand


class Command(JobCommand):
    help = "Have the study's judge (or --judge NAME, or --all-judges) score every response it has not scored yet."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--judge", help="Score with this judge of the study (its name) instead of its own judge.")
        parser.add_argument("--all-judges", action="store_true", help="Score with each of the study's judges.")

    def handle(self, *args, **options):
        self.judge_name, self.all_judges = options["judge"], options["all_judges"]
        return super().handle(*args, **options)

    def act(self, subject, *, enqueue: bool):
        judge = None
        if self.judge_name:
            judge = next((j for j in subject.judges() if j.name == self.judge_name), None)
            if judge is None:
                names = ", ".join(j.name for j in subject.judges()) or "none"
                raise CommandError(f"'{self.judge_name}' is not one of the study's judges ({names}).")
        return services.judge_job_start(study=subject, judge=judge, all_judges=self.all_judges, enqueue=enqueue)
