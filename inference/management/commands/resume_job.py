from inference import services
from inference.management.jobcli import JobCommand


class Command(JobCommand):
    help = "Resume a job: re-enqueue every chunk with unfinished rows (after a crashed worker or a cancel)."
    target = "job"

    def act(self, subject, *, enqueue: bool):
        return services.job_resume(job=subject, enqueue=enqueue)
