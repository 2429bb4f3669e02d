from inference import services
from inference.management.jobcli import JobCommand


class Command(JobCommand):
    help = "Generate the study's missing responses (every case x persona x model x sample)."

    def act(self, subject, *, enqueue: bool):
        return services.generation_job_start(study=subject, enqueue=enqueue)
