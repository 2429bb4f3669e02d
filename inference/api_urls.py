from django.urls import path

from . import api, api_imports

app_name = "inference-api"

urlpatterns = [
    path("studies/<int:study_id>/jobs/", api.StudyJobListApi.as_view(), name="study_jobs"),
    path("studies/<int:study_id>/generation-jobs/", api.StudyGenerationStartApi.as_view(), name="generation_start"),
    path("studies/<int:study_id>/judge-jobs/", api.StudyJudgeStartApi.as_view(), name="judge_start"),
    path("studies/<int:study_id>/responses/import/", api_imports.StudyResponsesImportApi.as_view(),
         name="responses_import"),
    path("jobs/<int:job_id>/", api.JobDetailApi.as_view(), name="job_detail"),
    path("jobs/<int:job_id>/cancel/", api.JobCancelApi.as_view(), name="job_cancel"),
    path("jobs/<int:job_id>/retry-failed/", api.JobRetryFailedApi.as_view(), name="job_retry_failed"),
    path("jobs/<int:job_id>/resume/", api.JobResumeApi.as_view(), name="job_resume"),
]
