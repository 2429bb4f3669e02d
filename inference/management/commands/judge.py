from inference import services
from inference.management.jobcli import JobCommand


class Command(JobCommand):
    help = "Have the study's judge model score every response it has not scored yet."

    def act(self, subject, *, enqueue: bool):
        return services.judge_job_start(study=subject, enqueue=enqueue)
