"""REST API for generation and judge jobs: admins only (job data names personas and models)."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStudyAdmin
from studies.permissions import study_for

from .. import selectors, services
from ..models import Job
from .serializers import JobDetailSerializer, JobProgressSerializer, JudgeJobStartSerializer

ADMIN_ONLY = [IsAuthenticated & IsStudyAdmin]


def job_detail_data(job: Job) -> dict:
    return {**selectors.job_progress(job=job).as_dict(), "failed_rows": selectors.job_failed_rows(job=job)}


class StudyJobListApi(APIView):
    """GET: the study's latest jobs with their progress, newest first."""

    permission_classes = ADMIN_ONLY

    @extend_schema(responses=JobProgressSerializer(many=True))
    def get(self, request, study_id: int):
        study = study_for(request.user, study_id, "manage")
        data = [job.progress.as_dict() for job in selectors.study_jobs(study=study)]
        return Response(JobProgressSerializer(data, many=True).data)


class _StartApi(APIView):
    permission_classes = ADMIN_ONLY
    start_job = None
    options_serializer = None  # the body's options, checked once the study is known to be the user's

    @extend_schema(request=None, responses={201: JobDetailSerializer})
    def post(self, request, study_id: int):
        study = study_for(request.user, study_id, "manage")
        options = {}
        if self.options_serializer is not None:
            form = self.options_serializer(data=request.data)
            form.is_valid(raise_exception=True)
            options = form.validated_data
        job = type(self).start_job(study=study, user=request.user, **options)
        job.refresh_from_db()  # an in-process run (no broker) has finished by now
        return Response(JobDetailSerializer(job_detail_data(job)).data, status=status.HTTP_201_CREATED)


class StudyGenerationStartApi(_StartApi):
    """POST: plan the study's missing responses and enqueue them on the gpu queue."""

    start_job = staticmethod(services.generation_job_start)


class StudyJudgeStartApi(_StartApi):
    """POST: have the study's judge (or the judge named, or each of its judges) score every response it has
    not scored yet."""

    start_job = staticmethod(services.judge_job_start)
    options_serializer = JudgeJobStartSerializer

    @extend_schema(request=JudgeJobStartSerializer, responses={201: JobDetailSerializer})
    def post(self, request, study_id: int):
        return super().post(request, study_id)


class JobDetailApi(APIView):
    """GET: one job's progress (done / failed / total, rate, ETA) and its most common row errors."""

    permission_classes = ADMIN_ONLY

    @extend_schema(responses=JobDetailSerializer)
    def get(self, request, job_id: int):
        job = get_object_or_404(selectors.jobs_for(user=request.user), pk=job_id)
        return Response(JobDetailSerializer(job_detail_data(job)).data)


class _JobActionApi(APIView):
    permission_classes = ADMIN_ONLY
    job_action = None

    @extend_schema(request=None, responses=JobDetailSerializer)
    def post(self, request, job_id: int):
        job = type(self).job_action(job=get_object_or_404(selectors.jobs_for(user=request.user), pk=job_id))
        job.refresh_from_db()
        return Response(JobDetailSerializer(job_detail_data(job)).data)


class JobCancelApi(_JobActionApi):
    """POST: cancel a queued or running job (a chunk already on the GPU finishes)."""

    job_action = staticmethod(services.job_cancel)


class JobRetryFailedApi(_JobActionApi):
    """POST: run the job's failed rows again, and only them."""

    job_action = staticmethod(services.job_retry_failed)


class JobResumeApi(_JobActionApi):
    """POST: re-enqueue every chunk with unfinished rows (after a crashed worker or a cancel)."""

    job_action = staticmethod(services.job_resume)
