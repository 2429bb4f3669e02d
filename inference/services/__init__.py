"""inference's services (writes), split by sub-domain: job life cycle, generation, judging, pairwise judging."""
from .generation import generation_chunk_run, generation_job_start
from .jobs import (
    job_cancel,
    job_chunk_fail,
    job_chunk_run,
    job_resume,
    job_retry_failed,
    job_run_in_process,
)
from .judging import judge_chunk_run, judge_job_start
from .pairwise import pairwise_chunk_run, pairwise_judge_job_start

__all__ = [
    "generation_chunk_run", "job_cancel", "job_resume", "job_retry_failed",
    "generation_job_start", "job_chunk_fail", "job_chunk_run", "job_run_in_process", "judge_chunk_run",
    "judge_job_start", "pairwise_chunk_run", "pairwise_judge_job_start",
]
