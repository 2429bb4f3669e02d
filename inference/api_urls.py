from django.urls import path

from .api import imports, pairwise, views

app_name = "inference-api"

urlpatterns = [
    path("studies/<int:study_id>/jobs/", views.StudyJobListApi.as_view(), name="study-jobs"),
    path("studies/<int:study_id>/generation-jobs/", views.StudyGenerationStartApi.as_view(), name="generation-start"),
    path("studies/<int:study_id>/judge-jobs/", views.StudyJudgeStartApi.as_view(), name="judge-start"),
    path("studies/<int:study_id>/pairwise-judge-jobs/", pairwise.StudyPairwiseJudgeStartApi.as_view(),
         name="pairwise-judge-start"),
    path("studies/<int:study_id>/pairwise-verdicts/", pairwise.StudyPairwiseVerdictListApi.as_view(),
         name="pairwise-verdicts"),
    path("studies/<int:study_id>/responses/import/", imports.StudyResponsesImportApi.as_view(),
         name="responses-import"),
    path("jobs/<int:job_id>/", views.JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<int:job_id>/retry-failed/", views.JobRetryFailedApi.as_view(), name="job-retry-failed"),
    path("jobs/<int:job_id>/resume/", views.JobResumeApi.as_view(), name="job-resume"),
]
