from inference import services
from inference.management.jobcli import JobCommand


class Command(JobCommand):
    help = "Run a job's failed rows again, and only them."
    target = "job"

    def act(self, subject, *, enqueue: bool):
        return services.job_retry_failed(job=subject, enqueue=enqueue)
